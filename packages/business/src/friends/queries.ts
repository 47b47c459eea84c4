/**
 * The friend and notice reads, in SQL both backends accept unchanged, and their row mappings.
 * Names come from a LEFT JOIN on user_account, so users without an account (--auth open) are
 * listed with an empty name.
 */
import type { Application, Relation, StoredNotice, UserEntry } from './ports';

/** Friends of `?` with id > `?`, ascending, LIMIT `?`. */
export const FRIENDS_PAGE_SQL = `SELECT f.friend_id AS user_id, COALESCE(u.user_name, '') AS user_name, f.created_at AS since
  FROM friendship f LEFT JOIN user_account u ON u.user_id = f.friend_id
  WHERE f.user_id = ? AND f.friend_id > ? ORDER BY f.friend_id LIMIT ?`;

/** Users blocked by `?` with id > `?`, ascending, LIMIT `?`. */
export const BLOCKED_PAGE_SQL = `SELECT b.blocked_id AS user_id, COALESCE(u.user_name, '') AS user_name, b.created_at AS since
  FROM user_block b LEFT JOIN user_account u ON u.user_id = b.blocked_id
  WHERE b.user_id = ? AND b.blocked_id > ? ORDER BY b.blocked_id LIMIT ?`;

/** Applications received by (or sent by) `?` with apply_id < `?`, newest first, LIMIT `?`. */
export function applicationsSql(direction: 'received' | 'sent'): string {
  const who = direction === 'received' ? 'a.target_id' : 'a.applicant_id';
  return `SELECT a.apply_id, a.applicant_id, COALESCE(ua.user_name, '') AS applicant_name, a.target_id,
      COALESCE(ut.user_name, '') AS target_name, a.apply_status, a.apply_message, a.created_at, a.updated_at
    FROM friend_apply a LEFT JOIN user_account ua ON ua.user_id = a.applicant_id
      LEFT JOIN user_account ut ON ut.user_id = a.target_id
    WHERE ${who} = ? AND a.apply_type = 0 AND a.apply_id < ? ORDER BY a.apply_id DESC LIMIT ?`;
}

/** Friendship a→b and blocks both ways, in one row; parameters: {@link relationParams}. */
export const RELATION_SQL = `SELECT
  (SELECT COUNT(*) FROM friendship WHERE user_id = ? AND friend_id = ?) AS f,
  (SELECT COUNT(*) FROM user_block WHERE user_id = ? AND blocked_id = ?) AS ab,
  (SELECT COUNT(*) FROM user_block WHERE user_id = ? AND blocked_id = ?) AS ba`;

/** The parameters of {@link RELATION_SQL}. */
export function relationParams(a: number, b: number): number[] {
  return [a, b, a, b, b, a];
}

/** Maps the {@link RELATION_SQL} row. */
export function rowToRelation(r: Record<string, unknown> | undefined): Relation {
  return { friends: Number(r?.f ?? 0) > 0, aBlockedB: Number(r?.ab ?? 0) > 0, bBlockedA: Number(r?.ba ?? 0) > 0 };
}

/** The user's notices, oldest first, LIMIT `?`. */
export const PENDING_NOTICES_SQL = `SELECT n.notice_id, n.user_id, n.kind, n.from_user_id,
    COALESCE(u.user_name, '') AS from_user_name, n.ref_id, n.conv_id, n.body, n.created_at
  FROM user_notice n LEFT JOIN user_account u ON u.user_id = n.from_user_id
  WHERE n.user_id = ? ORDER BY n.notice_id LIMIT ?`;

/** Deletes notice `?` of user `?` (parameters: user, notice). */
export const ACK_NOTICE_SQL = 'DELETE FROM user_notice WHERE user_id = ? AND notice_id = ?';

/** Inserts one notice (parameters: user, kind, from, ref, conv, body, created). */
export const INSERT_NOTICE_SQL = `INSERT INTO user_notice (user_id, kind, from_user_id, ref_id, conv_id, body, created_at)
  VALUES (?, ?, ?, ?, ?, ?, ?)`;

type Row = Record<string, unknown>;

/** Maps a friend or blocked row. */
export function rowToEntry(r: Row): UserEntry {
  return { userId: Number(r.user_id), userName: String(r.user_name ?? ''), since: Number(r.since) };
}

/** Maps an application row. */
export function rowToApplication(r: Row): Application {
  return {
    applyId: Number(r.apply_id), applicantId: Number(r.applicant_id), applicantName: String(r.applicant_name ?? ''),
    targetId: Number(r.target_id), targetName: String(r.target_name ?? ''), status: Number(r.apply_status),
    message: String(r.apply_message ?? ''), createdAt: Number(r.created_at), updatedAt: Number(r.updated_at),
  };
}

/** Maps a notice row. */
export function rowToNotice(r: Row): StoredNotice {
  return {
    noticeId: Number(r.notice_id), userId: Number(r.user_id), kind: Number(r.kind), fromUserId: Number(r.from_user_id),
    fromUserName: String(r.from_user_name ?? ''), refId: Number(r.ref_id), convId: String(r.conv_id ?? ''),
    body: String(r.body ?? ''), createdAt: Number(r.created_at),
  };
}

/** applyId < bound: 0 (or anything not positive) means "from the newest". */
export function beforeIdBound(beforeId: number): number {
  return Number.isSafeInteger(beforeId) && beforeId > 0 ? beforeId : Number.MAX_SAFE_INTEGER;
}

/** id > bound: anything not positive means "from the first". */
export function afterIdBound(afterId: number): number {
  return Number.isSafeInteger(afterId) && afterId > 0 ? afterId : 0;
}
