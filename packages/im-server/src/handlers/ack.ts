/**
 * AckMessage (type 5) from a client.
 * - DELIVERED / READ with convId + seq: move that user's cursor forward (coalesced, batched).
 * - PEER (the seed's client-to-client ack, seed.md §3.6): relayed to receiveId if online, with
 *   the sender rewritten to the connection's user. Not stored, as in the seed.
 */
import { AckKind, encodeFrame, MessageType, parseConvId, peerOf, RequestError, type AckMessage } from '@hxim/im-common';
import type { Connection } from '../connection';
import type { ServerContext } from '../context';
import { defineHandler } from './handler';

async function checkMember(ctx: ServerContext, conn: Connection, convId: string): Promise<void> {
  const conv = parseConvId(convId);
  if (!conv) throw new RequestError('BAD_REQUEST', `"${convId.slice(0, 80)}" is not a conversation id`);
  if (conv.kind === 'private') {
    if (peerOf(conv, conn.userId) === null) throw new RequestError('NOT_A_MEMBER', `you are not in conversation ${convId}`);
    return;
  }
  // The group service's cached member list (invalidated on every membership change): every
  // member acks every group message, so a store query here would cost one per delivery.
  if (!(await ctx.groups.members(conv.groupId)).set.has(conn.userId)) {
    throw new RequestError('NOT_A_MEMBER', `you are not in conversation ${convId}`);
  }
}

async function handleAck(ctx: ServerContext, conn: Connection, msg: AckMessage): Promise<void> {
  if (msg.kind === AckKind.DELIVERED || msg.kind === AckKind.READ) {
    if (!Number.isSafeInteger(msg.seq) || msg.seq <= 0) throw new RequestError('BAD_SEQ', 'AckMessage.seq must be a positive integer');
    await checkMember(ctx, conn, msg.convId);
    if (msg.kind === AckKind.DELIVERED) ctx.cursors.ack(conn.userId, msg.convId, msg.seq);
    else {
      ctx.cursors.ack(conn.userId, msg.convId, msg.seq);
      ctx.cursors.read(conn.userId, msg.convId, msg.seq);
    }
    return;
  }
  if (msg.kind === AckKind.PEER) {
    if (msg.userId !== 0 && msg.userId !== conn.userId) {
      throw new RequestError('FORBIDDEN_SENDER', `this connection is logged in as ${conn.userId}, not ${msg.userId}`);
    }
    if (!Number.isSafeInteger(msg.receiveId) || msg.receiveId <= 0) return;
    const frame = encodeFrame(MessageType.ACK, { id: msg.id.slice(0, 64), userId: conn.userId, receiveId: msg.receiveId });
    ctx.router.deliver(frame, [msg.receiveId], conn.id, '', 0);
    return;
  }
  throw new RequestError('BAD_REQUEST', 'clients send acks of kind PEER, DELIVERED or READ');
}

/** Ack handler. */
export const ackHandler = defineHandler({ type: MessageType.ACK, beforeLogin: false, handle: handleAck });
