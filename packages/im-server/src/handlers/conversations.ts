/**
 * ConvListRequest (24), HistoryRequest (26), ReadRequest (28) and NotificationAck (31)
 * (docs/protocol.md §9.3-9.6). Unread counts are derived (last seq − read seq) by the store on
 * every call. A read mark that moved the cursor tells the reader's other devices
 * (UNREAD_CHANGED) and, in a 1:1, the peer (READ_RECEIPT).
 */
import {
  MessageType, NoticeKind,
  type ConvListRequest, type HistoryRequest, type NotificationAck, type ReadRequest,
} from '@hxim/im-common';
import type { Connection } from '../connection';
import type { ServerContext } from '../context';
import { pageBytes } from '../catchup';
import { toChatMessage } from '../chat-frame';
import { asWork, defineHandler } from './handler';
import { pushLive } from './notify';

function handleConvList(ctx: ServerContext, conn: Connection, msg: ConvListRequest): Promise<void> {
  return asWork(conn, async () => {
    const p = await ctx.convs.list(conn.userId, msg.cursor, msg.limit);
    conn.send(MessageType.CONV_LIST, {
      requestId: msg.requestId, convs: p.convs, hasMore: p.hasMore, nextCursor: p.nextCursor, totalUnread: p.totalUnread,
    });
  });
}

function handleHistory(ctx: ServerContext, conn: Connection, msg: HistoryRequest): Promise<void> {
  return asWork(conn, async () => {
    // Bounded in bytes like a catch-up page, so a page of large messages cannot get its own
    // reader evicted as a slow consumer.
    const p = await ctx.convs.history(conn.userId, msg.convId, msg.beforeSeq, msg.limit, pageBytes(ctx));
    conn.send(MessageType.HISTORY_RESPONSE, {
      requestId: msg.requestId, convId: msg.convId, messages: p.messages.map(toChatMessage), hasMore: p.hasMore,
    });
  });
}

function handleRead(ctx: ServerContext, conn: Connection, msg: ReadRequest): Promise<void> {
  return asWork(conn, async () => {
    const me = conn.userId;
    const r = await ctx.convs.markRead(me, msg.convId, msg.seq);
    conn.send(MessageType.READ_RESPONSE, {
      requestId: msg.requestId, convId: r.convId, readSeq: r.readSeq, lastSeq: r.lastSeq, unread: r.unread,
      totalUnread: r.totalUnread,
    });
    if (!r.moved) return;
    const time = Date.now();
    pushLive(ctx, [me], {
      kind: NoticeKind.UNREAD_CHANGED, fromUserId: me, convId: r.convId, seq: r.readSeq, unread: r.unread,
      totalUnread: r.totalUnread, time,
    }, conn.id);
    // Group read receipts are counted on request (issue 5), not pushed to every member.
    if (r.peerId > 0) {
      pushLive(ctx, [r.peerId], {
        kind: NoticeKind.READ_RECEIPT, fromUserId: me, fromUserName: r.readerName, convId: r.convId, seq: r.readSeq, time,
      });
    }
  });
}

function handleNoticeAck(ctx: ServerContext, conn: Connection, msg: NotificationAck): Promise<void> {
  return asWork(conn, async () => {
    await ctx.friends.ackNotice(conn.userId, msg.noticeId);
  });
}

/** ConvListRequest handler. */
export const convListHandler = defineHandler({ type: MessageType.CONV_LIST_REQUEST, beforeLogin: false, handle: handleConvList });

/** HistoryRequest handler. */
export const historyHandler = defineHandler({ type: MessageType.HISTORY_REQUEST, beforeLogin: false, handle: handleHistory });

/** ReadRequest handler. */
export const readHandler = defineHandler({ type: MessageType.READ_REQUEST, beforeLogin: false, handle: handleRead });

/** NotificationAck handler (no reply). */
export const noticeAckHandler = defineHandler({ type: MessageType.NOTIFICATION_ACK, beforeLogin: false, handle: handleNoticeAck });
