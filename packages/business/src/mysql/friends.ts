/**
 * FriendStore and NoticeStore on MySQL/MariaDB, for several instances at once.
 *
 * Every friend operation is one transaction in two round trips:
 *   1. START TRANSACTION; upsert the pair's friend_pair row (INSERT ... ON DUPLICATE KEY UPDATE
 *      takes its row lock, so every other operation on this pair, on any instance, waits here);
 *      read the pair's friendship, blocks, pending applications and names;
 *   2. the plan's writes (../friends/plan.ts), COMMIT.
 * Under READ COMMITTED the reads after the lock see everything the previous holder committed,
 * and nothing else writes these rows, so the checks cannot go stale before the writes. Unique
 * keys back it up: the friendship primary key (INSERT IGNORE), at most one pending application
 * per direction (uk_apply_pending). One lock per transaction means no lock-order deadlocks
 * between friend operations; a deadlock with anything else is retried.
 */
import {
  finishPlan, pairReads, pairState, planApply, planBlock, planDecide, planRemove, planUnblock, validateApplyMessage,
  validatePair, type Captured, type Dialect, type FriendPlan, type PairState,
} from '../friends/plan';
import { DEFAULT_MAX_NOTICES_PER_USER, NOTICE_CUT_SQL, noticeRecipients } from '../friends/notice-bound';
import type { Application, FriendChange, FriendStore, NewNotice, NoticeStore, Relation, StoredNotice, UserEntry } from '../friends/ports';
import {
  ACK_NOTICE_SQL, afterIdBound, applicationsSql, beforeIdBound, BLOCKED_PAGE_SQL, FRIENDS_PAGE_SQL, INSERT_NOTICE_SQL,
  PENDING_NOTICES_SQL, RELATION_SQL, relationParams, rowToApplication, rowToEntry, rowToNotice, rowToRelation,
} from '../friends/queries';
import { pageLimit } from '../rows';
import { ER, errnoOf, type MysqlDb, type Stmt } from './db';

/** MySQL's spelling of the statements that differ. */
export const MYSQL_DIALECT: Dialect = { insertIgnore: 'INSERT IGNORE', lastId: 'LAST_INSERT_ID()' };

type Row = Record<string, unknown>;

interface WriteResult {
  insertId?: number;
  affectedRows?: number;
}

const LOCK_PAIR_SQL = `INSERT INTO friend_pair (user_lo, user_hi, updated_at) VALUES (?, ?, ?)
  ON DUPLICATE KEY UPDATE updated_at = VALUES(updated_at)`;

function deadlocked(err: unknown): boolean {
  return errnoOf(err) === ER.LOCK_DEADLOCK;
}

/**
 * The statements that keep each of `users` at most `bound` notices, deleting the oldest
 * (../friends/notice-bound.ts), to append to the script of the transaction that inserted them,
 * before its COMMIT: no extra round trip. The cut goes through a session variable rather than a
 * subquery in the DELETE: MariaDB refuses a DELETE that selects from its own table (a derived
 * table works around that), but then plans the subquery as unknown and scans, and locks, all of
 * the user's rows even when none goes. A variable is a constant to the optimizer: NULL (within the
 * bound, the common case) is an "Impossible WHERE" that reads and locks nothing, and a cut is a
 * range on both columns of idx_notice_user.
 */
export function pruneNoticeStmts(users: readonly number[], bound: number): Stmt[] {
  return users.flatMap((userId): Stmt[] => [
    {
      sql: `SET @hxim_notice_cut = (${NOTICE_CUT_SQL})`,
      values: [userId, bound],
    },
    { sql: 'DELETE FROM user_notice WHERE user_id = ? AND notice_id <= @hxim_notice_cut', values: [userId] },
  ]);
}

/** Friendships, applications and blocks in MySQL. Created by MysqlStore. */
export class MysqlFriendStore implements FriendStore {
  /**
   * @param db the store's pool.
   * @param maxNoticesPerUser the notice bound (validated by parseMysqlOptions).
   */
  constructor(private readonly db: MysqlDb, private readonly maxNoticesPerUser = DEFAULT_MAX_NOTICES_PER_USER) {}

  /** See FriendStore.apply. */
  async apply(applicantId: number, targetId: number, message: string): Promise<FriendChange> {
    validatePair(applicantId, targetId);
    validateApplyMessage(message);
    return this.run('friend apply', applicantId, targetId, (s, now) => planApply(s, message, now, MYSQL_DIALECT));
  }

  /** See FriendStore.decide. */
  async decide(deciderId: number, applicantId: number, accept: boolean): Promise<FriendChange> {
    validatePair(deciderId, applicantId);
    return this.run('friend decide', deciderId, applicantId, (s, now) => planDecide(s, accept, now, MYSQL_DIALECT));
  }

  /** See FriendStore.remove. */
  async remove(userId: number, friendId: number): Promise<FriendChange> {
    validatePair(userId, friendId);
    return this.run('friend remove', userId, friendId, (s, now) => planRemove(s, now, MYSQL_DIALECT));
  }

