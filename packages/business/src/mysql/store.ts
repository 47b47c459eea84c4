/**
 * The cluster backend: MySQL/MariaDB through a mysql2 pool. Several server instances share one
 * database; everything that must be atomic across them is a transaction with row locks
 * (./chats.ts). Every call has a deadline (./db.ts), so a dead database turns into BackendError
 * STORE_UNAVAILABLE or STORE_TIMEOUT within queryTimeoutMs, never into a hang.
 */
import type { Store } from '../ports';
import { MysqlAccountStore } from './accounts';
import { MysqlChatStore } from './chats';
import { MysqlConversationStore } from './conversations';
import { MysqlFriendStore, MysqlNoticeStore } from './friends';
import { MysqlGroupStore } from './groups';
import { MysqlDb } from './db';
import { parseMysqlOptions, type MysqlStoreOptions, type ParsedMysqlOptions } from './options';
import { prepareDatabase } from './schema';

/** The MySQL Store. Build it with {@link openMysqlStore}, which also prepares the database. */
export class MysqlStore implements Store {
  /** Always "mysql". */
  readonly kind = 'mysql' as const;
  /** Accounts and tokens. */
  readonly accounts: MysqlAccountStore;
  /** Messages, conversations and cursors. */
  readonly chats: MysqlChatStore;
  /** Friendships, applications and blocks. */
  readonly friends: MysqlFriendStore;
  /** Notifications waiting for an ack. */
  readonly notices: MysqlNoticeStore;
  /** Conversation lists, unread counts, read marks. */
  readonly convs: MysqlConversationStore;
  /** Groups, members and roles. */
  readonly groups: MysqlGroupStore;
  /** The database name (from the URL). */
  readonly database: string;
  private readonly db: MysqlDb;
  private closed = false;

  /** Creates the pool (connections are made on first use). Prefer openMysqlStore(). */
  constructor(input: MysqlStoreOptions | ParsedMysqlOptions) {
    const opts = 'target' in input ? input : parseMysqlOptions(input);
    this.database = opts.target.database;
    this.db = new MysqlDb(opts);
    this.accounts = new MysqlAccountStore(this.db);
    this.chats = new MysqlChatStore(this.db, { memberCacheEntries: opts.memberCacheEntries });
    this.friends = new MysqlFriendStore(this.db, opts.maxNoticesPerUser);
    this.notices = new MysqlNoticeStore(this.db, opts.maxNoticesPerUser);
    this.convs = new MysqlConversationStore(this.db);
    this.groups = new MysqlGroupStore(this.db, opts.maxNoticesPerUser);
  }

  /** Pool counters for metrics: calls, retries (deadlocks, races), timeouts, failures. */
  get stats(): Readonly<MysqlDb['stats']> {
    return this.db.stats;
  }

  /** Resolves when the database answers SELECT 1 within the deadline. */
  ping(): Promise<void> {
    return this.db.run('ping', async (c) => {
      await c.query('SELECT 1');
    });
  }

  /** Closes the pool. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.db.close();
  }
}

/**
 * Opens the MySQL store: validates options (RangeError naming the bad field), then, unless
 * applySchema is false, creates the database if missing and applies schema.sql (BackendError if
 * the server cannot be reached), then creates the pool.
 */
export async function openMysqlStore(input: MysqlStoreOptions): Promise<MysqlStore> {
  const opts = parseMysqlOptions(input);
  if (opts.applySchema) await prepareDatabase(opts);
  return new MysqlStore(opts);
}
