/**
 * GroupRequest (32), GroupMembersRequest (34) and GroupReadRequest (36) (docs/protocol.md §10).
 * Every change is one store transaction (groups/ops.ts in @hxim/business) that also writes a
 * SYSTEM message into the group's history; that message is then pushed like any group chat:
 * encoded once, to every member online here and one envelope per other instance.
 */
import {
  GroupOp, MessageType, RequestError,
  type GroupInfo, type GroupMember, type GroupMembersRequest, type GroupReadRequest, type GroupRequest,
} from '@hxim/im-common';
import type { GroupChange, GroupMemberRow, GroupRow } from '@hxim/business';
import type { Connection } from '../connection';
import type { ServerContext } from '../context';
import { chatFrame } from '../chat-frame';
import { asWork, defineHandler } from './handler';
import { pushNotices } from './notify';

/** The wire form of a group row. */
export function groupInfo(g: GroupRow, myRole: number): GroupInfo {
  return {
    groupId: g.groupId, name: g.name, ownerId: g.ownerId, memberCount: g.memberCount, maxMembers: g.maxMembers,
    createdAt: g.createdAt, myRole,
  };
}

function member(m: GroupMemberRow): GroupMember {
  return { userId: m.userId, userName: m.userName, role: m.role, joinedAt: m.joinedAt, readSeq: m.readSeq };
}

function idOnly(userId: number): GroupMember {
  return { userId, userName: '', role: 0, joinedAt: 0, readSeq: 0 };
}

async function requireUsers(ctx: ServerContext, ids: readonly number[]): Promise<void> {
  const unknown = await ctx.users.unknown(ids);
  if (unknown.length > 0) throw new RequestError('UNKNOWN_USER', `unknown user id(s): ${unknown.slice(0, 10).join(', ')}`);
}

/**
 * Pushes a change's SYSTEM message to the members (and to the users it removed: their last
 * frame of the group), the same bytes to everyone.
 */
export function pushSystem(ctx: ServerContext, c: GroupChange): void {
  if (!c.system) return;
  const to = c.removed.length ? [...c.notify, ...c.removed.filter((u) => !c.notify.includes(u))] : c.notify;
  ctx.router.deliver(chatFrame(c.system), to, '', c.system.convId, c.system.seq);
}

async function apply(ctx: ServerContext, me: number, msg: GroupRequest): Promise<GroupChange> {
  const ids = msg.members.map((m) => m.userId);
  const g = ctx.groups;
  switch (msg.op) {
    case GroupOp.CREATE:
      await requireUsers(ctx, ids);
      return g.create(me, msg.name, ids, msg.maxMembers);
    case GroupOp.RENAME: return g.rename(me, msg.groupId, msg.name);
    case GroupOp.INVITE:
      if (ids.length === 0) throw new RequestError('BAD_REQUEST', 'INVITE needs members');
      await requireUsers(ctx, ids);
      return g.invite(me, msg.groupId, ids);
    case GroupOp.LEAVE: return g.leave(me, msg.groupId);
    case GroupOp.KICK:
      if (ids.length === 0 && msg.userId > 0) ids.push(msg.userId);
      if (ids.length === 0) throw new RequestError('BAD_REQUEST', 'KICK needs members (or userId)');
      return g.kick(me, msg.groupId, ids);
    case GroupOp.DISMISS: return g.dismiss(me, msg.groupId);
    case GroupOp.SET_ROLE: return g.setRole(me, msg.groupId, msg.userId, msg.role);
    case GroupOp.TRANSFER: return g.transfer(me, msg.groupId, msg.userId);
    case GroupOp.SET_MAX: return g.setMaxMembers(me, msg.groupId, msg.maxMembers);
    case GroupOp.APPLY: return g.apply(me, msg.groupId, msg.message);
    case GroupOp.APPROVE: return g.decide(me, msg.groupId, msg.userId, true);
    case GroupOp.REJECT: return g.decide(me, msg.groupId, msg.userId, false);
    default: throw new RequestError('BAD_REQUEST', `GroupRequest.op ${msg.op} is not a known operation`);
  }
}

function handleGroup(ctx: ServerContext, conn: Connection, msg: GroupRequest): Promise<void> {
  return asWork(conn, async () => {
    const me = conn.userId;
    const c = await apply(ctx, me, msg);
    const myRole = (await ctx.store.groups.roleOf(c.group.groupId, me)) ?? 0;
    const changed = c.added.length ? c.added : c.removed;
    conn.send(MessageType.GROUP_RESPONSE, {
      requestId: msg.requestId, op: msg.op, group: groupInfo(c.group, myRole), members: changed.map(idOnly),
      applyId: c.applyId, seq: c.system?.seq ?? 0,
    });
    pushSystem(ctx, c);
    if (c.notices) pushNotices(ctx, c.notices); // a join application: the owner and admins
  });
}

function handleMembers(ctx: ServerContext, conn: Connection, msg: GroupMembersRequest): Promise<void> {
  return asWork(conn, async () => {
    const p = await ctx.groups.memberPage(conn.userId, msg.groupId, msg.after, msg.limit);
    conn.send(MessageType.GROUP_MEMBERS, {
      requestId: msg.requestId, group: groupInfo(p.group, p.role), members: p.members.map(member), hasMore: p.hasMore,
      next: p.members.length ? p.members[p.members.length - 1]!.userId : 0,
    });
  });
}

function handleRead(ctx: ServerContext, conn: Connection, msg: GroupReadRequest): Promise<void> {
  return asWork(conn, async () => {
    const r = await ctx.groups.readers(conn.userId, msg.groupId, msg.seq, msg.limit);
    conn.send(MessageType.GROUP_READ_RESPONSE, {
      requestId: msg.requestId, groupId: msg.groupId, seq: msg.seq, readCount: r.count, memberCount: r.group.memberCount,
      readers: r.members.map(member),
    });
  });
}

/** GroupRequest handler. */
export const groupHandler = defineHandler({ type: MessageType.GROUP_REQUEST, beforeLogin: false, handle: handleGroup });
/** GroupMembersRequest handler. */
export const groupMembersHandler = defineHandler({ type: MessageType.GROUP_MEMBERS_REQUEST, beforeLogin: false, handle: handleMembers });
/** GroupReadRequest handler. */
export const groupReadHandler = defineHandler({ type: MessageType.GROUP_READ_REQUEST, beforeLogin: false, handle: handleRead });
