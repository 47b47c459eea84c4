/**
 * ChatStore on MySQL/MariaDB, written for several server instances appending at once.
 *
 * appendBatch is one transaction in three round trips, whatever the batch size:
 *   1. START TRANSACTION; look up the batch's (sender, client id) pairs (dedup); create missing
 *      conversations and lock all of the batch's conversation rows in sorted order
 *      (INSERT ... ON DUPLICATE KEY UPDATE, then SELECT ... FOR UPDATE for last_seq);
 *   2. one multi-row INSERT of the new messages (split only to fit max_allowed_packet);
 *   3. conversation last_* (one multi-row upsert), missing member rows (INSERT IGNORE), sender
 *      read cursors (one multi-row upsert), COMMIT.
 * The row lock on each conversation is what makes seqs gap-free and unique across instances;
 * sorted lock order keeps appends from deadlocking each other, and a deadlock with anything
 * else is retried. A unique-key race on (sender, client id) — the same resend reaching two
 * instances at once — fails the INSERT; the retry's dedup lookup then finds the winner.
 */
import type { AppendResult, ChatStore, ConvCursor, CursorUpdate, NewChat, StoredChat } from '../ports';
import { MemberCache } from '../member-cache';
import { buildResults, commitPlan, dedupKey, distinctKeys, planBatch, sortedConvIds, type BatchPlan } from '../plan';
import { afterBound, beforeBound, CHAT_COLUMNS, CURSOR_SELECT, pageLimit, rowToChat, rowToCursor, type ChatRow, type CursorRow } from '../rows';
import { coalesceCursorUpdates, convTypeOf, isStorableConvId, validateNewChat } from '../validate';
import { ER, errnoOf, type Conn, type MysqlDb, type ServerVars, type Stmt } from './db';

interface InsertResult {
  insertId: number;
  affectedRows: number;
}

const RETRYABLE = new Set<number>([ER.LOCK_DEADLOCK, ER.DUP_ENTRY]);

/** Deadlocks and unique-key races are retried; anything else fails the call. */
function appendRetryable(err: unknown): boolean {
  return RETRYABLE.has(errnoOf(err));
}

/** Messages, conversations and cursors in MySQL. Created by MysqlStore. */
export class MysqlChatStore implements ChatStore {
  private readonly cache: MemberCache;

  /** @param db the store's pool; `memberCacheEntries` bounds the member-row cache. */
  constructor(private readonly db: MysqlDb, opts: { memberCacheEntries?: number } = {}) {
    this.cache = new MemberCache(opts.memberCacheEntries);
  }

  /** Stores a batch in one transaction; see ports.ts ChatStore.appendBatch. */
  async appendBatch(chats: readonly NewChat[]): Promise<AppendResult[]> {
    for (const c of chats) validateNewChat(c);
    if (chats.length === 0) return [];
    const convIds = sortedConvIds(chats);
    const keys = distinctKeys(chats);
    return this.db.transaction('appendBatch', async (c) => {
      const vars = await this.db.serverVars(c);
      const now = Date.now();
      const r1 = await c.script([
        { sql: 'START TRANSACTION' },
        {
          sql: `SELECT ${CHAT_COLUMNS} FROM chat_message WHERE (sender_id, client_msg_id) IN (?)`,
          values: [keys.map((k) => [k.senderId, k.clientMsgId])],
        },
        {
          sql: 'INSERT INTO conversation (conv_id, conv_type, created_at) VALUES ? ON DUPLICATE KEY UPDATE conv_id = conv_id',
          values: [convIds.map((id) => [id, convTypeOf(id), now])],
        },
        { sql: 'SELECT conv_id, last_seq FROM conversation WHERE conv_id IN (?) ORDER BY conv_id FOR UPDATE', values: [convIds] },
      ]);
      const stored = new Map<string, StoredChat>();
      for (const row of r1[1] as ChatRow[]) stored.set(dedupKey(Number(row.sender_id), row.client_msg_id), rowToChat(row));
      const lastSeqs = new Map<string, number>();
      for (const row of r1[3] as Array<{ conv_id: string; last_seq: number }>) lastSeqs.set(row.conv_id, Number(row.last_seq));

      const plan = planBatch(chats, stored, lastSeqs, this.cache);
      const ids = plan.inserts.length > 0 ? await this.insertMessages(c, plan, vars, now) : [];
      await c.script([...this.tail(plan, ids, now), { sql: 'COMMIT' }]);
      commitPlan(plan, this.cache); // after COMMIT only
      return buildResults(plan, ids, now);
    }, appendRetryable);
  }

