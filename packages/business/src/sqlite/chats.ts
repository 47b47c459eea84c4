/**
 * ChatStore on SQLite. appendBatch is one IMMEDIATE transaction (one WAL commit, one fsync with
 * synchronous=FULL) for the whole batch: that is the group commit of DESIGN.md "Persist in
 * batches". advanceAck commits without an fsync of its own (./sync-mode.ts: a lost delivered
 * cursor only re-pushes what clients dedup); advanceRead keeps the store's level. Every statement
 * is prepared once; per message the cost is one dedup lookup (a Map, then a primary-key probe, see
 * ./dedup.ts) and one INSERT, per conversation one read, one update and the sender's read
 * cursor, and per distinct (group, sender) one group_member probe (non-members are refused).
 */
import type Database from 'better-sqlite3';
import type { AppendResult, ChatStore, ConvCursor, CursorUpdate, NewChat, StoredChat } from '../ports';
import { MemberCache } from '../member-cache';
import { buildResults, commitPlan, dedupKey, groupSenderKey, groupSenders, planBatch } from '../plan';
import { afterBound, beforeBound, CHAT_COLUMNS, CURSOR_SELECT, pageLimit, rowToChat, rowToCursor, type ChatRow, type CursorRow } from '../rows';
import { coalesceCursorUpdates, convTypeOf, isStorableConvId, validateNewChat } from '../validate';
import { DEFAULT_DEDUP_MERGE_ROWS, SqliteDedup } from './dedup';
import { settle } from './guard';
import { SyncMode } from './sync-mode';

type Stmt<P extends unknown[] | object, R = unknown> = Database.Statement<P, R>;

