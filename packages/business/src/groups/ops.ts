/**
 * The group rules, written once for both backends as generators that yield SQL operations
 * ({@link Op}) and receive their results: SQLite runs them synchronously inside one IMMEDIATE
 * transaction (sqlite/groups.ts), MySQL awaits each statement inside START TRANSACTION … COMMIT
 * (mysql/groups.ts). Every write first locks the group row (FOR UPDATE on MySQL; SQLite's write
 * lock is already held), so operations on one group run one after the other on any number of
 * instances, and the group's member_count and max_members checks cannot race.
 *
 * The SYSTEM message of a change locks the conversation row too, in the same order as appends
 * (conversation rows after nothing else), so it gets the next seq without a gap.
 */
import { ChatKind, groupConvId, NoticeKind, RequestError } from '@hxim/im-common';
import type { StoredNotice } from '../friends/ports';
import { INSERT_NOTICE_SQL } from '../friends/queries';
import type { StoredChat } from '../ports';
import {
  GroupRole, MAX_GROUP_NAME_CHARS, type GroupApplication, type GroupChange, type GroupMemberList, type GroupMemberRow, type GroupRow, type SystemEvent,
} from './ports';

/** One SQL operation: `all` returns rows, `run` returns {insertId, changes}. */
export interface Op {
  kind: 'all' | 'run';
  sql: string;
  values: unknown[];
}
/** The result of a `run` op. */
export interface RunResult {
  insertId: number;
  changes: number;
}
/** A row as the drivers return it. */
export type Row = Record<string, unknown>;
/** A group operation: yields ops, returns its result. */
export type GroupOp<T> = Generator<Op, T, unknown>;

/** What differs between the two SQL dialects. */
export interface GroupDialect {
  insertIgnore: string;
  /** Appended to a SELECT that must lock its rows (MySQL), or "" (SQLite holds the write lock). */
  forUpdate: string;
}

/** Rows per multi-row INSERT (well under SQLite's 32,766 bound variables). */
const CHUNK = 500;
/** apply_type of a join application in friend_apply (the seed's user_apply type 1). */
export const APPLY_JOIN_GROUP = 1;

function* all(sql: string, values: unknown[]): GroupOp<Row[]> {
  return (yield { kind: 'all', sql, values }) as Row[];
}
function* run(sql: string, values: unknown[]): GroupOp<RunResult> {
  return (yield { kind: 'run', sql, values }) as RunResult;
}

const bad = (m: string): RequestError => new RequestError('BAD_REQUEST', m);
const notAllowed = (m: string): RequestError => new RequestError('NOT_ALLOWED', m);

/** Checks a group name: 1..64 characters after trimming. */
export function validateGroupName(name: string): string {
  const n = typeof name === 'string' ? name.trim() : '';
  if (n.length === 0 || n.length > MAX_GROUP_NAME_CHARS) throw bad(`group name must be 1..${MAX_GROUP_NAME_CHARS} characters`);
  return n;
}

/** Distinct positive safe-integer user ids, ascending; BAD_REQUEST for anything else. */
export function validateUserIds(ids: readonly number[]): number[] {
  for (const id of ids) if (!Number.isSafeInteger(id) || id <= 0) throw bad(`user id ${String(id)} is not a positive integer`);
  return [...new Set(ids)].sort((a, b) => a - b);
}

const GROUP_COLS = 'group_id, group_name, owner_id, max_members, member_count, created_at';

/** Maps an im_group row. */
export function rowToGroup(r: Row): GroupRow {
  return {
    groupId: Number(r.group_id), name: String(r.group_name), ownerId: Number(r.owner_id),
    maxMembers: Number(r.max_members), memberCount: Number(r.member_count), createdAt: Number(r.created_at),
  };
}

/** Maps the rows of GROUP_READS.memberList. */
export function rowsToMemberList(rows: readonly Row[]): GroupMemberList {
  const ids: number[] = [];
  for (const r of rows) if (r.user_id != null) ids.push(Number(r.user_id));
  return { ids, memberSeq: rows.length ? Number(rows[0]!.member_seq) : 0 };
}

/** Maps a member row (joined with user_account and conversation_member). */
export function rowToMember(r: Row): GroupMemberRow {
  return {
    userId: Number(r.user_id), userName: r.user_name == null ? '' : String(r.user_name), role: Number(r.member_role),
    joinedAt: Number(r.joined_at), readSeq: Number(r.read_seq ?? 0),
  };
}

