/**
 * FriendStore and NoticeStore on SQLite. Every friend operation is one IMMEDIATE transaction:
 * it holds the database's write lock from its first read, so the pair's state cannot change
 * between the checks and the writes (the MySQL store gets the same from the friend_pair row
 * lock, which SQLite does not need). The rules are ../friends/plan.ts.
 */
import type Database from 'better-sqlite3';
import {
  finishPlan, pairReads, pairState, planApply, planBlock, planDecide, planRemove, planUnblock, validateApplyMessage,
  validatePair, type Captured, type Dialect, type FriendPlan, type PairState,
} from '../friends/plan';
import { DEFAULT_MAX_NOTICES_PER_USER, NOTICE_CUT_SQL, noticeRecipients, PRUNE_NOTICES_SQL } from '../friends/notice-bound';
import type { Application, FriendChange, FriendStore, NewNotice, NoticeStore, Relation, StoredNotice, UserEntry } from '../friends/ports';
import {
  ACK_NOTICE_SQL, afterIdBound, applicationsSql, beforeIdBound, BLOCKED_PAGE_SQL, FRIENDS_PAGE_SQL, INSERT_NOTICE_SQL,
  PENDING_NOTICES_SQL, RELATION_SQL, relationParams, rowToApplication, rowToEntry, rowToNotice, rowToRelation,
} from '../friends/queries';
import { pageLimit } from '../rows';
import { settle } from './guard';

/** SQLite's spelling of the statements that differ. */
export const SQLITE_DIALECT: Dialect = { insertIgnore: 'INSERT OR IGNORE', lastId: 'last_insert_rowid()' };

type Row = Record<string, unknown>;

/** Prepared statements by SQL text: plans use a small fixed set of texts. */
class StatementCache {
  private readonly map = new Map<string, Database.Statement>();

  constructor(private readonly db: Database.Database) {}

  get(sql: string): Database.Statement {
    let s = this.map.get(sql);
    if (!s) this.map.set(sql, (s = this.db.prepare(sql)));
    return s;
  }
}

/**
 * Keeps each of `users` at most `bound` notices, deleting the oldest (../friends/notice-bound.ts:
 * the cut query is the cheap check; the DELETE runs only for a user over the bound). Call inside
 * the transaction that inserted the notices. Returns the number of notices deleted.
 */
export function pruneNotices(stmt: (sql: string) => Database.Statement, users: readonly number[], bound: number): number {
  let pruned = 0;
  for (const userId of users) {
    const cut = stmt(NOTICE_CUT_SQL).get(userId, bound) as Row | undefined;
    if (cut) pruned += stmt(PRUNE_NOTICES_SQL).run(userId, cut.notice_id).changes;
  }
  return pruned;
}

/** Friendships, applications and blocks in the embedded database. Created by SqliteStore. */
export class SqliteFriendStore implements FriendStore {
  private readonly stmts: StatementCache;
  private readonly txn: (fn: () => FriendChange) => FriendChange;

  /**
   * @param db an open database with the schema applied.
   * @param maxNoticesPerUser the notice bound (validated by parseSqliteOptions).
   */
  constructor(db: Database.Database, private readonly maxNoticesPerUser = DEFAULT_MAX_NOTICES_PER_USER) {
    this.stmts = new StatementCache(db);
    // IMMEDIATE: the write lock is taken before the first read (see the module comment).
    const t = db.transaction((fn: () => FriendChange) => fn());
    this.txn = (fn) => t.immediate(fn);
  }

  /** See FriendStore.apply. */
  apply(applicantId: number, targetId: number, message: string): Promise<FriendChange> {
    return settle('friend apply', () => {
      validatePair(applicantId, targetId);
      validateApplyMessage(message);
      return this.run(applicantId, targetId, (s, now) => planApply(s, message, now, SQLITE_DIALECT));
    });
  }

  /** See FriendStore.decide. */
  decide(deciderId: number, applicantId: number, accept: boolean): Promise<FriendChange> {
    return settle('friend decide', () => {
      validatePair(deciderId, applicantId);
      return this.run(deciderId, applicantId, (s, now) => planDecide(s, accept, now, SQLITE_DIALECT));
    });
  }

  /** See FriendStore.remove. */
  remove(userId: number, friendId: number): Promise<FriendChange> {
    return settle('friend remove', () => {
      validatePair(userId, friendId);
      return this.run(userId, friendId, (s, now) => planRemove(s, now, SQLITE_DIALECT));
    });
  }

  /** See FriendStore.block. */
  block(userId: number, blockedId: number): Promise<FriendChange> {
    return settle('block', () => {
      validatePair(userId, blockedId);
      return this.run(userId, blockedId, (s, now) => planBlock(s, now, SQLITE_DIALECT));
    });
  }

