/**
 * The friend rules, once for both backends (as ../plan.ts is for appends). A store locks the
 * pair, runs {@link pairReads}, builds a {@link PairState} and asks a planner what to do; the
 * planner refuses with a typed RequestError or returns the writes to run in the same
 * transaction. The rules (issue 4, and what the seed got wrong in seed.md §5):
 * - applying to yourself is BAD_REQUEST; while either side blocks the other, BLOCKED;
 * - applying while friends is ALREADY_FRIENDS; a second pending application is APPLY_PENDING;
 * - applying to someone who already applied to you accepts their application;
 * - accept / reject need a pending application (NO_APPLICATION; ALREADY_FRIENDS for a repeated
 *   accept), so a decision is taken once, and the friendship rows are inserted once;
 * - remove needs a friendship (NOT_FRIENDS); block and unblock are idempotent.
 */
import { RequestError } from '@hxim/im-common';
import { APPLY_STATUS, MAX_APPLY_MESSAGE_CHARS, NOTICE_KIND, type FriendChange, type FriendOutcome, type StoredNotice } from './ports';

/** The SQL that differs between the backends. */
export interface Dialect {
  /** "INSERT OR IGNORE" (SQLite) or "INSERT IGNORE" (MySQL). */
  insertIgnore: string;
  /** The id of the previous INSERT in the same connection: last_insert_rowid() or LAST_INSERT_ID(). */
  lastId: string;
}

/** One statement with `?` placeholders. */
export interface SqlStmt {
  sql: string;
  values: unknown[];
}

/** A write of a plan; `capture` names the auto-increment id the executor must read back. */
export interface PlannedWrite extends SqlStmt {
  capture?: 'applyId' | 'noticeId';
}

/** What a store read about a pair (a = the acting user, b = the other). */
export interface PairState {
  a: number;
  b: number;
  friends: boolean;
  aBlockedB: boolean;
  bBlockedA: boolean;
  /** Pending application a → b (its id), or 0. */
  aToB: number;
  /** Pending application b → a, or 0. */
  bToA: number;
  /** Account names of a and b (missing: no account). */
  names: Map<number, string>;
}

/** A notice a plan writes; `refFromInsert`: its refId is the application the plan inserts. */
interface PlannedNotice {
  notice: Omit<StoredNotice, 'noticeId'>;
  refFromInsert: boolean;
}

/** What to write, and what to report once written. */
export interface FriendPlan {
  outcome: FriendOutcome;
  /** The application involved; 0 when the plan inserts it (read back from its capture). */
  applyId: number;
  writes: PlannedWrite[];
  /** In the order of their INSERTs (the executor matches the captured notice ids). */
  notices: PlannedNotice[];
  peerName: string;
}

/** The ids an executor read back from the captured writes. */
export interface Captured {
  applyId: number;
  noticeIds: number[];
}

function bad(message: string): RequestError {
  return new RequestError('BAD_REQUEST', message);
}

/** Throws BAD_REQUEST unless both are user ids and different. */
export function validatePair(a: number, b: number): void {
  if (!Number.isSafeInteger(a) || a <= 0 || !Number.isSafeInteger(b) || b <= 0) throw bad('user ids must be positive integers below 2^53');
  if (a === b) throw bad('that is you: friend operations need another user');
}

/** Throws BAD_REQUEST unless `message` fits friend_apply.apply_message. */
export function validateApplyMessage(message: string): void {
  if (typeof message !== 'string' || message.length > MAX_APPLY_MESSAGE_CHARS) {
    throw bad(`the application note must be at most ${MAX_APPLY_MESSAGE_CHARS} characters`);
  }
  if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(message)) {
    throw bad('the application note must be well-formed text');
  }
}

/** The reads a planner needs, in this order; run them after locking the pair. */
export function pairReads(a: number, b: number): SqlStmt[] {
  return [
    { sql: 'SELECT COUNT(*) AS n FROM friendship WHERE user_id = ? AND friend_id = ?', values: [a, b] },
    { sql: 'SELECT user_id FROM user_block WHERE (user_id = ? AND blocked_id = ?) OR (user_id = ? AND blocked_id = ?)', values: [a, b, b, a] },
    {
      sql: `SELECT apply_id, applicant_id FROM friend_apply WHERE apply_type = 0 AND apply_status = 0
        AND ((applicant_id = ? AND target_id = ?) OR (applicant_id = ? AND target_id = ?))`,
      values: [a, b, b, a],
    },
    { sql: 'SELECT user_id, user_name FROM user_account WHERE user_id IN (?, ?)', values: [a, b] },
  ];
}

