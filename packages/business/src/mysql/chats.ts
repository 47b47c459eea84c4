/**
 * ChatStore on MySQL/MariaDB, written for several server instances appending at once.
 *
 * appendBatch is one transaction:
 * - fast path, one round trip, when every conversation of the batch has a seq hint (./append.ts
 *   explains why a stale hint is caught by the database): START TRANSACTION, lock the
 *   conversation rows in sorted order, the INSERT, the upserts, COMMIT in one packet;
 * - locking path, two round trips (three when the INSERT must be split or ids are not
 *   consecutive): 1. START TRANSACTION; look up the batch's (sender, client id) pairs (dedup);
 *   create missing 1:1 conversations (a group's row exists from its creation) and lock all of
 *   the batch's conversation rows in sorted order
 *   (INSERT ... ON DUPLICATE KEY UPDATE, then SELECT ... FOR UPDATE for last_seq and member_seq),
 *   then read which group senders are in group_member (a non-member's chat is refused); 2. one
 *   multi-row INSERT of the new messages, conversation last_* (one multi-row upsert), missing
 *   member rows (INSERT IGNORE), sender read cursors (one multi-row upsert), COMMIT.
 * The row lock on each conversation (or, on the fast path, the unique key on (conv_id, seq)) is
 * what makes seqs gap-free and unique across instances; sorted lock order keeps appends from
 * deadlocking each other, and a deadlock with anything else is retried. A unique-key race on
 * (sender, client id) — the same resend reaching two instances at once — fails the INSERT; the
 * retry's dedup lookup then finds the winner.
 */
import type { AppendResult, ChatStore, ConvCursor, CursorUpdate, NewChat, StoredChat } from '../ports';
import { MemberCache } from '../member-cache';
import {
  buildResults, commitPlan, dedupKey, distinctKeys, groupSenders, missingGroupSenders, planBatch, sortedConvIds,
  type BatchPlan, type GroupSender,
} from '../plan';
import { afterBound, beforeBound, CHAT_COLUMNS, CURSOR_SELECT, pageLimit, rowToChat, rowToCursor, type ChatRow, type CursorRow } from '../rows';
import { coalesceCursorUpdates, convTypeOf, isStorableConvId, validateNewChat } from '../validate';
import {
  consecutiveIds, cursorStmt, groupMemberGuard, groupMemberSelect, idsFrom, insertStmt, lastInsertIdOf, messageChunks,
  SeqHints, tailStmts,
} from './append';
import { ER, errnoOf, type Conn, type MysqlDb, type ServerVars, type Stmt } from './db';

interface InsertResult {
  insertId: number;
  affectedRows: number;
}

const RETRYABLE = new Set<number>([ER.LOCK_DEADLOCK, ER.DUP_ENTRY]);
const NO_ORIGINALS: ReadonlyMap<string, StoredChat> = new Map();
/** Cursor moves per statement. */
const CURSOR_CHUNK = 500;

/** A conversation row as the appends' locking reads return it. */
interface ConvRow {
  conv_id: string;
  last_seq?: number;
  member_seq: number;
}

/** member_seq by conversation, from the rows read under lock. */
function memberSeqsOf(rows: readonly ConvRow[]): Map<string, number> {
  return new Map(rows.map((r) => [r.conv_id, Number(r.member_seq)]));
}

/** Deadlocks and unique-key races are retried; anything else fails the call. */
function appendRetryable(err: unknown): boolean {
  return RETRYABLE.has(errnoOf(err));
}

/** Counters of the append paths, for metrics and tests. */
export interface MysqlAppendStats {
  /** Batches committed by the one-round-trip path. */
  fast: number;
  /** Fast attempts the database refused (stale hint, resend, deadlock): redone with locks. */
  fastMisses: number;
  /** Batches committed by the locking path. */
  locked: number;
}

/** Messages, conversations and cursors in MySQL. Created by MysqlStore. */
export class MysqlChatStore implements ChatStore {
  /** Counters of the append paths. */
  readonly appendStats: MysqlAppendStats = { fast: 0, fastMisses: 0, locked: 0 };
  private readonly cache: MemberCache;
  private readonly hints: SeqHints;

  /** @param db the store's pool; `memberCacheEntries` bounds the member-row cache. */
  constructor(private readonly db: MysqlDb, opts: { memberCacheEntries?: number; seqHints?: number } = {}) {
    this.cache = new MemberCache(opts.memberCacheEntries);
    this.hints = new SeqHints(opts.seqHints);
  }