  /** Round trip 2: the INSERTs; returns server_msg_id per plan.inserts entry. */
  private async insertMessages(c: Conn, plan: BatchPlan, vars: ServerVars, now: number): Promise<number[]> {
    const stmts: Stmt[] = [];
    const chunkSizes: number[] = [];
    // Bodies travel hex-escaped (2 bytes per byte): keep each statement well under a packet.
    const chunkBytes = Math.floor(this.db.limits.packetBytes / 3);
    let rows: unknown[][] = [];
    let bytes = 0;
    const flush = (): void => {
      if (rows.length === 0) return;
      stmts.push({
        sql: `INSERT INTO chat_message (conv_id, seq, sender_id, client_msg_id, recipient_id, group_id, msg_type, body,
          client_time, server_time) VALUES ?`,
        values: [rows],
      });
      chunkSizes.push(rows.length);
      rows = [];
      bytes = 0;
    };
    for (const { chat, seq } of plan.inserts) {
      const size = 2 * chat.body.byteLength + 4 * chat.clientMsgId.length + 200;
      if (bytes + size > chunkBytes) flush();
      rows.push([chat.convId, seq, chat.senderId, chat.clientMsgId, chat.recipientId, chat.groupId, chat.msgType,
        Buffer.from(chat.body.buffer, chat.body.byteOffset, chat.body.byteLength), chat.clientTime, now]);
      bytes += size;
    }
    flush();
    // A multi-row INSERT gets consecutive ids unless innodb_autoinc_lock_mode = 2 ("interleaved",
    // MySQL 8's default); there, ask for the ids instead of computing them.
    const consecutive = vars.autoincLockMode < 2;
    if (!consecutive) {
      stmts.push({
        sql: 'SELECT conv_id, seq, server_msg_id FROM chat_message WHERE (conv_id, seq) IN (?)',
        values: [plan.inserts.map((x) => [x.chat.convId, x.seq])],
      });
    }
    const res = await c.script(stmts);
    const ids: number[] = [];
    if (consecutive) {
      chunkSizes.forEach((n, i) => {
        const first = Number((res[i] as InsertResult).insertId);
        for (let k = 0; k < n; k++) ids.push(first + k * vars.autoincIncrement);
      });
    } else {
      const byKey = new Map<string, number>();
      for (const r of res[res.length - 1] as Array<{ conv_id: string; seq: number; server_msg_id: number }>) {
        byKey.set(`${r.seq}|${r.conv_id}`, Number(r.server_msg_id));
      }
      for (const x of plan.inserts) ids.push(byKey.get(`${x.seq}|${x.chat.convId}`) ?? 0);
    }
    return ids;
  }

  /** Round trip 3 (before COMMIT): conversations, member rows, sender read cursors. */
  private tail(plan: BatchPlan, ids: readonly number[], now: number): Stmt[] {
    const out: Stmt[] = [];
    if (plan.convs.length > 0) {
      out.push({
        sql: `INSERT INTO conversation (conv_id, conv_type, last_seq, last_msg_id, last_sender_id, last_time, created_at)
          VALUES ? ON DUPLICATE KEY UPDATE last_seq = VALUES(last_seq), last_msg_id = VALUES(last_msg_id),
          last_sender_id = VALUES(last_sender_id), last_time = VALUES(last_time)`,
        values: [plan.convs.map((v) => [v.convId, convTypeOf(v.convId), v.lastSeq, ids[v.lastPos], v.lastSenderId, now, now])],
      });
    }
    const readKeys = new Set(plan.senderReads.map((r) => `${r.userId}|${r.convId}`));
    const members = plan.members.filter((m) => !readKeys.has(`${m.userId}|${m.convId}`));
    if (members.length > 0) {
      out.push({
        sql: 'INSERT IGNORE INTO conversation_member (conv_id, user_id, ack_seq, read_seq, joined_at) VALUES ?',
        values: [members.map((m) => [m.convId, m.userId, m.joinSeq, m.joinSeq, now])],
      });
    }
    if (plan.senderReads.length > 0) {
      // Creates the sender's row if missing (a sender is a member), else only moves read_seq up.
      out.push({
        sql: `INSERT INTO conversation_member (conv_id, user_id, ack_seq, read_seq, joined_at) VALUES ?
          ON DUPLICATE KEY UPDATE read_seq = GREATEST(read_seq, VALUES(read_seq))`,
        values: [plan.senderReads.map((r) => [r.convId, r.userId, r.joinSeq, r.seq, now])],
      });
    }
    return out;
  }

  /** Messages with seq > afterSeq, ascending, at most `limit`. */
  async readAfter(convId: string, afterSeq: number, limit: number): Promise<StoredChat[]> {
    const n = pageLimit(limit);
    if (n === 0 || !isStorableConvId(convId)) return [];
    return this.db.run('readAfter', async (c) => (await c.query<ChatRow[]>(
      `SELECT ${CHAT_COLUMNS} FROM chat_message WHERE conv_id = ? AND seq > ? ORDER BY seq ASC LIMIT ?`,
      [convId, afterBound(afterSeq), n])).map(rowToChat));
  }