/** The SELECT of members, with names and read cursors; callers add WHERE tail and values. */
export const MEMBER_SELECT = `SELECT gm.user_id, ua.user_name, gm.member_role, gm.joined_at, cm.read_seq
  FROM group_member gm LEFT JOIN user_account ua ON ua.user_id = gm.user_id
  LEFT JOIN conversation_member cm ON cm.conv_id = ? AND cm.user_id = gm.user_id`;

function* lockGroup(d: GroupDialect, groupId: number): GroupOp<GroupRow> {
  if (!Number.isSafeInteger(groupId) || groupId <= 0) throw bad('groupId must be a positive integer');
  const rows = yield* all(`SELECT ${GROUP_COLS} FROM im_group WHERE group_id = ? AND dismissed = 0${d.forUpdate}`, [groupId]);
  if (rows.length === 0) throw new RequestError('NO_SUCH_GROUP', `group ${groupId} does not exist (or was dismissed)`);
  return rowToGroup(rows[0]!);
}

function* roleIn(groupId: number, userId: number): GroupOp<number | null> {
  const rows = yield* all('SELECT member_role FROM group_member WHERE group_id = ? AND user_id = ?', [groupId, userId]);
  return rows.length === 0 ? null : Number(rows[0]!.member_role);
}

function* requireRole(groupId: number, userId: number, min: number, what: string): GroupOp<number> {
  const role = yield* roleIn(groupId, userId);
  if (role === null) throw new RequestError('NOT_A_MEMBER', `you are not a member of group ${groupId}`);
  if (role < min) throw notAllowed(`only the group's ${min === GroupRole.OWNER ? 'owner' : 'owner or admins'} may ${what}`);
  return role;
}

function* allMemberIds(groupId: number): GroupOp<number[]> {
  const rows = yield* all('SELECT user_id FROM group_member WHERE group_id = ? ORDER BY user_id', [groupId]);
  return rows.map((r) => Number(r.user_id));
}

function* lockConv(d: GroupDialect, convId: string): GroupOp<number> {
  const rows = yield* all(`SELECT last_seq FROM conversation WHERE conv_id = ?${d.forUpdate}`, [convId]);
  return rows.length === 0 ? 0 : Number(rows[0]!.last_seq);
}

/** Adds member rows (group and conversation); returns the users actually added. */
function* addMembers(d: GroupDialect, g: GroupRow, userIds: readonly number[], role: number, now: number): GroupOp<number[]> {
  if (userIds.length === 0) return [];
  const existing = new Set<number>();
  for (let i = 0; i < userIds.length; i += CHUNK) {
    const part = userIds.slice(i, i + CHUNK);
    const rows = yield* all(`SELECT user_id FROM group_member WHERE group_id = ? AND user_id IN (${part.map(() => '?').join(',')})`,
      [g.groupId, ...part]);
    for (const r of rows) existing.add(Number(r.user_id));
  }
  const fresh = userIds.filter((u) => !existing.has(u));
  if (fresh.length === 0) return [];
  if (g.memberCount + fresh.length > g.maxMembers) {
    throw new RequestError('GROUP_FULL',
      `group ${g.groupId} has ${g.memberCount} of at most ${g.maxMembers} members; ${fresh.length} more do not fit`);
  }
  const convId = groupConvId(g.groupId);
  // New members start at the current last seq: the history before they joined is not unread.
  const lastSeq = yield* lockConv(d, convId);
  for (let i = 0; i < fresh.length; i += CHUNK) {
    const part = fresh.slice(i, i + CHUNK);
    yield* run(`INSERT INTO group_member (group_id, user_id, member_role, joined_at) VALUES ${part.map(() => '(?, ?, ?, ?)').join(', ')}`,
      part.flatMap((u) => [g.groupId, u, role, now]));
    yield* run(`${d.insertIgnore} INTO conversation_member (conv_id, user_id, ack_seq, read_seq, joined_at) VALUES ${part.map(() => '(?, ?, ?, ?, ?)').join(', ')}`,
      part.flatMap((u) => [convId, u, lastSeq, lastSeq, now]));
  }
  g.memberCount += fresh.length;
  yield* run('UPDATE im_group SET member_count = ?, updated_at = ? WHERE group_id = ?', [g.memberCount, now, g.groupId]);
  return fresh;
}