  /** Stores a batch in one transaction; see ports.ts ChatStore.appendBatch. */
  async appendBatch(chats: readonly NewChat[]): Promise<AppendResult[]> {
    for (const c of chats) validateNewChat(c);
    if (chats.length === 0) return [];
    const convIds = sortedConvIds(chats);
    const senders = groupSenders(chats);
    return this.db.transaction('appendBatch', async (c) => {
      const vars = await this.db.serverVars(c);
      const now = Date.now();
      const hinted = consecutiveIds(vars) ? this.hints.all(convIds) : null;
      if (hinted) {
        const plan = planBatch(chats, NO_ORIGINALS, hinted, this.cache);
        const chunks = messageChunks(plan, this.db.limits.packetBytes, now);
        if (chunks.length <= 1) {
          try {
            // The conversation rows are locked first, in sorted order, as on the locking path,
            // so the two paths take locks in the same order (a deadlock is still retried).
            // With group chats, groupMemberGuard fails the packet (ER_DUP_ENTRY) if a sender is not a member.
            const guard = senders.length > 0 ? [groupMemberGuard(senders)] : [];
            const res = await c.script([
              { sql: 'START TRANSACTION' },
              { sql: 'SELECT conv_id, member_seq FROM conversation WHERE conv_id IN (?) ORDER BY conv_id FOR UPDATE', values: [convIds] },
              ...guard,
              ...this.writeStmts(plan, chunks, vars, now),
            ]);
            const first = res[2 + guard.length] as InsertResult;
            const ids = chunks.length === 0 ? [] : idsFrom(Number(first.insertId), plan.inserts.length, vars);
            this.appendStats.fast++;
            return this.committed(chats, plan, hinted, memberSeqsOf(res[1] as ConvRow[]), ids, now);
          } catch (err) {
            this.hints.forget(convIds);
            if (!c.alive || !appendRetryable(err)) throw err;
            this.appendStats.fastMisses++;
            await c.query('ROLLBACK'); // then the locking path, in the same attempt
          }
        }
      }
      return this.appendLocked(c, chats, convIds, senders, vars, now);
    }, appendRetryable);
  }

  /**
   * The locking path: read the dedup keys, the last seqs and the group senders' membership under
   * lock, then write and commit (a non-member's group chat is refused alone).
   */
  private async appendLocked(c: Conn, chats: readonly NewChat[], convIds: string[], senders: readonly GroupSender[],
    vars: ServerVars, now: number): Promise<AppendResult[]> {
    const keys = distinctKeys(chats);
    // Only 1:1 conversations are created here: a group's row is created with the group, so a chat
    // to a group that does not exist (no row, no members) is refused without leaving a row behind.
    const privateIds = convIds.filter((id) => convTypeOf(id) === 0);
    const r1 = await c.script([
      { sql: 'START TRANSACTION' },
      {
        sql: `SELECT ${CHAT_COLUMNS} FROM chat_message WHERE (sender_id, client_msg_id) IN (?)`,
        values: [keys.map((k) => [k.senderId, k.clientMsgId])],
      },
      privateIds.length > 0
        ? {
          sql: 'INSERT INTO conversation (conv_id, conv_type, created_at) VALUES ? ON DUPLICATE KEY UPDATE conv_id = conv_id',
          values: [privateIds.map((id) => [id, 0, now])],
        }
        : { sql: 'DO 0' }, // keeps the result positions below
      {
        sql: 'SELECT conv_id, last_seq, member_seq FROM conversation WHERE conv_id IN (?) ORDER BY conv_id FOR UPDATE',
        values: [convIds],
      },
      // After the lock: sees every membership change committed before it (changes lock the row too).
      ...(senders.length > 0 ? [groupMemberSelect(senders)] : []),
    ]);
    const stored = new Map<string, StoredChat>();
    for (const row of r1[1] as ChatRow[]) stored.set(dedupKey(Number(row.sender_id), row.client_msg_id), rowToChat(row));
    const lastSeqs = new Map<string, number>();
    for (const row of r1[3] as ConvRow[]) lastSeqs.set(row.conv_id, Number(row.last_seq));

    const nonMembers = senders.length > 0 ? missingGroupSenders(senders, r1[4] as GroupSender[]) : undefined;
    const plan = planBatch(chats, stored, lastSeqs, this.cache, nonMembers);
    const chunks = messageChunks(plan, this.db.limits.packetBytes, now);
    let ids: number[];
    if (chunks.length <= 1 && consecutiveIds(vars)) {
      const res = await c.script(this.writeStmts(plan, chunks, vars, now));
      ids = chunks.length === 0 ? [] : idsFrom(Number((res[0] as InsertResult).insertId), plan.inserts.length, vars);
    } else {
      ids = await this.insertMessages(c, plan, chunks, vars);
      await c.script([...tailStmts(plan, (pos) => ids[pos], now), { sql: 'COMMIT' }]);
    }
    this.appendStats.locked++;
    return this.committed(chats, plan, lastSeqs, memberSeqsOf(r1[3] as ConvRow[]), ids, now);
  }