type Row = Record<string, unknown>;

/** Builds the state from the rows of {@link pairReads}, in order. */
export function pairState(a: number, b: number, rows: readonly Row[][]): PairState {
  const [count, blocks, pending, names] = rows as [Row[], Row[], Row[], Row[]];
  const s: PairState = {
    a, b, friends: Number(count[0]?.n ?? 0) > 0, aBlockedB: false, bBlockedA: false, aToB: 0, bToA: 0, names: new Map(),
  };
  for (const r of blocks) {
    if (Number(r.user_id) === a) s.aBlockedB = true;
    else s.bBlockedA = true;
  }
  for (const r of pending) {
    if (Number(r.applicant_id) === a) s.aToB = Number(r.apply_id);
    else s.bToA = Number(r.apply_id);
  }
  for (const r of names) s.names.set(Number(r.user_id), String(r.user_name));
  return s;
}

/** Throws BLOCKED when either side blocks the other. */
function refuseBlocked(s: PairState): void {
  if (s.aBlockedB) throw new RequestError('BLOCKED', `you blocked user ${s.b}: unblock them first`);
  if (s.bBlockedA) throw new RequestError('BLOCKED', `user ${s.b} does not accept requests from you`);
}

/** A notice from a to `to`; `ref` is an application id, or "inserted" for the one this plan inserts. */
function notice(s: PairState, to: number, kind: number, ref: number | 'inserted', body: string, now: number): PlannedNotice {
  return {
    notice: {
      userId: to, kind, fromUserId: s.a, fromUserName: s.names.get(s.a) ?? '', refId: ref === 'inserted' ? 0 : ref,
      convId: '', body, createdAt: now,
    },
    refFromInsert: ref === 'inserted',
  };
}

function noticeWrite(n: PlannedNotice, d: Dialect): PlannedWrite {
  const x = n.notice;
  return {
    sql: `INSERT INTO user_notice (user_id, kind, from_user_id, ref_id, conv_id, body, created_at)
      VALUES (?, ?, ?, ${n.refFromInsert ? d.lastId : '?'}, ?, ?, ?)`,
    values: n.refFromInsert
      ? [x.userId, x.kind, x.fromUserId, x.convId, x.body, x.createdAt]
      : [x.userId, x.kind, x.fromUserId, x.refId, x.convId, x.body, x.createdAt],
    capture: 'noticeId',
  };
}

function plan(s: PairState, outcome: FriendOutcome, applyId: number, writes: PlannedWrite[], notices: PlannedNotice[], d: Dialect): FriendPlan {
  return { outcome, applyId, writes: [...writes, ...notices.map((n) => noticeWrite(n, d))], notices, peerName: s.names.get(s.b) ?? '' };
}

function decideWrite(applyId: number, status: number, now: number): PlannedWrite {
  return { sql: 'UPDATE friend_apply SET apply_status = ?, updated_at = ? WHERE apply_id = ? AND apply_status = 0', values: [status, now, applyId] };
}

function befriend(s: PairState, now: number, d: Dialect): PlannedWrite {
  return {
    sql: `${d.insertIgnore} INTO friendship (user_id, friend_id, created_at) VALUES (?, ?, ?), (?, ?, ?)`,
    values: [s.a, s.b, now, s.b, s.a, now],
  };
}

function unfriend(s: PairState): PlannedWrite {
  return {
    sql: 'DELETE FROM friendship WHERE (user_id = ? AND friend_id = ?) OR (user_id = ? AND friend_id = ?)',
    values: [s.a, s.b, s.b, s.a],
  };
}

