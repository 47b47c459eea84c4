/**
 * ChatMessage (type 2): store, ack the sender, push to the recipient (seed.md §3.5, fixed).
 *
 * The order is the delivery contract's (DESIGN.md): the chat is stored (group commit) before the
 * sender's STORED ack, and the ack carries the client id, the server id and the conversation
 * seq. A resend with the same client id gets the original ack back and is never stored twice.
 * Identity is the connection's user; a frame claiming another sender is refused.
 */
import {
  AckKind, ChatKind, groupConvId, MessageType, privateConvId, RequestError, type ChatMessage,
} from '@hxim/im-common';
import type { AppendResult } from '@hxim/business';
import type { Connection } from '../connection';
import type { ServerContext } from '../context';
import { chatFrame } from '../chat-frame';
import { defineHandler } from './handler';

/** Longest accepted client message id. */
export const MAX_CLIENT_ID = 64;

/**
 * The dedup key. Seed clients reuse ids (the constant "test-chat", or a Date string with
 * one-second resolution, seed.md §1.4), so for them the client's timestamp joins the key: a
 * real retransmission repeats both, a new message does not.
 */
function clientKey(conn: Connection, msg: ChatMessage): string {
  return conn.seedMode ? `${msg.id}@${msg.timeStamp}` : msg.id;
}

function validate(ctx: ServerContext, conn: Connection, msg: ChatMessage): void {
  if (msg.userId !== 0 && msg.userId !== conn.userId) {
    throw new RequestError('FORBIDDEN_SENDER', `this connection is logged in as ${conn.userId}, not ${msg.userId}`);
  }
  if (!msg.id) throw new RequestError('BAD_REQUEST', 'ChatMessage.id (the client message id) is required');
  if (msg.id.length > MAX_CLIENT_ID) throw new RequestError('BAD_REQUEST', `ChatMessage.id is longer than ${MAX_CLIENT_ID} characters`);
  if (msg.groupId !== 0) {
    // Group send (issue 5): groupId names the group, receiveId must be 0.
    if (!Number.isSafeInteger(msg.groupId) || msg.groupId < 0) throw new RequestError('BAD_REQUEST', 'ChatMessage.groupId must be a group id');
    if (msg.receiveId !== 0) throw new RequestError('BAD_REQUEST', 'a group chat (groupId > 0) must have receiveId 0');
  } else if (!Number.isSafeInteger(msg.receiveId) || msg.receiveId <= 0) {
    throw new RequestError('BAD_REQUEST', 'ChatMessage.receiveId must be a positive user id');
  }
  if (msg.receiveId === conn.userId) throw new RequestError('BAD_REQUEST', 'cannot send a chat to yourself');
  if (msg.msgBody.length > ctx.opts.maxBodyBytes) {
    throw new RequestError('BODY_TOO_LARGE', `message body of ${msg.msgBody.length} bytes exceeds the ${ctx.opts.maxBodyBytes}-byte limit`);
  }
  if (msg.msgType !== ChatKind.TEXT && msg.msgType !== ChatKind.FILE) {
    throw new RequestError('BAD_REQUEST', 'ChatMessage.msgType must be TEXT or FILE');
  }
}

function ackSender(ctx: ServerContext, conn: Connection, msg: ChatMessage, r: AppendResult): void {
  ctx.stats.acksSent++;
  conn.send(MessageType.ACK, {
    id: msg.id, userId: conn.userId, receiveId: msg.receiveId, kind: AckKind.STORED, clientMsgId: msg.id,
    serverMsgId: r.serverMsgId, seq: r.seq, convId: r.convId, duplicate: r.duplicate, serverTime: r.serverTime,
  });
}