  /** The INSERT (at most one chunk, consecutive ids), the upserts and COMMIT, for one packet. */
  private writeStmts(plan: BatchPlan, chunks: unknown[][][], vars: ServerVars, now: number): Stmt[] {
    return [...chunks.map(insertStmt), ...tailStmts(plan, lastInsertIdOf(vars), now), { sql: 'COMMIT' }];
  }

  /** After COMMIT: caches, hints, results. */
  private committed(chats: readonly NewChat[], plan: BatchPlan, lastSeqs: ReadonlyMap<string, number>, memberSeqs: ReadonlyMap<string, number>,
    ids: number[], now: number): AppendResult[] {
    commitPlan(plan, this.cache);
    for (const [convId, seq] of lastSeqs) this.hints.set(convId, seq);
    for (const v of plan.convs) this.hints.set(v.convId, v.lastSeq);
    return buildResults(chats, plan, ids, now, memberSeqs);
  }

  /** The INSERTs of a batch that needs several (or non-consecutive ids); returns server_msg_id per plan.inserts entry. */
  private async insertMessages(c: Conn, plan: BatchPlan, chunks: unknown[][][], vars: ServerVars): Promise<number[]> {
    if (plan.inserts.length === 0) return []; // all duplicates or refused
    const stmts = chunks.map(insertStmt);
    // A multi-row INSERT gets consecutive ids unless innodb_autoinc_lock_mode = 2 ("interleaved",
    // MySQL 8's default); there, ask for the ids instead of computing them.
    const consecutive = consecutiveIds(vars);
    if (!consecutive) {
      stmts.push({
        sql: 'SELECT conv_id, seq, server_msg_id FROM chat_message WHERE (conv_id, seq) IN (?)',
        values: [plan.inserts.map((x) => [x.chat.convId, x.seq])],
      });
    }
    const res = await c.script(stmts);
    const ids: number[] = [];
    if (consecutive) {
      chunks.forEach((rows, i) => ids.push(...idsFrom(Number((res[i] as InsertResult).insertId), rows.length, vars)));
    } else {
      const byKey = new Map<string, number>();
      for (const r of res[res.length - 1] as Array<{ conv_id: string; seq: number; server_msg_id: number }>) {
        byKey.set(`${r.seq}|${r.conv_id}`, Number(r.server_msg_id));
      }
      for (const x of plan.inserts) ids.push(byKey.get(`${x.seq}|${x.chat.convId}`) ?? 0);
    }
    return ids;
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
   * Cursor moves in one round trip: one INSERT ... SELECT per CURSOR_CHUNK moves (./append.ts
   * cursorStmt: clamped to last_seq, existing member rows only, forward only), in (conv, user)
   * order (coalesceCursorUpdates sorts); several chunks share a transaction.
   */
  private async advance(what: string, column: 'ack_seq' | 'read_seq', updates: readonly CursorUpdate[]): Promise<void> {
    const u = coalesceCursorUpdates(updates);
    if (u.length === 0) return;
    const stmts: Stmt[] = [];
    for (let i = 0; i < u.length; i += CURSOR_CHUNK) stmts.push(cursorStmt(column, u.slice(i, i + CURSOR_CHUNK)));
    if (stmts.length > 1) {
      stmts.unshift({ sql: 'START TRANSACTION' });
      stmts.push({ sql: 'COMMIT' });
    }
    await this.db.transaction(what, async (c) => {
      await c.script(stmts);
    }, (err) => errnoOf(err) === ER.LOCK_DEADLOCK);
  }
}