/** a applies to b with `message`. */
export function planApply(s: PairState, message: string, now: number, d: Dialect): FriendPlan {
  refuseBlocked(s);
  if (s.friends) throw new RequestError('ALREADY_FRIENDS', `you and user ${s.b} are already friends`);
  if (s.bToA) {
    // b asked first: applying back is accepting (issue 4 "a reverse pending application becomes an accept").
    return plan(s, 'accepted', s.bToA, [decideWrite(s.bToA, APPLY_STATUS.ACCEPTED, now), befriend(s, now, d)],
      [notice(s, s.b, NOTICE_KIND.FRIEND_ACCEPTED, s.bToA, '', now)], d);
  }
  if (s.aToB) throw new RequestError('APPLY_PENDING', `your application to user ${s.b} is still pending`);
  const insert: PlannedWrite = {
    sql: `INSERT INTO friend_apply (applicant_id, target_id, apply_type, apply_status, apply_message, created_at, updated_at)
      VALUES (?, ?, 0, 0, ?, ?, ?)`,
    values: [s.a, s.b, message, now, now],
    capture: 'applyId',
  };
  return plan(s, 'applied', 0, [insert], [notice(s, s.b, NOTICE_KIND.FRIEND_APPLY, 'inserted', message, now)], d);
}

/** a (the target) accepts or rejects b's pending application. */
export function planDecide(s: PairState, accept: boolean, now: number, d: Dialect): FriendPlan {
  if (!s.bToA) {
    if (s.friends) throw new RequestError('ALREADY_FRIENDS', `you and user ${s.b} are already friends`);
    throw new RequestError('NO_APPLICATION', `user ${s.b} has no pending application to you`);
  }
  if (accept) {
    return plan(s, 'accepted', s.bToA, [decideWrite(s.bToA, APPLY_STATUS.ACCEPTED, now), befriend(s, now, d)],
      [notice(s, s.b, NOTICE_KIND.FRIEND_ACCEPTED, s.bToA, '', now)], d);
  }
  return plan(s, 'rejected', s.bToA, [decideWrite(s.bToA, APPLY_STATUS.REJECTED, now)],
    [notice(s, s.b, NOTICE_KIND.FRIEND_REJECTED, s.bToA, '', now)], d);
}

/** a ends the friendship with b. */
export function planRemove(s: PairState, now: number, d: Dialect): FriendPlan {
  if (!s.friends) throw new RequestError('NOT_FRIENDS', `user ${s.b} is not your friend`);
  return plan(s, 'removed', 0, [unfriend(s)], [notice(s, s.b, NOTICE_KIND.FRIEND_REMOVED, 0, '', now)], d);
}

/** a blocks b: silent (b is not told), ends the friendship, rejects pending applications. */
export function planBlock(s: PairState, now: number, d: Dialect): FriendPlan {
  if (s.aBlockedB) return plan(s, 'unchanged', 0, [], [], d);
  return plan(s, 'blocked', 0, [
    { sql: `${d.insertIgnore} INTO user_block (user_id, blocked_id, created_at) VALUES (?, ?, ?)`, values: [s.a, s.b, now] },
    unfriend(s),
    {
      sql: `UPDATE friend_apply SET apply_status = ?, updated_at = ? WHERE apply_type = 0 AND apply_status = 0
        AND ((applicant_id = ? AND target_id = ?) OR (applicant_id = ? AND target_id = ?))`,
      values: [APPLY_STATUS.REJECTED, now, s.a, s.b, s.b, s.a],
    },
  ], [], d);
}

/** a lifts its block of b (the friendship is not restored). */
export function planUnblock(s: PairState, d: Dialect): FriendPlan {
  if (!s.aBlockedB) return plan(s, 'unchanged', 0, [], [], d);
  return plan(s, 'unblocked', 0, [{ sql: 'DELETE FROM user_block WHERE user_id = ? AND blocked_id = ?', values: [s.a, s.b] }], [], d);
}

/** The result of an executed plan, given the ids read back from its captured writes. */
export function finishPlan(p: FriendPlan, got: Captured): FriendChange {
  const applyId = p.applyId || got.applyId;
  const notices = p.notices.map((n, i): StoredNotice => ({
    ...n.notice, noticeId: got.noticeIds[i] ?? 0, refId: n.refFromInsert ? applyId : n.notice.refId,
  }));
  return { outcome: p.outcome, applyId, notices, peerName: p.peerName };
}