async function handleChat(ctx: ServerContext, conn: Connection, msg: ChatMessage): Promise<void> {
  ctx.stats.chatsIn++;
  validate(ctx, conn, msg);
  if (msg.groupId > 0) return handleGroupChat(ctx, conn, msg);
  conn.beginWork();
  try {
    // The checks may await the store (a cache miss), and one miss must not let a later chat of
    // this connection overtake an earlier one: checks run in arrival order per connection, and
    // the append is submitted in that order (without waiting for it, so batching still works).
    const { stored } = await inOrder(conn, async () => {
      if (!(await ctx.users.exists(msg.receiveId))) {
        throw new RequestError('UNKNOWN_USER', `user ${msg.receiveId} does not exist`);
      }
      // Stranger policy and blocks (issue 4): NOT_FRIENDS / BLOCKED, from a per-instance cache.
      await ctx.friends.checkChat(conn.userId, msg.receiveId);
      const convId = privateConvId(conn.userId, msg.receiveId);
      return {
        stored: ctx.chats.append({
          senderId: conn.userId, clientMsgId: clientKey(conn, msg), convId, memberIds: [conn.userId, msg.receiveId],
          recipientId: msg.receiveId, groupId: 0, msgType: msg.msgType, body: msg.msgBody, clientTime: msg.timeStamp,
        }),
      };
    });
    const r = await stored;
    ackSender(ctx, conn, msg, r);
    // A duplicate is pushed again: the first attempt may have timed out after committing
    // (STORE_TIMEOUT) and never been pushed. Recipients drop it by (convId, seq).
    if (r.duplicate) ctx.stats.chatsDuplicate++;
    else ctx.stats.chatsStored++;
    // The sender's other devices get it too; the sending connection has its ack.
    ctx.router.deliver(chatFrame(r), [msg.receiveId, conn.userId], conn.id, r.convId, r.seq);
  } finally {
    conn.endWork();
  }
}

/**
 * A group chat (docs/protocol.md §10.2): stored once with the group's seq (the member rows of
 * "g:<id>" are the group store's, so only the sender is passed), acked, then fanned out: one
 * encoded frame for every member, written locally and sent once per other instance by the
 * router. The member list is read after the append and is at least as new as the append's
 * memberSeq (the latest membership change before this message, read under the conversation's
 * lock), so a member removed before the message gets nothing, even when the removal happened on
 * another instance whose invalidation has not arrived yet (GroupService.members). The cached
 * checkSend is only the cheap early refusal: the store checks the sender against group_member
 * under the same lock and refuses a non-member (NOT_A_MEMBER, nothing stored), so a member
 * kicked on another instance cannot post through a stale cache either.
 */
async function handleGroupChat(ctx: ServerContext, conn: Connection, msg: ChatMessage): Promise<void> {
  conn.beginWork();
  try {
    const { stored } = await inOrder(conn, async () => {
      await ctx.groups.checkSend(msg.groupId, conn.userId); // NOT_A_MEMBER (cached member list)
      return {
        stored: ctx.chats.append({
          senderId: conn.userId, clientMsgId: clientKey(conn, msg), convId: groupConvId(msg.groupId), memberIds: [conn.userId],
          recipientId: 0, groupId: msg.groupId, msgType: msg.msgType, body: msg.msgBody, clientTime: msg.timeStamp,
        }),
      };
    });
    let r: AppendResult;
    try {
      r = await stored;
    } catch (err) {
      // The store checks membership under the conversation's lock: this instance's cached list
      // was stale (a kick on another instance whose invalidation has not arrived yet).
      if (err instanceof RequestError && err.code === 'NOT_A_MEMBER') ctx.groups.invalidate(msg.groupId);
      throw err;
    }
    ackSender(ctx, conn, msg, r);
    if (r.duplicate) ctx.stats.chatsDuplicate++;
    else ctx.stats.chatsStored++;
    const members = await ctx.groups.members(msg.groupId, r.memberSeq);
    ctx.router.deliver(chatFrame(r), members.ids, conn.id, r.convId, r.seq);
  } finally {
    conn.endWork();
  }
}

const chains = new WeakMap<Connection, Promise<unknown>>();

/** Runs `fn` after every earlier `inOrder` call of the same connection has settled. */
function inOrder<T>(conn: Connection, fn: () => Promise<T>): Promise<T> {
  const prev = chains.get(conn);
  const next = prev ? prev.then(fn, fn) : fn();
  chains.set(conn, next.catch(() => undefined));
  return next;
}

/** Chat handler. */
export const chatHandler = defineHandler({
  type: MessageType.CHAT,
  beforeLogin: false,
  handle: handleChat,
});