/** Binds a Uint8Array as a Buffer view (no copy): the driver's BLOB type. */
function blob(body: Uint8Array): Buffer {
  return Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

/** Messages, conversations and cursors in the embedded database. Created by SqliteStore. */
export class SqliteChatStore implements ChatStore {
  private readonly cache: MemberCache;
  /** The (sender, client id) unique key; public for tests and metrics. */
  readonly dedup: SqliteDedup;
  private readonly selById: Stmt<[number], ChatRow>;
  private readonly selConv: Stmt<[string], { last_seq: number; member_seq: number }>;
  private readonly insConv: Stmt<[string, number, number]>;
  private readonly insMsg: Stmt<[string, number, number, string, number, number, number, Buffer, number, number]>;
  private readonly insMember: Stmt<[string, number, number, number, number]>;
  private readonly updConv: Stmt<[number, number, number, number, string]>;
  private readonly updSenderRead: Stmt<[number, string, number]>;
  private readonly selAfter: Stmt<[string, number, number], ChatRow>;
  private readonly selBefore: Stmt<[string, number, number], ChatRow>;
  private readonly selLagging: Stmt<[number], CursorRow>;
  private readonly selCursors: Stmt<[number, string], CursorRow>;
  private readonly selMember: Stmt<[string, number], { one: number }>;
  private readonly selGroupMember: Stmt<[number, number], { one: number }>;
  private readonly updAck: Stmt<{ seq: number; conv: string; user: number }>;
  private readonly updRead: Stmt<{ seq: number; conv: string; user: number }>;
  private readonly appendTxn: (chats: readonly NewChat[]) => { results: AppendResult[]; commit: () => void };
  private readonly ackTxn: (updates: readonly CursorUpdate[]) => void;
  private readonly readTxn: (updates: readonly CursorUpdate[]) => void;
  private readonly sync: SyncMode;
  private commitCount = 0;

  /**
   * @param db an open database with the schema applied.
   * @param opts.synchronous the connection's configured level (default FULL); ack commits relax it.
   */
  constructor(db: Database.Database, opts: {
    memberCacheEntries?: number; dedupMergeRows?: number; synchronous?: 'FULL' | 'NORMAL';
  } = {}) {
    this.sync = new SyncMode(db, opts.synchronous ?? 'FULL');
    this.cache = new MemberCache(opts.memberCacheEntries);
    this.dedup = new SqliteDedup(db, opts.dedupMergeRows ?? DEFAULT_DEDUP_MERGE_ROWS);
    this.selById = db.prepare(`SELECT ${CHAT_COLUMNS} FROM chat_message WHERE server_msg_id = ?`);
    this.selConv = db.prepare('SELECT last_seq, member_seq FROM conversation WHERE conv_id = ?');
    this.insConv = db.prepare(
      'INSERT INTO conversation (conv_id, conv_type, created_at) VALUES (?, ?, ?) ON CONFLICT (conv_id) DO NOTHING');
    this.insMsg = db.prepare(`INSERT INTO chat_message (conv_id, seq, sender_id, client_msg_id, recipient_id, group_id,
      msg_type, body, client_time, server_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    this.insMember = db.prepare(`INSERT INTO conversation_member (conv_id, user_id, ack_seq, read_seq, joined_at)
      VALUES (?, ?, ?, ?, ?) ON CONFLICT (conv_id, user_id) DO NOTHING`);
    this.updConv = db.prepare(
      'UPDATE conversation SET last_seq = ?, last_msg_id = ?, last_sender_id = ?, last_time = ? WHERE conv_id = ?');
    this.updSenderRead = db.prepare(
      'UPDATE conversation_member SET read_seq = MAX(read_seq, ?) WHERE conv_id = ? AND user_id = ?');
    this.selAfter = db.prepare(
      `SELECT ${CHAT_COLUMNS} FROM chat_message WHERE conv_id = ? AND seq > ? ORDER BY seq ASC LIMIT ?`);
    this.selBefore = db.prepare(
      `SELECT ${CHAT_COLUMNS} FROM chat_message WHERE conv_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?`);
    this.selLagging = db.prepare(`${CURSOR_SELECT} WHERE m.user_id = ? AND c.last_seq > m.ack_seq ORDER BY m.conv_id`);
    this.selCursors = db.prepare(
      `${CURSOR_SELECT} WHERE m.user_id = ? AND m.conv_id IN (SELECT value FROM json_each(?)) ORDER BY m.conv_id`);
    this.selMember = db.prepare('SELECT 1 AS one FROM conversation_member WHERE conv_id = ? AND user_id = ?');
    this.selGroupMember = db.prepare('SELECT 1 AS one FROM group_member WHERE group_id = ? AND user_id = ?');
    // Cursors only move forward and never past the conversation's last seq: a client acking a
    // seq from the future would otherwise hide every message up to it from catch-up.
    const clamp = 'MIN(@seq, (SELECT last_seq FROM conversation WHERE conv_id = @conv))';
    this.updAck = db.prepare(`UPDATE conversation_member SET ack_seq = MAX(ack_seq, ${clamp})
      WHERE conv_id = @conv AND user_id = @user`);
    this.updRead = db.prepare(`UPDATE conversation_member SET read_seq = MAX(read_seq, ${clamp})
      WHERE conv_id = @conv AND user_id = @user`);

    // IMMEDIATE takes the write lock up front, so the seqs read below cannot go stale.
    this.appendTxn = db.transaction((chats: readonly NewChat[]) => this.appendInTxn(chats)).immediate;
    this.ackTxn = db.transaction((u: readonly CursorUpdate[]) => {
      for (const x of u) this.updAck.run({ seq: x.seq, conv: x.convId, user: x.userId });
    }).immediate;
    this.readTxn = db.transaction((u: readonly CursorUpdate[]) => {
      for (const x of u) this.updRead.run({ seq: x.seq, conv: x.convId, user: x.userId });
    }).immediate;
  }

  /** Transactions committed by appendBatch, advanceAck and advanceRead (the idle checkpoint's clock). */
  get commits(): number {
    return this.commitCount;
  }

  /** Stores a batch in one transaction; see ports.ts ChatStore.appendBatch. */
  appendBatch(chats: readonly NewChat[]): Promise<AppendResult[]> {
    return settle('appendBatch', () => {
      for (const c of chats) validateNewChat(c);
      if (chats.length === 0) return [];
      this.sync.strict();
      const { results, commit } = this.appendTxn(chats);
      this.commitCount++;
      commit(); // only after COMMIT succeeded
      try {
        this.dedup.maybeMerge();
      } catch {
        // The batch is committed and the keys are still in memory; the merge is retried on the
        // next append, and a failing disk will fail that append with a proper error.
      }
      return results;
    });
  }

  private appendInTxn(chats: readonly NewChat[]): { results: AppendResult[]; commit: () => void } {
    const now = Date.now();
    const stored = new Map<string, StoredChat>();
    const lastSeqs = new Map<string, number>();
    const memberSeqs = new Map<string, number>();
    // Group senders are checked inside the transaction (the write lock orders this against every
    // kick): a primary-key probe per distinct (group, sender).
    const nonMembers = new Set<string>();
    for (const p of groupSenders(chats)) {
      if (!this.selGroupMember.get(p.groupId, p.userId)) nonMembers.add(groupSenderKey(p.groupId, p.userId));
    }
    for (const c of chats) {
      if (c.groupId !== 0 && nonMembers.has(groupSenderKey(c.groupId, c.senderId))) continue;
      const key = dedupKey(c.senderId, c.clientMsgId);
      if (!stored.has(key)) {
        const id = this.dedup.find(c.senderId, c.clientMsgId);
        const row = id === undefined ? undefined : this.selById.get(id);
        if (row) stored.set(key, rowToChat(row));
      }
      if (!lastSeqs.has(c.convId)) {
        const conv = this.selConv.get(c.convId);
        if (!conv) this.insConv.run(c.convId, convTypeOf(c.convId), now);
        lastSeqs.set(c.convId, conv ? Number(conv.last_seq) : 0);
        memberSeqs.set(c.convId, conv ? Number(conv.member_seq) : 0);
      }
    }
    const plan = planBatch(chats, stored, lastSeqs, this.cache, nonMembers);
    const ids: number[] = [];
    for (const { chat: c, seq } of plan.inserts) {
      const r = this.insMsg.run(c.convId, seq, c.senderId, c.clientMsgId, c.recipientId, c.groupId, c.msgType,
        blob(c.body), c.clientTime, now);
      ids.push(Number(r.lastInsertRowid));
    }
    for (const m of plan.members) this.insMember.run(m.convId, m.userId, m.joinSeq, m.joinSeq, now);
    for (const c of plan.convs) this.updConv.run(c.lastSeq, ids[c.lastPos], c.lastSenderId, now, c.convId);
    for (const r of plan.senderReads) this.updSenderRead.run(r.seq, r.convId, r.userId);
    const commit = (): void => {
      commitPlan(plan, this.cache);
      for (let i = 0; i < ids.length; i++) {
        const { chat } = plan.inserts[i];
        this.dedup.remember(dedupKey(chat.senderId, chat.clientMsgId), ids[i]);
      }
    };
    return { results: buildResults(chats, plan, ids, now, memberSeqs), commit };
  }

  /** Messages with seq > afterSeq, ascending, at most `limit`. */
  readAfter(convId: string, afterSeq: number, limit: number): Promise<StoredChat[]> {
    return settle('readAfter', () => {
      const n = pageLimit(limit);
      return n === 0 ? [] : this.selAfter.all(convId, afterBound(afterSeq), n).map(rowToChat);
    });
  }

  /** Messages with seq < beforeSeq (0 = from the newest), descending, at most `limit`. */
  readBefore(convId: string, beforeSeq: number, limit: number): Promise<StoredChat[]> {
    return settle('readBefore', () => {
      const n = pageLimit(limit);
      return n === 0 ? [] : this.selBefore.all(convId, beforeBound(beforeSeq), n).map(rowToChat);
    });
  }

  /** The user's cursors where lastSeq > ackSeq, by conversation id. */
  lagging(userId: number): Promise<ConvCursor[]> {
    return settle('lagging', () => this.selLagging.all(userId).map(rowToCursor));
  }

  /** The user's cursors in the given conversations (missing ones are left out). */
  cursors(userId: number, convIds: readonly string[]): Promise<ConvCursor[]> {
    return settle('cursors', () => {
      const ids = [...new Set(convIds.filter(isStorableConvId))];
      return ids.length === 0 ? [] : this.selCursors.all(userId, JSON.stringify(ids)).map(rowToCursor);
    });
  }

  /** True when the user is a member of the conversation. */
  isMember(userId: number, convId: string): Promise<boolean> {
    return settle('isMember', () => this.selMember.get(convId, userId) !== undefined);
  }

  /**
   * Moves delivered cursors forward (never past lastSeq), in one transaction committed with
   * synchronous=NORMAL: durable against a process crash, and on disk with the next fsync'd commit.
   */
  advanceAck(updates: readonly CursorUpdate[]): Promise<void> {
    return settle('advanceAck', () => {
      const u = coalesceCursorUpdates(updates);
      if (u.length === 0) return;
      this.sync.relaxed(() => this.ackTxn(u));
      this.commitCount++;
    });
  }

  /** Moves read cursors forward (never past lastSeq), in one transaction at the store's level. */
  advanceRead(updates: readonly CursorUpdate[]): Promise<void> {
    return settle('advanceRead', () => {
      const u = coalesceCursorUpdates(updates);
      if (u.length > 0) {
        this.sync.strict();
        this.readTxn(u);
        this.commitCount++;
      }
    });
  }
}
