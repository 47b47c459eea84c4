/**
 * The friend and notice ports (issue 4): what a backend must do atomically, and the row shapes
 * the service and the server see. The rules themselves are backend-independent (./plan.ts); the
 * SQLite and MySQL stores only read a pair's state under its lock and apply the plan.
 */

/** friend_apply.apply_status, the seed's values (seed.md §5). */
export const APPLY_STATUS = { PENDING: 0, ACCEPTED: 1, REJECTED: 2 } as const;

/** user_notice.kind: the wire's Notification.NoticeKind values of the stored kinds. */
export const NOTICE_KIND = {
  FRIEND_APPLY: 1, FRIEND_ACCEPTED: 2, FRIEND_REJECTED: 3, FRIEND_REMOVED: 4,
} as const;

/** Longest application note, in UTF-16 code units (the column is VARCHAR(200)). */
export const MAX_APPLY_MESSAGE_CHARS = 200;

/** One friend application with both users' names ("" where there is no account). */
export interface Application {
  applyId: number;
  applicantId: number;
  applicantName: string;
  targetId: number;
  targetName: string;
  /** {@link APPLY_STATUS}. */
  status: number;
  message: string;
  createdAt: number;
  /** When it was decided; equal to createdAt while pending. */
  updatedAt: number;
}

/** A friend or a blocked user, with the time the relation started. */
export interface UserEntry {
  userId: number;
  userName: string;
  since: number;
}

/** A stored notification, waiting for its recipient's ack. */
export interface StoredNotice {
  noticeId: number;
  /** The recipient. */
  userId: number;
  /** {@link NOTICE_KIND} (groups may add kinds). */
  kind: number;
  fromUserId: number;
  fromUserName: string;
  /** The application id for friend notices. */
  refId: number;
  convId: string;
  body: string;
  createdAt: number;
}

/** A notice to store (NoticeStore.add). */
export type NewNotice = Omit<StoredNotice, 'noticeId' | 'fromUserName' | 'createdAt'>;

/** What a friend operation did. */
export type FriendOutcome = 'applied' | 'accepted' | 'rejected' | 'removed' | 'blocked' | 'unblocked' | 'unchanged';

/** The result of one atomic friend operation. */
export interface FriendChange {
  outcome: FriendOutcome;
  /** The application applied for, accepted or rejected (0 if none). */
  applyId: number;
  /** Notices written in the same transaction: push them now (they are also kept until acked). */
  notices: StoredNotice[];
  /** The other user's name ("" without an account). */
  peerName: string;
}

/** How two users relate, as the chat path needs it. */
export interface Relation {
  friends: boolean;
  /** `a` blocked `b` (relation(a, b)). */
  aBlockedB: boolean;
  /** `b` blocked `a`. */
  bBlockedA: boolean;
}

/**
 * Friendships, applications and blocks. Every mutating call is one transaction that first locks
 * the pair (friend_pair), reads its state, decides with ./plan.ts and writes, so concurrent calls
 * on one pair, on any instance, run one after the other. Refusals are RequestErrors with stable
 * codes (BAD_REQUEST, BLOCKED, ALREADY_FRIENDS, APPLY_PENDING, NO_APPLICATION, NOT_FRIENDS).
 * User existence is the caller's check: the store does not require accounts (--auth open).
 */
export interface FriendStore {
  /** `applicantId` asks `targetId`; a pending reverse application is accepted instead. */
  apply(applicantId: number, targetId: number, message: string): Promise<FriendChange>;
  /** `deciderId` accepts or rejects the pending application of `applicantId`. */
  decide(deciderId: number, applicantId: number, accept: boolean): Promise<FriendChange>;
  /** Ends a friendship, both directions; NOT_FRIENDS if there is none. */
  remove(userId: number, friendId: number): Promise<FriendChange>;
  /** Blocks: ends the friendship and rejects pending applications both ways. Idempotent. */
  block(userId: number, blockedId: number): Promise<FriendChange>;
  /** Lifts a block. Idempotent ("unchanged" when there was none). */
  unblock(userId: number, blockedId: number): Promise<FriendChange>;
  /** Friendship and blocks between two users, in one query. */
  relation(a: number, b: number): Promise<Relation>;
  /** Friends with user id > afterId, ascending, at most `limit`. */
  listFriends(userId: number, afterId: number, limit: number): Promise<UserEntry[]>;
  /** Users blocked by `userId` with id > afterId, ascending, at most `limit`. */
  listBlocked(userId: number, afterId: number, limit: number): Promise<UserEntry[]>;
  /**
   * Applications received by (or sent by) `userId`, any status, with applyId < beforeId
   * (0 = from the newest), newest first, at most `limit`.
   */
  listApplications(userId: number, direction: 'received' | 'sent', beforeId: number, limit: number): Promise<Application[]>;
}

/**
 * Stored notifications (user_notice). Each user keeps at most the store's maxNoticesPerUser:
 * every transaction that inserts notices, here or in a friend or group operation, deletes the
 * oldest of each recipient beyond it (./notice-bound.ts).
 */
export interface NoticeStore {
  /**
   * Stores notices outside a friend transaction (e.g. group events); returns them with ids. If
   * one call gives a user more than the bound, its oldest are pruned at once (though returned).
   */
  add(notices: readonly NewNotice[]): Promise<StoredNotice[]>;
  /** The user's unacked notices, oldest first, at most `limit`. */
  pending(userId: number, limit: number): Promise<StoredNotice[]>;
  /** Deletes one of the user's notices; false if it was not there (or not theirs). */
  ack(userId: number, noticeId: number): Promise<boolean>;
}
