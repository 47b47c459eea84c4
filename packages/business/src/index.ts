/**
 * @hxim/business: persistence and domain rules. Works through the ports in ./ports; never
 * imports net, Redis or AMQP.
 */
export * from './ports';
export * from './batcher';
export { openStore, type StoreConfig } from './open';
export {
  SqliteStore, openSqliteStore, parseSqliteOptions, type SqliteStoreOptions, SQLITE_FILE_NAME,
  DEFAULT_SQLITE_SYNCHRONOUS, DEFAULT_SQLITE_BUSY_TIMEOUT_MS, DEFAULT_SQLITE_WAL_CHECKPOINT_PAGES,
} from './sqlite/store';
export { DEFAULT_DEDUP_MERGE_ROWS } from './sqlite/dedup';
export { DEFAULT_SQLITE_CHECKPOINT_IDLE_MS } from './sqlite/checkpoint';
export { MysqlStore, openMysqlStore } from './mysql/store';
export {
  parseMysqlOptions, parseMysqlUrl, type MysqlStoreOptions, type MysqlTarget,
  DEFAULT_MYSQL_CONNECTION_LIMIT, DEFAULT_MYSQL_QUERY_TIMEOUT_MS, DEFAULT_MYSQL_QUEUE_LIMIT,
  DEFAULT_MYSQL_SCHEMA_TIMEOUT_MS, DEFAULT_MYSQL_MAX_RETRIES, DEFAULT_MYSQL_DATABASE,
} from './mysql/options';
export { findSchemaFile, splitSqlStatements } from './mysql/schema';
export {
  validateNewChat, coalesceCursorUpdates, isStorableConvId, MAX_CLIENT_MSG_ID_CHARS, MAX_CONV_ID_CHARS,
  MAX_USER_NAME_CHARS, MAX_STORED_BODY_BYTES,
} from './validate';
export * from './friends/ports';
export {
  DEFAULT_MAX_NOTICES_PER_USER, MAX_NOTICES_PER_USER_LIMIT, parseMaxNoticesPerUser,
} from './friends/notice-bound';
export {
  FriendService, pageSize, DEFAULT_FRIEND_PAGE, MAX_FRIEND_PAGE,
  type FriendServiceOptions, type StrangerPolicy, type UserRef, type Page,
} from './friends/service';
export {
  RelationCache, DEFAULT_RELATION_TTL_MS, DEFAULT_REFUSED_TTL_MS, DEFAULT_RELATION_CACHE_ENTRIES,
} from './friends/relation-cache';
export * from './conversations/ports';
export {
  ConversationService, previewText, encodeConvCursor, decodeConvCursor, DEFAULT_CONV_PAGE, MAX_CONV_PAGE,
  DEFAULT_HISTORY_PAGE, MAX_HISTORY_PAGE, PREVIEW_CHARS, LOGIN_UNREAD_CONVS,
  type ConvPage, type HistoryPage, type ReadResult,
} from './conversations/service';
export * from './groups/ports';
export {
  GroupService, DEFAULT_GROUP_MEMBER_TTL_MS, DEFAULT_GROUP_CACHE_GROUPS, DEFAULT_GROUP_MEMBER_PAGE, MAX_GROUP_MEMBER_PAGE,
  type GroupServiceOptions, type MemberList,
} from './groups/service';
export { validateGroupName, APPLY_JOIN_GROUP } from './groups/ops';
