/**
 * Row shapes shared by both SQL backends: the same column names (schema.sql), the same mapping
 * to the port types. Both drivers return BIGINT columns as JS numbers (better-sqlite3 without
 * safeIntegers, mysql2 without supportBigNumbers) and BLOBs as Buffers.
 */
import type { Account, ConvCursor, StoredChat } from './ports';

/** The chat_message columns, in StoredChat order. */
export const CHAT_COLUMNS =
  'server_msg_id, conv_id, seq, sender_id, client_msg_id, recipient_id, group_id, msg_type, body, client_time, server_time';

/** A chat_message row as the drivers return it. */
export interface ChatRow {
  server_msg_id: number;
  conv_id: string;
  seq: number;
  sender_id: number;
  client_msg_id: string;
  recipient_id: number;
  group_id: number;
  msg_type: number;
  body: Uint8Array;
  client_time: number;
  server_time: number;
}

/** Maps a chat_message row to the port type. */
export function rowToChat(r: ChatRow): StoredChat {
  return {
    serverMsgId: Number(r.server_msg_id), convId: r.conv_id, seq: Number(r.seq), senderId: Number(r.sender_id),
    clientMsgId: r.client_msg_id, recipientId: Number(r.recipient_id), groupId: Number(r.group_id),
    msgType: Number(r.msg_type), body: r.body, clientTime: Number(r.client_time), serverTime: Number(r.server_time),
  };
}

/** A user_account row. */
export interface AccountRow {
  user_id: number;
  user_name: string;
  password_hash: string;
  created_at: number;
}

/** The user_account columns read back. */
export const ACCOUNT_COLUMNS = 'user_id, user_name, password_hash, created_at';

/** Maps a user_account row to the port type. */
export function rowToAccount(r: AccountRow): Account {
  return { userId: Number(r.user_id), userName: r.user_name, passwordHash: r.password_hash, createdAt: Number(r.created_at) };
}

/** A cursor row (member joined with its conversation). */
export interface CursorRow {
  conv_id: string;
  last_seq: number;
  ack_seq: number;
  read_seq: number;
}

/** The SELECT list and FROM clause that produce CursorRows for one member. */
export const CURSOR_SELECT =
  'SELECT m.conv_id, c.last_seq, m.ack_seq, m.read_seq FROM conversation_member m JOIN conversation c ON c.conv_id = m.conv_id';

/** Maps a cursor row to the port type. */
export function rowToCursor(r: CursorRow): ConvCursor {
  return { convId: r.conv_id, lastSeq: Number(r.last_seq), ackSeq: Number(r.ack_seq), readSeq: Number(r.read_seq) };
}

/** readAfter's lower bound: anything but a finite number reads from the start. */
export function afterBound(afterSeq: number): number {
  return Number.isFinite(afterSeq) ? Math.floor(afterSeq) : 0;
}

/** readBefore's "0 = from the newest" mapped to a bound no seq reaches. */
export function beforeBound(beforeSeq: number): number {
  return Number.isFinite(beforeSeq) && beforeSeq > 0 ? Math.ceil(beforeSeq) : Number.MAX_SAFE_INTEGER;
}

/** A page size as the stores apply it: at least 0, an integer, at most 10,000 rows. */
export function pageLimit(limit: number): number {
  if (!Number.isFinite(limit) || limit <= 0) return 0;
  return Math.min(Math.floor(limit), 10_000);
}
