/**
 * The group port (issue 5). A group is a row in im_group plus one group_member row per member
 * (with its role), and, for its conversation "g:<groupId>", one conversation_member row per
 * member: the group store owns those rows (created on join, deleted on leave/kick/dismiss), so
 * unread = last_seq − read_seq, the conversation list and catch-up by seq work exactly as for
 * 1:1 (DESIGN.md "A group message is stored once"). Membership changes write a SYSTEM chat
 * (sender 0, body JSON, see {@link SystemEvent}) into the group's history in the same transaction.
 */
import type { StoredNotice } from '../friends/ports';
import type { StoredChat } from '../ports';

/** Member roles (GroupMember.role on the wire). */
export const GroupRole = { MEMBER: 0, ADMIN: 1, OWNER: 2 } as const;

/** Default and largest allowed group size (a server option can lower it). */
export const DEFAULT_MAX_GROUP_MEMBERS = 10_000;
/** Longest group name, in characters (the column is VARCHAR(64)). */
export const MAX_GROUP_NAME_CHARS = 64;

/** A group as stored. */
export interface GroupRow {
  groupId: number;
  name: string;
  ownerId: number;
  maxMembers: number;
  memberCount: number;
  createdAt: number;
}

/** One member of a group, with the read cursor of the group conversation. */
export interface GroupMemberRow {
  userId: number;
  userName: string;
  role: number;
  joinedAt: number;
  readSeq: number;
}

/** Every member of a group, with the member_seq the list is current at. */
export interface GroupMemberList {
  /** Ascending user ids. */
  ids: number[];
  /**
   * The group conversation's member_seq in the same snapshot: the seq of the latest membership
   * change (join/leave/kick/dismiss/create SYSTEM message) the list includes; 0 for none.
   */
  memberSeq: number;
}

/** The body of a SYSTEM message, as JSON. */
export interface SystemEvent {
  event: 'create' | 'rename' | 'join' | 'leave' | 'kick' | 'dismiss' | 'role' | 'transfer';
  /** Who did it (0 for none). */
  by: number;
  /** The users it concerns. */
  users: number[];
  /** New name (create, rename) or role (role). */
  name?: string;
  role?: number;
}

/** The outcome of a group operation. */
export interface GroupChange {
  group: GroupRow;
  /** Users that became members. */
  added: number[];
  /** Users that stopped being members. */
  removed: number[];
  /** The SYSTEM message written to the history, or null (nothing changed). */
  system: StoredChat | null;
  /** Who should get `system` pushed: the members after the change (dismiss: before it). */
  notify: number[];
  /** Join applications: the application id. */
  applyId: number;
  /**
   * Notices stored in the same transaction, to push now (they are also re-sent at login until
   * acked): a join application gives the owner and every admin a GROUP_APPLY notice.
   */
  notices?: StoredNotice[];
}

/** A pending join application (friend_apply with apply_type 1, target_id = the group). */
export interface GroupApplication {
  applyId: number;
  groupId: number;
  applicantId: number;
  message: string;
  createdAt: number;
}

/** Groups, their members and roles. Every write is one transaction holding the group's lock. */
export interface GroupStore {
  /** Creates a group owned by `ownerId` with the given other members (unknown users are the caller's check). */
  create(ownerId: number, name: string, memberIds: readonly number[], maxMembers: number): Promise<GroupChange>;
  /** Renames (owner or admin). */
  rename(actorId: number, groupId: number, name: string): Promise<GroupChange>;
  /** Adds members (any member may invite); GROUP_FULL past maxMembers, existing members are skipped. */
  invite(actorId: number, groupId: number, userIds: readonly number[]): Promise<GroupChange>;
  /** Leaves (the owner must transfer or dismiss first: NOT_ALLOWED). */
  leave(userId: number, groupId: number): Promise<GroupChange>;
  /** Removes members (owner: anyone else; admin: plain members). */
  kick(actorId: number, groupId: number, userIds: readonly number[]): Promise<GroupChange>;
  /** Deletes the group's membership (owner only); the history stays. */
  dismiss(actorId: number, groupId: number): Promise<GroupChange>;
  /** Makes a member ADMIN or MEMBER (owner only). */
  setRole(actorId: number, groupId: number, userId: number, role: number): Promise<GroupChange>;
  /** Hands ownership to a member (owner only); the old owner becomes an admin. */
  transfer(actorId: number, groupId: number, userId: number): Promise<GroupChange>;
  /** Changes the size limit (owner only), between the member count and `cap`. */
  setMaxMembers(actorId: number, groupId: number, maxMembers: number, cap: number): Promise<GroupChange>;
  /** Files a join application (ALREADY_MEMBER, APPLY_PENDING). */
  apply(userId: number, groupId: number, message: string): Promise<GroupChange>;
  /** Approves or rejects a pending application of `applicantId` (owner or admin). */
  decide(actorId: number, groupId: number, applicantId: number, approve: boolean): Promise<GroupChange>;
  /** Pending applications of a group, oldest first. */
  applications(groupId: number, limit: number): Promise<GroupApplication[]>;
  /** The group, or null when unknown or dismissed. */
  get(groupId: number): Promise<GroupRow | null>;
  /** The member's role, or null when not a member. */
  roleOf(groupId: number, userId: number): Promise<number | null>;
  /** Every member's user id, ascending. */
  memberIds(groupId: number): Promise<number[]>;
  /** Every member's user id with the member_seq they are current at, read in one snapshot. */
  memberList(groupId: number): Promise<GroupMemberList>;
  /** Members with userId > afterId, ascending, at most `limit`. */
  members(groupId: number, afterId: number, limit: number): Promise<GroupMemberRow[]>;
  /** Members whose read cursor is ≥ seq (group read receipts), ascending by user id, at most `limit`. */
  readers(groupId: number, seq: number, limit: number): Promise<{ count: number; members: GroupMemberRow[] }>;
}
