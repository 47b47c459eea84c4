/**
 * FriendRequest (type 20) and FriendListRequest (type 22): apply, accept, reject, remove,
 * block, unblock, and the lists (docs/protocol.md §9.1-9.2). Every change is one atomic store
 * operation (business friends/); its notices are pushed to the other user after the answer.
 */
import {
  FriendListKind, FriendOp, FriendResult, MessageType, RequestError,
  type FriendApplication, type FriendInfo, type FriendListRequest, type FriendRequest,
} from '@hxim/im-common';
import type { Application, FriendChange, FriendOutcome, UserEntry } from '@hxim/business';
import type { Connection } from '../connection';
import type { ServerContext } from '../context';
import { defineHandler } from './handler';
import { pushNotices } from './notify';

const RESULTS: Readonly<Record<FriendOutcome, number>> = {
  applied: FriendResult.APPLIED, accepted: FriendResult.ACCEPTED, rejected: FriendResult.REJECTED,
  removed: FriendResult.REMOVED, blocked: FriendResult.BLOCKED, unblocked: FriendResult.UNBLOCKED,
  unchanged: FriendResult.UNCHANGED,
};

/** Runs one friend operation for `me` on `other`. */
function run(ctx: ServerContext, op: number, me: number, other: number, message: string): Promise<FriendChange> {
  const f = ctx.friends;
  switch (op) {
    case FriendOp.APPLY: return f.apply(me, other, message);
    case FriendOp.ACCEPT: return f.accept(me, other);
    case FriendOp.REJECT: return f.reject(me, other);
    case FriendOp.REMOVE: return f.remove(me, other);
    case FriendOp.BLOCK: return f.block(me, other);
    case FriendOp.UNBLOCK: return f.unblock(me, other);
    default: throw new RequestError('BAD_REQUEST', 'FriendRequest.op must be APPLY, ACCEPT, REJECT, REMOVE, BLOCK or UNBLOCK');
  }
}

async function handleFriend(ctx: ServerContext, conn: Connection, msg: FriendRequest): Promise<void> {
  if (msg.op <= FriendOp.OP_NONE || msg.op > FriendOp.UNBLOCK) {
    throw new RequestError('BAD_REQUEST', 'FriendRequest.op must be APPLY, ACCEPT, REJECT, REMOVE, BLOCK or UNBLOCK');
  }
  conn.beginWork();
  try {
    const other = await ctx.friends.resolveUser({ userId: msg.userId, userName: msg.userName });
    const change = await run(ctx, msg.op, conn.userId, other, msg.message);
    conn.send(MessageType.FRIEND_RESPONSE, {
      requestId: msg.requestId, op: msg.op, result: RESULTS[change.outcome], applyId: change.applyId,
      user: { userId: other, userName: change.peerName, since: 0, online: false },
    });
    pushNotices(ctx, change.notices);
  } finally {
    conn.endWork();
  }
}

/** Which of `ids` are logged in somewhere; empty when presence cannot be asked. */
async function onlineOf(ctx: ServerContext, ids: number[]): Promise<Set<number>> {
  if (ids.length === 0) return new Set();
  try {
    const locs = await ctx.presence.lookup(ids);
    return new Set(ids.filter((id) => (locs.get(id)?.length ?? 0) > 0));
  } catch {
    return new Set(); // presence is down: the list is still useful without the flags
  }
}

function toInfo(u: UserEntry, online: Set<number>): FriendInfo {
  return { userId: u.userId, userName: u.userName, since: u.since, online: online.has(u.userId) };
}

function toApplication(a: Application): FriendApplication {
  return { ...a };
}

async function handleList(ctx: ServerContext, conn: Connection, msg: FriendListRequest): Promise<void> {
  const me = conn.userId;
  const reply = { requestId: msg.requestId, kind: msg.kind };
  conn.beginWork();
  try {
    switch (msg.kind) {
      case FriendListKind.FRIENDS: case FriendListKind.BLOCKED: {
        const p = msg.kind === FriendListKind.FRIENDS
          ? await ctx.friends.friends(me, msg.after, msg.limit) : await ctx.friends.blocked(me, msg.after, msg.limit);
        const online = msg.kind === FriendListKind.FRIENDS ? await onlineOf(ctx, p.items.map((u) => u.userId)) : new Set<number>();
        conn.send(MessageType.FRIEND_LIST, { ...reply, friends: p.items.map((u) => toInfo(u, online)), hasMore: p.hasMore, next: p.next });
        return;
      }
      case FriendListKind.RECEIVED: case FriendListKind.SENT: {
        const dir = msg.kind === FriendListKind.RECEIVED ? 'received' : 'sent';
        const p = await ctx.friends.applications(me, dir, msg.after, msg.limit);
        conn.send(MessageType.FRIEND_LIST, { ...reply, applications: p.items.map(toApplication), hasMore: p.hasMore, next: p.next });
        return;
      }
      default:
        throw new RequestError('BAD_REQUEST', 'FriendListRequest.kind must be FRIENDS, RECEIVED, SENT or BLOCKED');
    }
  } finally {
    conn.endWork();
  }
}

/** FriendRequest handler. */
export const friendHandler = defineHandler({ type: MessageType.FRIEND_REQUEST, beforeLogin: false, handle: handleFriend });

/** FriendListRequest handler. */
export const friendListHandler = defineHandler({ type: MessageType.FRIEND_LIST_REQUEST, beforeLogin: false, handle: handleList });