  /** See FriendStore.block. */
  async block(userId: number, blockedId: number): Promise<FriendChange> {
    validatePair(userId, blockedId);
    return this.run('block', userId, blockedId, (s, now) => planBlock(s, now, MYSQL_DIALECT));
  }

  /** See FriendStore.unblock. */
  async unblock(userId: number, blockedId: number): Promise<FriendChange> {
    validatePair(userId, blockedId);
    return this.run('unblock', userId, blockedId, (s) => planUnblock(s, MYSQL_DIALECT));
  }

  /** See FriendStore.relation. */
  relation(a: number, b: number): Promise<Relation> {
    return this.db.run('relation', async (c) => rowToRelation((await c.query<Row[]>(RELATION_SQL, relationParams(a, b)))[0]));
  }

  /** See FriendStore.listFriends. */
  async listFriends(userId: number, afterId: number, limit: number): Promise<UserEntry[]> {
    return (await this.page('listFriends', FRIENDS_PAGE_SQL, userId, afterIdBound(afterId), limit)).map(rowToEntry);
  }

  /** See FriendStore.listBlocked. */
  async listBlocked(userId: number, afterId: number, limit: number): Promise<UserEntry[]> {
    return (await this.page('listBlocked', BLOCKED_PAGE_SQL, userId, afterIdBound(afterId), limit)).map(rowToEntry);
  }

  /** See FriendStore.listApplications. */
  async listApplications(userId: number, direction: 'received' | 'sent', beforeId: number, limit: number): Promise<Application[]> {
    return (await this.page('listApplications', applicationsSql(direction), userId, beforeIdBound(beforeId), limit)).map(rowToApplication);
  }

  private async page(what: string, sql: string, userId: number, bound: number, limit: number): Promise<Row[]> {
    const n = pageLimit(limit);
    if (n === 0) return [];
    return this.db.run(what, (c) => c.query<Row[]>(sql, [userId, bound, n]));
  }

  /** Lock the pair, read, plan, write, commit (see the module comment). */
  private run(what: string, a: number, b: number, planner: (s: PairState, now: number) => FriendPlan): Promise<FriendChange> {
    return this.db.transaction(what, async (c) => {
      const now = Date.now();
      const reads = pairReads(a, b);
      const res = await c.script([
        { sql: 'START TRANSACTION' },
        { sql: LOCK_PAIR_SQL, values: [Math.min(a, b), Math.max(a, b), now] },
        ...reads,
      ]);
      const p = planner(pairState(a, b, res.slice(2) as Row[][]), now); // a refusal rolls back
      const prune = pruneNoticeStmts(noticeRecipients(p.notices.map((n) => n.notice)), this.maxNoticesPerUser);
      const out = await c.script([...p.writes, ...prune, { sql: 'COMMIT' }]);
      const got: Captured = { applyId: 0, noticeIds: [] };
      p.writes.forEach((w, i) => {
        const id = Number((out[i] as WriteResult).insertId ?? 0);
        if (w.capture === 'applyId') got.applyId = id;
        else if (w.capture === 'noticeId') got.noticeIds.push(id);
      });
      return finishPlan(p, got);
    }, deadlocked);
  }
}

/** Stored notifications in MySQL. Created by MysqlStore. */
export class MysqlNoticeStore implements NoticeStore {
  /**
   * @param db the store's pool.
   * @param maxNoticesPerUser the notice bound (validated by parseMysqlOptions).
   */
  constructor(private readonly db: MysqlDb, private readonly maxNoticesPerUser = DEFAULT_MAX_NOTICES_PER_USER) {}

  /** See NoticeStore.add: one INSERT per notice (each reads back its id), the prune, one transaction. */
  async add(notices: readonly NewNotice[]): Promise<StoredNotice[]> {
    if (notices.length === 0) return [];
    const now = Date.now();
    return this.db.transaction('add notices', async (c) => {
      const stmts: Stmt[] = notices.map((n) => ({
        sql: INSERT_NOTICE_SQL, values: [n.userId, n.kind, n.fromUserId, n.refId, n.convId, n.body, now],
      }));
      const prune = pruneNoticeStmts(noticeRecipients(notices), this.maxNoticesPerUser);
      const out = await c.script([{ sql: 'START TRANSACTION' }, ...stmts, ...prune, { sql: 'COMMIT' }]);
      return notices.map((n, i): StoredNotice => ({
        ...n, noticeId: Number((out[i + 1] as WriteResult).insertId), fromUserName: '', createdAt: now,
      }));
    }, deadlocked);
  }

  /** See NoticeStore.pending. */
  async pending(userId: number, limit: number): Promise<StoredNotice[]> {
    const n = pageLimit(limit);
    if (n === 0) return [];
    return this.db.run('pending notices', async (c) => (await c.query<Row[]>(PENDING_NOTICES_SQL, [userId, n])).map(rowToNotice));
  }

  /** See NoticeStore.ack. */
  ack(userId: number, noticeId: number): Promise<boolean> {
    return this.db.run('ack notice', async (c) =>
      Number((await c.query<WriteResult>(ACK_NOTICE_SQL, [userId, noticeId])).affectedRows ?? 0) > 0);
  }
}
