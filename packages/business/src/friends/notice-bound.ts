/**
 * The per-user bound on stored notices ("everything has a limit"). A notice row is deleted only
 * when its user acks it, so a user who never logs in, or a target spammed with applications,
 * would otherwise collect rows without end. Every transaction that inserts notices (NoticeStore.add,
 * the friend plans, group applications) ends by pruning each recipient it wrote to: the oldest
 * notices go, the newest `maxNoticesPerUser` stay. Both backends do it in two steps over the
 * (user_id, notice_id) index:
 *   1. the cut: the id of the user's (bound+1)-th newest notice, an index-only scan of at most
 *      bound+1 entries read backwards; no row means the user is within the bound (the common
 *      case) and nothing else runs;
 *   2. DELETE ... WHERE user_id = ? AND notice_id <= cut: a range on both index columns.
 * A separate COUNT would read the same entries and still need the cut, so the cut is the check.
 */

/** Default bound of stored notices per user. */
export const DEFAULT_MAX_NOTICES_PER_USER = 500;
/**
 * Largest accepted bound: the check reads up to bound+1 index entries of each recipient per
 * insert, so the bound also caps that cost.
 */
export const MAX_NOTICES_PER_USER_LIMIT = 100_000;

/**
 * Validates a maxNoticesPerUser option (undefined = the default); throws a RangeError naming
 * `field` (e.g. "sqlite.maxNoticesPerUser").
 */
export function parseMaxNoticesPerUser(value: unknown, field: string): number {
  const v = value ?? DEFAULT_MAX_NOTICES_PER_USER;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_NOTICES_PER_USER_LIMIT) {
    throw new RangeError(`${field} must be an integer from 1 to ${MAX_NOTICES_PER_USER_LIMIT} (notices kept per user), ` +
      `not ${typeof value === 'string' ? JSON.stringify(value) : String(value)}`);
  }
  return v;
}

/** The distinct recipients of `notices`, ascending (one fixed order for the MySQL row locks). */
export function noticeRecipients(notices: readonly { userId: number }[] | undefined): number[] {
  if (!notices || notices.length === 0) return [];
  return [...new Set(notices.map((n) => n.userId))].sort((a, b) => a - b);
}

/** Step 1 (parameters: user, bound): the id of the user's (bound+1)-th newest notice, if any. */
export const NOTICE_CUT_SQL = 'SELECT notice_id FROM user_notice WHERE user_id = ? ORDER BY notice_id DESC LIMIT 1 OFFSET ?';

/** Step 2 (parameters: user, cut): deletes the user's notices at or below the cut. */
export const PRUNE_NOTICES_SQL = 'DELETE FROM user_notice WHERE user_id = ? AND notice_id <= ?';
