/**
 * The statements of MySQL appendBatch (./chats.ts), and the per-instance seq hints that let a
 * batch skip the locking read.
 *
 * Fast path (one round trip): when every conversation of a batch has a hint (its last_seq as
 * this instance last committed or read it under lock), the batch is planned from the hints and
 * sent as one packet: START TRANSACTION, SELECT ... FOR UPDATE of the conversation rows (the
 * locking path's lock order), the multi-row INSERT, the conversation / member / sender-cursor
 * upserts, COMMIT. The hint is checked by the database, not trusted:
 * - seqs are gap-free and rows are never deleted, so every seq <= a conversation's real last_seq
 *   has a row; a stale hint plans seq = hint + 1 <= last_seq, and the INSERT fails on
 *   uk_msg_conv_seq (ER_DUP_ENTRY) before anything commits (the conversation row is locked by
 *   then, so no other append of it is in flight);
 * - a resent client id fails on uk_msg_sender_client the same way;
 * - a hint is never ahead of the database: it is set only from committed batches or from
 *   last_seq read under lock (the database is not replaced under a running server, which the
 *   member-row cache assumes too).
 * - a group chat whose sender is not in group_member fails the packet the same way
 *   (groupMemberGuard), and the locking path refuses that chat alone.
 * On such a failure the batch is rolled back and redone on the locking path (./chats.ts), and
 * the hints of its conversations are dropped until that path has committed them again.
 */
import * as mysql from 'mysql2';
import type { BatchPlan, GroupSender } from '../plan';
import { convTypeOf } from '../validate';
import type { ServerVars, Stmt } from './db';

/** Default bound on conversations with a seq hint (about 100 bytes each). */
export const DEFAULT_SEQ_HINTS = 200_000;

/** A bounded map conversation id -> last seq known to be committed. */
export class SeqHints {
  private readonly map = new Map<string, number>();

  /** @param maxEntries the oldest-set hints are dropped beyond this many. */
  constructor(private readonly maxEntries = DEFAULT_SEQ_HINTS) {}

  /** The hinted last seq of every conversation, or null if one has none. */
  all(convIds: readonly string[]): Map<string, number> | null {
    const out = new Map<string, number>();
    for (const id of convIds) {
      const seq = this.map.get(id);
      if (seq === undefined) return null;
      out.set(id, seq);
    }
    return out;
  }

  /** Records a committed last seq (never moves a hint back). */
  set(convId: string, seq: number): void {
    const cur = this.map.get(convId);
    if (cur !== undefined) {
      if (cur >= seq) return;
      this.map.delete(convId); // re-inserted below: most recently set last
    }
    this.map.set(convId, seq);
    if (this.map.size > this.maxEntries) this.map.delete(this.map.keys().next().value as string);
  }

  /** Drops hints (after a failed fast append). */
  forget(convIds: readonly string[]): void {
    for (const id of convIds) this.map.delete(id);
  }

  /** Number of hinted conversations. */
  get size(): number {
    return this.map.size;
  }
}

/**
 * The plan's message rows, split so that each INSERT stays well under a packet (bodies travel
 * hex-escaped, 2 bytes per byte).
 */
export function messageChunks(plan: BatchPlan, packetBytes: number, now: number): unknown[][][] {
  const chunkBytes = Math.floor(packetBytes / 3);
  const chunks: unknown[][][] = [];
  let rows: unknown[][] = [];
  let bytes = 0;
  for (const { chat, seq } of plan.inserts) {
    const size = 2 * chat.body.byteLength + 4 * chat.clientMsgId.length + 200;
    if (rows.length > 0 && bytes + size > chunkBytes) {
      chunks.push(rows);
      rows = [];
      bytes = 0;
    }
    rows.push([chat.convId, seq, chat.senderId, chat.clientMsgId, chat.recipientId, chat.groupId, chat.msgType,
      Buffer.from(chat.body.buffer, chat.body.byteOffset, chat.body.byteLength), chat.clientTime, now]);
    bytes += size;
  }
  if (rows.length > 0) chunks.push(rows);
  return chunks;
}

/** One multi-row INSERT of message rows. */
export function insertStmt(rows: unknown[][]): Stmt {
  return {
    sql: `INSERT INTO chat_message (conv_id, seq, sender_id, client_msg_id, recipient_id, group_id, msg_type, body,
      client_time, server_time) VALUES ?`,
    values: [rows],
  };
}

/** True when a multi-row INSERT gets consecutive ids (innodb_autoinc_lock_mode 0 or 1, not 2). */
export function consecutiveIds(vars: ServerVars): boolean {
  return vars.autoincLockMode < 2;
}

/** The ids of `n` rows of one multi-row INSERT whose first id is `first`. */
export function idsFrom(first: number, n: number, vars: ServerVars): number[] {
  const ids: number[] = [];
  for (let k = 0; k < n; k++) ids.push(first + k * vars.autoincIncrement);
  return ids;
}

