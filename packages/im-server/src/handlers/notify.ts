/**
 * Notification pushes (type 30, docs/protocol.md §9.6). Stored notices (friend events) carry
 * their noticeId: they are pushed now to every online device of the recipient, on any instance,
 * and sent again after each LoginAck until a device acks one (NotificationAck). Live notices
 * (read receipts, unread changes) carry noticeId 0 and are only pushed. Seed-mode connections
 * never get either: the router skips them for frame types above 5.
 */
import { encodeFrame, MessageType, type Notification } from '@hxim/im-common';
import type { StoredNotice } from '@hxim/business';
import type { ServerContext } from '../context';

/** Stored notices sent right after a LoginAck (the rest follow at later logins, once these are acked). */
export const MAX_LOGIN_NOTICES = 200;

/** The wire form of a stored notice. */
export function noticeMessage(n: StoredNotice): Partial<Notification> {
  return {
    noticeId: n.noticeId, kind: n.kind, fromUserId: n.fromUserId, fromUserName: n.fromUserName, convId: n.convId,
    applyId: n.refId, message: n.body, time: n.createdAt,
  };
}

/** Pushes stored notices to their recipients' online connections, here and on other instances. */
export function pushNotices(ctx: ServerContext, notices: readonly StoredNotice[]): void {
  for (const n of notices) ctx.router.deliver(encodeFrame(MessageType.NOTIFICATION, noticeMessage(n)), [n.userId], '', '', 0);
}

/** Pushes a live (unstored) notification to the users' connections except `exceptConnId`. */
export function pushLive(ctx: ServerContext, userIds: readonly number[], msg: Partial<Notification>, exceptConnId = ''): void {
  const frame = encodeFrame(MessageType.NOTIFICATION, { ...msg, noticeId: 0, time: msg.time || Date.now() });
  ctx.router.deliver(frame, userIds, exceptConnId, '', 0);
}
