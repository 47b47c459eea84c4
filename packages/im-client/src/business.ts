/**
 * Typed helpers for the business requests of issue 4 (docs/protocol.md §9): friends,
 * conversation lists, history and read marks. Each is one {@link ImClient.request}: it resolves
 * with the typed response, or rejects with a ServerError carrying the stable code
 * (UNKNOWN_USER, NOT_FRIENDS, ALREADY_FRIENDS, APPLY_PENDING, NO_APPLICATION, BLOCKED,
 * NOT_A_MEMBER, BAD_SEQ, PAGE_TOO_LARGE, ...). Pushes arrive as the client's 'notification' event.
 */
import {
  FriendListKind, FriendOp, MessageType,
  type ConvList, type FriendList, type FriendResponse, type HistoryResponse, type ReadResponse,
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

  private friendOp(op: number, user: UserArg, message = ''): Promise<FriendResponse> {
    return this.client.request<typeof MessageType.FRIEND_REQUEST, FriendResponse>(MessageType.FRIEND_REQUEST,
      { op, ...userRef(user), message });
  }

  private list(kind: number, after: number, limit: number): Promise<FriendList> {
    return this.client.request<typeof MessageType.FRIEND_LIST_REQUEST, FriendList>(MessageType.FRIEND_LIST_REQUEST, { kind, after, limit });
  }
}