/**
 * server_msg_id of plan.inserts[pos] as SQL, for statements in the same packet as the one
 * INSERT of the batch (consecutive ids only): LAST_INSERT_ID() is its first row's id.
 */
export function lastInsertIdOf(vars: ServerVars): (pos: number) => unknown {
  return (pos) => mysql.raw(`LAST_INSERT_ID() + ${pos * vars.autoincIncrement}`);
}

/**
 * The statements after the INSERTs, before COMMIT: conversation last_* (one multi-row upsert),
 * missing member rows, sender read cursors. `msgId(pos)` is plan.inserts[pos]'s id (a number
 * or SQL from lastInsertIdOf).
 */
export function tailStmts(plan: BatchPlan, msgId: (pos: number) => unknown, now: number): Stmt[] {
  const out: Stmt[] = [];
  if (plan.convs.length > 0) {
    // GREATEST: last_seq never moves back, whatever the hint said.
    out.push({
      sql: `INSERT INTO conversation (conv_id, conv_type, last_seq, last_msg_id, last_sender_id, last_time, created_at)
        VALUES ? ON DUPLICATE KEY UPDATE last_seq = GREATEST(last_seq, VALUES(last_seq)), last_msg_id = VALUES(last_msg_id),
        last_sender_id = VALUES(last_sender_id), last_time = VALUES(last_time)`,
      values: [plan.convs.map((v) => [v.convId, convTypeOf(v.convId), v.lastSeq, msgId(v.lastPos), v.lastSenderId, now, now])],
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

/**
 * The fast path's membership check, placed after the conversation rows are locked: for every
 * (group, sender) pair missing from group_member it re-inserts a copy of the group's (locked,
 * existing: the fast path only runs with a hint, i.e. an existing row) conversation row, which
 * fails with ER_DUP_ENTRY and sends the batch to the locking path; with every sender a member it
 * inserts nothing. One statement, a primary-key probe per pair; under READ COMMITTED the SELECT
 * part is a consistent read that sees every membership change committed before the lock.
 */
export function groupMemberGuard(pairs: readonly GroupSender[]): Stmt {
  const values: unknown[] = [];
  const rows = pairs.map((p, i) => {
    values.push(`g:${p.groupId}`, p.groupId, p.userId);
    // As in cursorStmt: the first row fixes conv_id's charset and collation to the column's.
    return i === 0 ? 'SELECT CONVERT(? USING ascii) COLLATE ascii_bin AS conv_id, ? AS group_id, ? AS user_id' : 'SELECT ?, ?, ?';
  });
  return {
    sql: `INSERT INTO conversation (conv_id, conv_type, created_at)
      SELECT c.conv_id, c.conv_type, c.created_at FROM (${rows.join(' UNION ALL ')}) v
      JOIN conversation c ON c.conv_id = v.conv_id
      WHERE NOT EXISTS (SELECT 1 FROM group_member m WHERE m.group_id = v.group_id AND m.user_id = v.user_id)`,
    values,
  };
}

/** The locking path's membership read: the pairs of `pairs` present in group_member. */
export function groupMemberSelect(pairs: readonly GroupSender[]): Stmt {
  return {
    sql: 'SELECT group_id AS groupId, user_id AS userId FROM group_member WHERE (group_id, user_id) IN (?)',
    values: [pairs.map((p) => [p.groupId, p.userId])],
  };
}

/**
 * Cursor moves as one statement per chunk: INSERT ... SELECT over the moves, clamped to each
 * conversation's last_seq (a client acking a seq from the future would otherwise hide everything
 * up to it from catch-up), for member rows that exist only, moving the cursor forward only.
 * Under READ COMMITTED the SELECT part is a consistent read: it takes no lock on conversation
 * rows (locking them here would invert the append's lock order and deadlock with it); the
 * member rows are locked in (conv, user) order, the order appends lock them in.
 */
export function cursorStmt(column: 'ack_seq' | 'read_seq', moves: ReadonlyArray<{ convId: string; userId: number; seq: number }>): Stmt {
  const values: unknown[] = [];
  const rows = moves.map((m, i) => {
    values.push(m.convId, m.userId, m.seq);
    // The first row fixes the derived table's types: conv_id in the columns' charset and
    // collation, so the joins compare exactly and use the primary keys.
    return i === 0 ? 'SELECT CONVERT(? USING ascii) COLLATE ascii_bin AS conv_id, ? AS user_id, ? AS seq' : 'SELECT ?, ?, ?';
  });
  return {
    sql: `INSERT INTO conversation_member (conv_id, user_id, ${column}, joined_at)
      SELECT v.conv_id, v.user_id, LEAST(v.seq, c.last_seq), 0 FROM (${rows.join(' UNION ALL ')}) v
      JOIN conversation c ON c.conv_id = v.conv_id
      WHERE EXISTS (SELECT 1 FROM conversation_member m WHERE m.conv_id = v.conv_id AND m.user_id = v.user_id)
      ORDER BY v.conv_id, v.user_id
      ON DUPLICATE KEY UPDATE ${column} = GREATEST(${column}, VALUES(${column}))`,
    values,
  };
}