  /** See FriendStore.unblock. */
  unblock(userId: number, blockedId: number): Promise<FriendChange> {
    return settle('unblock', () => {
      validatePair(userId, blockedId);
      return this.run(userId, blockedId, (s) => planUnblock(s, SQLITE_DIALECT));
    });
  }

  /** See FriendStore.relation. */
  relation(a: number, b: number): Promise<Relation> {
    return settle('relation', () => rowToRelation(this.stmts.get(RELATION_SQL).get(...relationParams(a, b)) as Row | undefined));
  }

  /** See FriendStore.listFriends. */
  listFriends(userId: number, afterId: number, limit: number): Promise<UserEntry[]> {
    return settle('listFriends', () => this.page(FRIENDS_PAGE_SQL, userId, afterIdBound(afterId), limit).map(rowToEntry));
  }

  /** See FriendStore.listBlocked. */
  listBlocked(userId: number, afterId: number, limit: number): Promise<UserEntry[]> {
    return settle('listBlocked', () => this.page(BLOCKED_PAGE_SQL, userId, afterIdBound(afterId), limit).map(rowToEntry));
  }

  /** See FriendStore.listApplications. */
  listApplications(userId: number, direction: 'received' | 'sent', beforeId: number, limit: number): Promise<Application[]> {
    return settle('listApplications', () =>
      this.page(applicationsSql(direction), userId, beforeIdBound(beforeId), limit).map(rowToApplication));
  }

  private page(sql: string, userId: number, bound: number, limit: number): Row[] {
    const n = pageLimit(limit);
    return n === 0 ? [] : (this.stmts.get(sql).all(userId, bound, n) as Row[]);
  }

  /** Reads the pair's state, plans, writes: all in one IMMEDIATE transaction. */
  private run(a: number, b: number, planner: (s: PairState, now: number) => FriendPlan): FriendChange {
    return this.txn(() => {
      const rows = pairReads(a, b).map((q) => this.stmts.get(q.sql).all(...q.values) as Row[]);
      const p = planner(pairState(a, b, rows), Date.now());
      const got: Captured = { applyId: 0, noticeIds: [] };
      for (const w of p.writes) {
        const r = this.stmts.get(w.sql).run(...w.values);
        if (w.capture === 'applyId') got.applyId = Number(r.lastInsertRowid);
        else if (w.capture === 'noticeId') got.noticeIds.push(Number(r.lastInsertRowid));
      }
      pruneNotices((sql) => this.stmts.get(sql), noticeRecipients(p.notices.map((n) => n.notice)), this.maxNoticesPerUser);
      return finishPlan(p, got);
    });
  }
}

/** Stored notifications in the embedded database. Created by SqliteStore. */
export class SqliteNoticeStore implements NoticeStore {
  private readonly stmts: StatementCache;
  private readonly insertMany: (notices: readonly NewNotice[]) => StoredNotice[];

  /**
   * @param db an open database with the schema applied.
   * @param maxNoticesPerUser the notice bound (validated by parseSqliteOptions).
   */
  constructor(db: Database.Database, maxNoticesPerUser = DEFAULT_MAX_NOTICES_PER_USER) {
    this.stmts = new StatementCache(db);
    this.insertMany = db.transaction((notices: readonly NewNotice[]) => {
      const now = Date.now();
      const out = notices.map((n): StoredNotice => {
        const r = this.stmts.get(INSERT_NOTICE_SQL).run(n.userId, n.kind, n.fromUserId, n.refId, n.convId, n.body, now);
        return { ...n, noticeId: Number(r.lastInsertRowid), fromUserName: '', createdAt: now };
      });
      pruneNotices((sql) => this.stmts.get(sql), noticeRecipients(notices), maxNoticesPerUser);
      return out;
    });
  }

  /** See NoticeStore.add. */
  add(notices: readonly NewNotice[]): Promise<StoredNotice[]> {
    return settle('add notices', () => (notices.length === 0 ? [] : this.insertMany(notices)));
  }

  /** See NoticeStore.pending. */
  pending(userId: number, limit: number): Promise<StoredNotice[]> {
    return settle('pending notices', () => {
      const n = pageLimit(limit);
      return n === 0 ? [] : (this.stmts.get(PENDING_NOTICES_SQL).all(userId, n) as Row[]).map(rowToNotice);
    });
  }

  /** See NoticeStore.ack. */
  ack(userId: number, noticeId: number): Promise<boolean> {
    return settle('ack notice', () => this.stmts.get(ACK_NOTICE_SQL).run(userId, noticeId).changes > 0);
  }
}