/** Deletes member rows (group and conversation); returns the users actually removed. */
function* removeMembers(g: GroupRow, userIds: readonly number[], now: number): GroupOp<number[]> {
  const removed: number[] = [];
  const convId = groupConvId(g.groupId);
  for (const u of userIds) {
    const r = yield* run('DELETE FROM group_member WHERE group_id = ? AND user_id = ?', [g.groupId, u]);
    if (r.changes === 0) continue;
    yield* run('DELETE FROM conversation_member WHERE conv_id = ? AND user_id = ?', [convId, u]);
    removed.push(u);
  }
  if (removed.length > 0) {
    g.memberCount -= removed.length;
    yield* run('UPDATE im_group SET member_count = ?, updated_at = ? WHERE group_id = ?', [g.memberCount, now, g.groupId]);
  }
  return removed;
}

/** The events that change who is a member: their SYSTEM message moves the conversation's member_seq. */
const MEMBERSHIP_EVENTS: ReadonlySet<SystemEvent['event']> = new Set(['create', 'join', 'leave', 'kick', 'dismiss']);

/**
 * Appends a SYSTEM message (sender 0: no user can collide with its client id) to the group's
 * history. A membership change also sets member_seq to its seq: later appends read it under the
 * same row lock (AppendResult.memberSeq), so any instance can tell its cached member list is older.
 */
function* systemMessage(d: GroupDialect, groupId: number, ev: SystemEvent, now: number): GroupOp<StoredChat> {
  const convId = groupConvId(groupId);
  const seq = (yield* lockConv(d, convId)) + 1;
  const clientMsgId = `sys:${groupId}:${seq}`;
  const body = Buffer.from(JSON.stringify(ev));
  const r = yield* run(`INSERT INTO chat_message (conv_id, seq, sender_id, client_msg_id, recipient_id, group_id, msg_type,
    body, client_time, server_time) VALUES (?, ?, 0, ?, 0, ?, ?, ?, ?, ?)`, [convId, seq, clientMsgId, groupId, ChatKind.SYSTEM, body, now, now]);
  const memberSeq = MEMBERSHIP_EVENTS.has(ev.event) ? ', member_seq = ?' : '';
  yield* run(`UPDATE conversation SET last_seq = ?, last_msg_id = ?, last_sender_id = 0, last_time = ?${memberSeq} WHERE conv_id = ?`,
    memberSeq ? [seq, r.insertId, now, seq, convId] : [seq, r.insertId, now, convId]);
  return {
    serverMsgId: r.insertId, convId, seq, senderId: 0, clientMsgId, recipientId: 0, groupId, msgType: ChatKind.SYSTEM,
    body: new Uint8Array(body), clientTime: now, serverTime: now,
  };
}

function* finish(d: GroupDialect, g: GroupRow, ev: SystemEvent | null, added: number[], removed: number[], now: number,
  notify?: number[]): GroupOp<GroupChange> {
  const system = ev ? yield* systemMessage(d, g.groupId, ev, now) : null;
  const members = notify ?? (ev ? yield* allMemberIds(g.groupId) : []);
  return { group: g, added, removed, system, notify: members, applyId: 0 };
}

/** See GroupStore.create. */
export function* createGroup(d: GroupDialect, ownerId: number, name: string, memberIds: readonly number[], maxMembers: number, now: number): GroupOp<GroupChange> {
  const n = validateGroupName(name);
  const others = validateUserIds(memberIds).filter((u) => u !== ownerId);
  if (!Number.isSafeInteger(ownerId) || ownerId <= 0) throw bad('ownerId must be a positive integer');
  if (others.length + 1 > maxMembers) {
    throw new RequestError('GROUP_FULL', `${others.length + 1} members do not fit a group of at most ${maxMembers}`);
  }
  const r = yield* run(`INSERT INTO im_group (group_name, owner_id, max_members, member_count, dismissed, created_at, updated_at)
    VALUES (?, ?, ?, 0, 0, ?, ?)`, [n, ownerId, maxMembers, now, now]);
  const g: GroupRow = { groupId: r.insertId, name: n, ownerId, maxMembers, memberCount: 0, createdAt: now };
  yield* run(`${d.insertIgnore} INTO conversation (conv_id, conv_type, created_at) VALUES (?, 1, ?)`, [groupConvId(g.groupId), now]);
  yield* addMembers(d, g, [ownerId], GroupRole.OWNER, now);
  const added = [ownerId, ...(yield* addMembers(d, g, others, GroupRole.MEMBER, now))];
  return yield* finish(d, g, { event: 'create', by: ownerId, users: added, name: n }, added, [], now);
}

