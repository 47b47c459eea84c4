/**
 * SyncRequest (type 10): the rest of a catch-up, or one conversation after a seq (a client that
 * saw a gap). Answered with SyncResponse.
 */
import { MessageType, parseConvId, peerOf, RequestError, type SyncRequest } from '@hxim/im-common';
import type { Connection } from '../connection';
import type { ServerContext } from '../context';
import { applyClientCursors, missedPage, pageBytes, trimToBytes } from '../catchup';
import { toChatMessage } from '../chat-frame';
import { defineHandler } from './handler';

async function handleSync(ctx: ServerContext, conn: Connection, msg: SyncRequest): Promise<void> {
  const max = ctx.opts.syncPage;
  if (msg.limit < 0 || msg.limit > max) {
    throw new RequestError('PAGE_TOO_LARGE', `SyncRequest.limit must be 1 to ${max} (0 means ${max})`);
  }
  const limit = msg.limit || max;
  conn.beginWork();
  try {
    if (msg.acked.length > 0) await applyClientCursors(ctx, conn.userId, msg.acked);
    if (!msg.convId) {
      const page = await missedPage(ctx, conn.userId, limit);
      conn.send(MessageType.SYNC_RESPONSE, { requestId: msg.requestId, messages: page.messages.map(toChatMessage), hasMore: page.hasMore });
      return;
    }
    const conv = parseConvId(msg.convId);
    if (!conv) throw new RequestError('BAD_REQUEST', `"${msg.convId.slice(0, 80)}" is not a conversation id`);
    const member = conv.kind === 'private' ? peerOf(conv, conn.userId) !== null : await ctx.store.chats.isMember(conn.userId, msg.convId);
    if (!member) throw new RequestError('NOT_A_MEMBER', `you are not in conversation ${msg.convId}`);
    if (!Number.isSafeInteger(msg.afterSeq) || msg.afterSeq < 0) throw new RequestError('BAD_SEQ', 'SyncRequest.afterSeq must be 0 or more');
    const rows = await ctx.store.chats.readAfter(msg.convId, msg.afterSeq, limit + 1);
    let hasMore = rows.length > limit;
    if (hasMore) rows.length = limit;
    if (trimToBytes(rows, pageBytes(ctx))) hasMore = true;
    conn.send(MessageType.SYNC_RESPONSE, { requestId: msg.requestId, messages: rows.map(toChatMessage), hasMore });
  } finally {
    conn.endWork();
  }
}

/** Sync handler. */
export const syncHandler = defineHandler({ type: MessageType.SYNC, beforeLogin: false, handle: handleSync });
