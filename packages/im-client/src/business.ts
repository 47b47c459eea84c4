/**
 * Typed helpers for the business requests of issue 4 (docs/protocol.md §9): friends,
 * conversation lists, history and read marks. Each is one {@link ImClient.request}: it resolves
 * with the typed response, or rejects with a ServerError carrying the stable code
 * (UNKNOWN_USER, NOT_FRIENDS, ALREADY_FRIENDS, APPLY_PENDING, NO_APPLICATION, BLOCKED,
 * NOT_A_MEMBER, BAD_SEQ, PAGE_TOO_LARGE, ...). Pushes arrive as the client's 'notification' event.
 */
import {
  FriendListKind, FriendOp, GroupOp, MessageType,
  type ConvList, type FriendList, type FriendResponse, type GroupMembers, type GroupReadResponse, type GroupRequest,
  type GroupResponse, type HistoryResponse, type ReadResponse,
} from '@hxim/im-common';
import type { ImClient } from './client';

/** A user given by id (a number, or a string of digits) or by name. */
export type UserArg = number | string;

/** The FriendRequest fields naming `user`. */
export function userRef(user: UserArg): { userId: number; userName: string } {
  if (typeof user === 'number') return { userId: user, userName: '' };
  return /^\d{1,16}$/.test(user) ? { userId: Number(user), userName: '' } : { userId: 0, userName: user };
}

/** The business requests, over one client. */
export class BusinessApi {
  constructor(private readonly client: ImClient) {}

  /** Asks `user` to be friends (accepts their request instead if they already asked you). */
  apply(user: UserArg, message = ''): Promise<FriendResponse> {
    return this.friendOp(FriendOp.APPLY, user, message);
  }

  /** Accepts `user`'s pending friend request. */
  accept(user: UserArg): Promise<FriendResponse> {
    return this.friendOp(FriendOp.ACCEPT, user);
  }

  /** Rejects `user`'s pending friend request. */
  reject(user: UserArg): Promise<FriendResponse> {
    return this.friendOp(FriendOp.REJECT, user);
  }

  /** Ends the friendship with `user`. */
  remove(user: UserArg): Promise<FriendResponse> {
    return this.friendOp(FriendOp.REMOVE, user);
  }

  /** Blocks `user` (ends the friendship; neither can message or apply to the other). */
  block(user: UserArg): Promise<FriendResponse> {
    return this.friendOp(FriendOp.BLOCK, user);
  }

  /** Lifts a block of `user`. */
  unblock(user: UserArg): Promise<FriendResponse> {
    return this.friendOp(FriendOp.UNBLOCK, user);
  }

  /** One page of friends (by user id; `after` = the previous page's `next`). */
  friends(after = 0, limit = 0): Promise<FriendList> {
    return this.list(FriendListKind.FRIENDS, after, limit);
  }

  /** One page of the users you blocked. */
  blocked(after = 0, limit = 0): Promise<FriendList> {
    return this.list(FriendListKind.BLOCKED, after, limit);
  }

  /** One page of friend requests received (or sent), newest first, any status. */
  applications(direction: 'received' | 'sent', before = 0, limit = 0): Promise<FriendList> {
    return this.list(direction === 'received' ? FriendListKind.RECEIVED : FriendListKind.SENT, before, limit);
  }

  /** One page of conversations, most recently active first, with unread counts. */
  conversations(cursor = '', limit = 0): Promise<ConvList> {
    return this.client.request<typeof MessageType.CONV_LIST_REQUEST, ConvList>(MessageType.CONV_LIST_REQUEST, { cursor, limit });
  }

  /** Messages before `beforeSeq` (0 = the newest), oldest first. */
  history(convId: string, beforeSeq = 0, limit = 0): Promise<HistoryResponse> {
    return this.client.request<typeof MessageType.HISTORY_REQUEST, HistoryResponse>(MessageType.HISTORY_REQUEST,
      { convId, beforeSeq, limit });
  }

  /** Marks `convId` read up to `seq` (0 = everything so far). */
  markRead(convId: string, seq = 0): Promise<ReadResponse> {
    return this.client.request<typeof MessageType.READ_REQUEST, ReadResponse>(MessageType.READ_REQUEST, { convId, seq });
  }

  /** Creates a group with you as the owner and `members` (user ids) in it. */
  createGroup(name: string, members: readonly number[] = [], maxMembers = 0): Promise<GroupResponse> {
    return this.groupOp({ op: GroupOp.CREATE, name, members: ids(members), maxMembers });
  }

  /** Any group operation (docs/protocol.md §10.1): INVITE, KICK (members), LEAVE, RENAME (name), ... */
  groupOp(req: Partial<GroupRequest> & { op: number }): Promise<GroupResponse> {
    return this.client.request<typeof MessageType.GROUP_REQUEST, GroupResponse>(MessageType.GROUP_REQUEST, req);
  }

  /** One page of a group's members, by user id (`after` = the previous page's `next`). */
  groupMembers(groupId: number, after = 0, limit = 0): Promise<GroupMembers> {
    return this.client.request<typeof MessageType.GROUP_MEMBERS_REQUEST, GroupMembers>(MessageType.GROUP_MEMBERS_REQUEST,
      { groupId, after, limit });
  }

  /** Group read receipt: how many members (and which) have read up to `seq`. */
  groupReaders(groupId: number, seq: number, limit = 0): Promise<GroupReadResponse> {
    return this.client.request<typeof MessageType.GROUP_READ_REQUEST, GroupReadResponse>(MessageType.GROUP_READ_REQUEST,
      { groupId, seq, limit });
  }

  private friendOp(op: number, user: UserArg, message = ''): Promise<FriendResponse> {
    return this.client.request<typeof MessageType.FRIEND_REQUEST, FriendResponse>(MessageType.FRIEND_REQUEST,
      { op, ...userRef(user), message });
  }

  private list(kind: number, after: number, limit: number): Promise<FriendList> {
    return this.client.request<typeof MessageType.FRIEND_LIST_REQUEST, FriendList>(MessageType.FRIEND_LIST_REQUEST, { kind, after, limit });
  }
}

/** User ids as GroupMember entries (only userId is read by the server). */
export function ids(userIds: readonly number[]): Array<{ userId: number; userName: string; role: number; joinedAt: number; readSeq: number }> {
  return userIds.map((userId) => ({ userId, userName: '', role: 0, joinedAt: 0, readSeq: 0 }));
}