/** See GroupStore.rename. */
export function* renameGroup(d: GroupDialect, actorId: number, groupId: number, name: string, now: number): GroupOp<GroupChange> {
  const n = validateGroupName(name);
  const g = yield* lockGroup(d, groupId);
  yield* requireRole(groupId, actorId, GroupRole.ADMIN, 'rename it');
  if (g.name === n) return yield* finish(d, g, null, [], [], now);
  yield* run('UPDATE im_group SET group_name = ?, updated_at = ? WHERE group_id = ?', [n, now, groupId]);
  g.name = n;
  return yield* finish(d, g, { event: 'rename', by: actorId, users: [], name: n }, [], [], now);
}

/** See GroupStore.invite. */
export function* inviteMembers(d: GroupDialect, actorId: number, groupId: number, userIds: readonly number[], now: number): GroupOp<GroupChange> {
  const ids = validateUserIds(userIds);
  const g = yield* lockGroup(d, groupId);
  yield* requireRole(groupId, actorId, GroupRole.MEMBER, 'invite');
  const added = yield* addMembers(d, g, ids, GroupRole.MEMBER, now);
  return yield* finish(d, g, added.length ? { event: 'join', by: actorId, users: added } : null, added, [], now);
}

/** See GroupStore.leave. */
export function* leaveGroup(d: GroupDialect, userId: number, groupId: number, now: number): GroupOp<GroupChange> {
  const g = yield* lockGroup(d, groupId);
  const role = yield* requireRole(groupId, userId, GroupRole.MEMBER, 'leave');
  if (role === GroupRole.OWNER) throw notAllowed('the owner cannot leave: transfer the group or dismiss it first');
  const removed = yield* removeMembers(g, [userId], now);
  return yield* finish(d, g, { event: 'leave', by: userId, users: removed }, [], removed, now);
}

/** See GroupStore.kick. */
export function* kickMembers(d: GroupDialect, actorId: number, groupId: number, userIds: readonly number[], now: number): GroupOp<GroupChange> {
  const ids = validateUserIds(userIds);
  const g = yield* lockGroup(d, groupId);
  const mine = yield* requireRole(groupId, actorId, GroupRole.ADMIN, 'remove members');
  const targets: number[] = [];
  for (const u of ids) {
    if (u === actorId) throw notAllowed('you cannot remove yourself: leave instead');
    const theirs = yield* roleIn(groupId, u);
    if (theirs === null) continue;
    if (theirs >= mine) throw notAllowed(`user ${u} has a role at least as high as yours`);
    targets.push(u);
  }
  const removed = yield* removeMembers(g, targets, now);
  return yield* finish(d, g, removed.length ? { event: 'kick', by: actorId, users: removed } : null, [], removed, now);
}

/** See GroupStore.dismiss. */
export function* dismissGroup(d: GroupDialect, actorId: number, groupId: number, now: number): GroupOp<GroupChange> {
  const g = yield* lockGroup(d, groupId);
  yield* requireRole(groupId, actorId, GroupRole.OWNER, 'dismiss it');
  const before = yield* allMemberIds(groupId);
  // The notice goes into the history first, while the members can still read it.
  const system = yield* systemMessage(d, groupId, { event: 'dismiss', by: actorId, users: [] }, now);
  yield* run('DELETE FROM group_member WHERE group_id = ?', [groupId]);
  yield* run('DELETE FROM conversation_member WHERE conv_id = ?', [groupConvId(groupId)]);
  yield* run('UPDATE im_group SET dismissed = 1, member_count = 0, updated_at = ? WHERE group_id = ?', [now, groupId]);
  g.memberCount = 0;
  return { group: g, added: [], removed: before, system, notify: before, applyId: 0 };
}