  /** Messages with seq < beforeSeq (0 = from the newest), descending, at most `limit`. */
  async readBefore(convId: string, beforeSeq: number, limit: number): Promise<StoredChat[]> {
    const n = pageLimit(limit);
    if (n === 0 || !isStorableConvId(convId)) return [];
    return this.db.run('readBefore', async (c) => (await c.query<ChatRow[]>(
      `SELECT ${CHAT_COLUMNS} FROM chat_message WHERE conv_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?`,
      [convId, beforeBound(beforeSeq), n])).map(rowToChat));
  }

  /** The user's cursors where lastSeq > ackSeq, by conversation id. */
  lagging(userId: number): Promise<ConvCursor[]> {
    return this.db.run('lagging', async (c) => (await c.query<CursorRow[]>(
      `${CURSOR_SELECT} WHERE m.user_id = ? AND c.last_seq > m.ack_seq ORDER BY m.conv_id`, [userId])).map(rowToCursor));
  }

  /** The user's cursors in the given conversations (missing ones are left out). */
  async cursors(userId: number, convIds: readonly string[]): Promise<ConvCursor[]> {
    const ids = [...new Set(convIds.filter(isStorableConvId))];
    if (ids.length === 0) return [];
    return this.db.run('cursors', async (c) => (await c.query<CursorRow[]>(
      `${CURSOR_SELECT} WHERE m.user_id = ? AND m.conv_id IN (?) ORDER BY m.conv_id`, [userId, ids])).map(rowToCursor));
  }

  /** True when the user is a member of the conversation. */
  async isMember(userId: number, convId: string): Promise<boolean> {
    if (!isStorableConvId(convId)) return false;
    return this.db.run('isMember', async (c) => (await c.query<unknown[]>(
      'SELECT 1 FROM conversation_member WHERE conv_id = ? AND user_id = ?', [convId, userId])).length > 0);
  }

  /** Moves delivered cursors forward (never past lastSeq), in one transaction. */
  advanceAck(updates: readonly CursorUpdate[]): Promise<void> {
    return this.advance('advanceAck', 'ack_seq', updates);
  }

  /** Moves read cursors forward (never past lastSeq), in one transaction. */
  advanceRead(updates: readonly CursorUpdate[]): Promise<void> {
    return this.advance('advanceRead', 'read_seq', updates);
  }

  /**
   * Cursor moves in two round trips: a non-locking read of which member rows exist and of
   * their conversations' last_seq (the clamp: a client acking a seq from the future would
   * otherwise hide everything up to it from catch-up), then one upsert per 1,000 rows in
   * (conv, user) order, the same order appends lock member rows in. Locking the conversation
   * row here instead would invert the append's lock order and deadlock with it.
   */
  private async advance(what: string, column: 'ack_seq' | 'read_seq', updates: readonly CursorUpdate[]): Promise<void> {
    const u = coalesceCursorUpdates(updates);
    if (u.length === 0) return;
    await this.db.transaction(what, async (c) => {
      const rows = await c.query<Array<{ conv_id: string; user_id: number; last_seq: number }>>(
        `SELECT m.conv_id, m.user_id, c.last_seq FROM conversation_member m JOIN conversation c ON c.conv_id = m.conv_id
          WHERE (m.conv_id, m.user_id) IN (?)`, [u.map((x) => [x.convId, x.userId])]);
      const last = new Map<string, number>();
      for (const r of rows) last.set(`${Number(r.user_id)}|${r.conv_id}`, Number(r.last_seq));
      const moves: unknown[][] = [];
      for (const x of u) {
        const lastSeq = last.get(`${x.userId}|${x.convId}`);
        if (lastSeq !== undefined) moves.push([x.convId, x.userId, Math.min(x.seq, lastSeq), 0]);
      }
      if (moves.length === 0) return;
      const stmts: Stmt[] = [{ sql: 'START TRANSACTION' }];
      for (let i = 0; i < moves.length; i += 1000) {
        stmts.push({
          sql: `INSERT INTO conversation_member (conv_id, user_id, ${column}, joined_at) VALUES ?
            ON DUPLICATE KEY UPDATE ${column} = GREATEST(${column}, VALUES(${column}))`,
          values: [moves.slice(i, i + 1000)],
        });
      }
      stmts.push({ sql: 'COMMIT' });
      await c.script(stmts);
    }, (err) => errnoOf(err) === ER.LOCK_DEADLOCK);
  }
}
