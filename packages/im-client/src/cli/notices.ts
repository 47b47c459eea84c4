/**
 * How the chat CLI shows Notification pushes (friend requests and answers, read receipts,
 * unread changes made on another device) and the names of users.
 */
import { NoticeKind, type Notification } from '@hxim/im-common';
import { clock, sanitize } from './format';

/** "alice (#5)", or "#5" for a user without a name (open mode). */
export function who(userId: number, userName: string): string {
  return userName ? `${sanitize(userName)} (#${userId})` : `#${userId}`;
}

/** The line to print for a notification, or null for kinds this build does not know. */
export function formatNotification(n: Notification): string | null {
  const at = `[${clock(n.time || Date.now())}]`;
  const from = who(n.fromUserId, n.fromUserName);
  switch (n.kind) {
    case NoticeKind.FRIEND_APPLY: {
      const note = n.message ? `: "${sanitize(n.message)}"` : '';
      return `${at} friend request from ${from}${note} — /accept ${n.fromUserId} or /reject ${n.fromUserId}`;
    }
    case NoticeKind.FRIEND_ACCEPTED:
      return `${at} ${from} accepted your friend request — you can chat now`;
    case NoticeKind.FRIEND_REJECTED:
      return `${at} ${from} declined your friend request`;
    case NoticeKind.FRIEND_REMOVED:
      return `${at} ${from} removed you from their friends`;
    case NoticeKind.READ_RECEIPT:
      return `${at} ${from} read your messages up to #${n.seq} in ${n.convId}`;
    case NoticeKind.GROUP_APPLY: {
      const note = n.message ? `: "${sanitize(n.message)}"` : '';
      const gid = n.convId.slice(2);
      return `${at} ${from} asks to join group ${gid}${note} — /group approve ${gid} ${n.fromUserId} or /group reject ${gid} ${n.fromUserId}`;
    }
    case NoticeKind.UNREAD_CHANGED:
      return `${at} ${n.convId} read on another device: ${n.unread} unread there, ${n.totalUnread} in total`;
    default:
      return null;
  }
}