/** See GroupStore.setRole. */
export function* setMemberRole(d: GroupDialect, actorId: number, groupId: number, userId: number, role: number, now: number): GroupOp<GroupChange> {
  if (role !== GroupRole.ADMIN && role !== GroupRole.MEMBER) throw bad('role must be ADMIN or MEMBER (use TRANSFER for OWNER)');
  const g = yield* lockGroup(d, groupId);
  yield* requireRole(groupId, actorId, GroupRole.OWNER, 'change roles');
  if (userId === actorId) throw notAllowed('the owner keeps the owner role: transfer the group instead');
  const theirs = yield* roleIn(groupId, userId);
  if (theirs === null) throw new RequestError('NOT_A_MEMBER', `user ${userId} is not a member of group ${groupId}`);
  if (theirs === role) return yield* finish(d, g, null, [], [], now);
  yield* run('UPDATE group_member SET member_role = ? WHERE group_id = ? AND user_id = ?', [role, groupId, userId]);
  return yield* finish(d, g, { event: 'role', by: actorId, users: [userId], role }, [], [], now);
}

/** See GroupStore.transfer. */
export function* transferGroup(d: GroupDialect, actorId: number, groupId: number, userId: number, now: number): GroupOp<GroupChange> {
  const g = yield* lockGroup(d, groupId);
  yield* requireRole(groupId, actorId, GroupRole.OWNER, 'transfer it');
  if (userId === actorId) throw bad('you already own the group');
  if ((yield* roleIn(groupId, userId)) === null) throw new RequestError('NOT_A_MEMBER', `user ${userId} is not a member of group ${groupId}`);
  yield* run('UPDATE group_member SET member_role = ? WHERE group_id = ? AND user_id = ?', [GroupRole.OWNER, groupId, userId]);
  yield* run('UPDATE group_member SET member_role = ? WHERE group_id = ? AND user_id = ?', [GroupRole.ADMIN, groupId, actorId]);
  yield* run('UPDATE im_group SET owner_id = ?, updated_at = ? WHERE group_id = ?', [userId, now, groupId]);
  g.ownerId = userId;
  return yield* finish(d, g, { event: 'transfer', by: actorId, users: [userId] }, [], [], now);
}

/** See GroupStore.setMaxMembers. */
export function* setMaxMembers(d: GroupDialect, actorId: number, groupId: number, max: number, cap: number, now: number): GroupOp<GroupChange> {
  const g = yield* lockGroup(d, groupId);
  yield* requireRole(groupId, actorId, GroupRole.OWNER, 'change its size limit');
  if (!Number.isSafeInteger(max) || max < g.memberCount || max > cap || max < 1) {
    throw bad(`maxMembers must be between the member count (${g.memberCount}) and ${cap}`);
  }
  yield* run('UPDATE im_group SET max_members = ?, updated_at = ? WHERE group_id = ?', [max, now, groupId]);
  g.maxMembers = max;
  return yield* finish(d, g, null, [], [], now);
}

/** See GroupStore.apply. */
export function* applyToGroup(d: GroupDialect, userId: number, groupId: number, message: string, now: number): GroupOp<GroupChange> {
  if (typeof message !== 'string' || message.length > 200) throw bad('the application note must be at most 200 characters');
  const g = yield* lockGroup(d, groupId);
  if ((yield* roleIn(groupId, userId)) !== null) throw new RequestError('ALREADY_MEMBER', `you are already a member of group ${groupId}`);
  const pending = yield* all('SELECT apply_id FROM friend_apply WHERE applicant_id = ? AND target_id = ? AND apply_type = ? AND apply_status = 0',
    [userId, groupId, APPLY_JOIN_GROUP]);
  if (pending.length > 0) throw new RequestError('APPLY_PENDING', `you already applied to group ${groupId}`);
  const r = yield* run(`INSERT INTO friend_apply (applicant_id, target_id, apply_type, apply_status, apply_message, created_at, updated_at)
    VALUES (?, ?, ?, 0, ?, ?, ?)`, [userId, groupId, APPLY_JOIN_GROUP, message, now, now]);
  const notices = yield* noticeDeciders(groupId, userId, r.insertId, message, now);
  return { group: g, added: [], removed: [], system: null, notify: [], applyId: r.insertId, notices };
}

/** Stores a GROUP_APPLY notice for the owner and each admin: they decide applications. */
function* noticeDeciders(groupId: number, applicantId: number, applyId: number, message: string, now: number): GroupOp<StoredNotice[]> {
  const deciders = yield* all('SELECT user_id FROM group_member WHERE group_id = ? AND member_role >= ? ORDER BY user_id',
    [groupId, GroupRole.ADMIN]);
  const named = yield* all('SELECT user_name FROM user_account WHERE user_id = ?', [applicantId]);
  const fromUserName = named.length ? String(named[0]!.user_name) : '';
  const convId = groupConvId(groupId);
  const out: StoredNotice[] = [];
  for (const row of deciders) {
    const userId = Number(row.user_id);
    const n = yield* run(INSERT_NOTICE_SQL, [userId, NoticeKind.GROUP_APPLY, applicantId, applyId, convId, message, now]);
    out.push({
      noticeId: n.insertId, userId, kind: NoticeKind.GROUP_APPLY, fromUserId: applicantId, fromUserName, refId: applyId, convId,
      body: message, createdAt: now,
    });
  }
  return out;
}

/** See GroupStore.decide. */
export function* decideApplication(d: GroupDialect, actorId: number, groupId: number, applicantId: number, approve: boolean, now: number): GroupOp<GroupChange> {
  const g = yield* lockGroup(d, groupId);
  yield* requireRole(groupId, actorId, GroupRole.ADMIN, 'decide applications');
  const rows = yield* all('SELECT apply_id FROM friend_apply WHERE applicant_id = ? AND target_id = ? AND apply_type = ? AND apply_status = 0',
    [applicantId, groupId, APPLY_JOIN_GROUP]);
  if (rows.length === 0) throw new RequestError('NO_APPLICATION', `user ${applicantId} has no pending application to group ${groupId}`);
  const applyId = Number(rows[0]!.apply_id);
  if (approve) {
    const added = yield* addMembers(d, g, [applicantId], GroupRole.MEMBER, now); // GROUP_FULL rolls back the decision too
    yield* run('UPDATE friend_apply SET apply_status = 1, updated_at = ? WHERE apply_id = ?', [now, applyId]);
    const c = yield* finish(d, g, added.length ? { event: 'join', by: actorId, users: added } : null, added, [], now);
    return { ...c, applyId };
  }
  yield* run('UPDATE friend_apply SET apply_status = 2, updated_at = ? WHERE apply_id = ?', [now, applyId]);
  return { group: g, added: [], removed: [], system: null, notify: [], applyId };
}

/** Maps a friend_apply row of a join application. */
export function rowToApplication(r: Row): GroupApplication {
  return {
    applyId: Number(r.apply_id), groupId: Number(r.target_id), applicantId: Number(r.applicant_id),
    message: String(r.apply_message), createdAt: Number(r.created_at),
  };
}

/** The read-side SQL shared by both backends. */
export const GROUP_READS = {
  get: `SELECT ${GROUP_COLS} FROM im_group WHERE group_id = ? AND dismissed = 0`,
  role: 'SELECT member_role FROM group_member WHERE group_id = ? AND user_id = ?',
  memberIds: 'SELECT user_id FROM group_member WHERE group_id = ? ORDER BY user_id',
  /** values: groupId, convId. Member ids and member_seq in one statement, so one snapshot (no row: unknown group). */
  memberList: `SELECT c.member_seq, gm.user_id FROM conversation c LEFT JOIN group_member gm ON gm.group_id = ?
    WHERE c.conv_id = ? ORDER BY gm.user_id`,
  /** values: convId, groupId, afterId, limit */
  members: `${MEMBER_SELECT} WHERE gm.group_id = ? AND gm.user_id > ? ORDER BY gm.user_id LIMIT ?`,
  /** values: convId, seq */
  readCount: 'SELECT COUNT(*) AS n FROM conversation_member WHERE conv_id = ? AND read_seq >= ?',
  /** values: convId, groupId, seq, limit */
  readers: `${MEMBER_SELECT} WHERE gm.group_id = ? AND cm.read_seq >= ? ORDER BY gm.user_id LIMIT ?`,
  applications: `SELECT apply_id, target_id, applicant_id, apply_message, created_at FROM friend_apply
    WHERE target_id = ? AND apply_type = ${APPLY_JOIN_GROUP} AND apply_status = 0 ORDER BY apply_id LIMIT ?`,
} as const;
