/**
 * How the chat CLI shows things: message lines, status lines, times.
 */
import { ChatKind, parseConvId, peerOf, type ChatMessage } from '@hxim/im-common';
import type { StateChange } from '../events';
import { formatAddress } from '../options';

/** "HH:MM:SS" in local time. */
export function clock(ms: number): string {
  const d = new Date(ms);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/**
 * Message text made safe for a terminal: control characters (ANSI escapes a peer could use to
 * rewrite the screen) are shown as U+FFFD; tabs and newlines are kept as spaces.
 */
export function sanitize(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\t\n\r]/g, ' ').replace(/[\u0000-\u001f\u007f-\u009f]/g, '\uFFFD');
}

/** The text of a chat body (UTF-8). */
export function bodyText(msg: ChatMessage): string {
  return sanitize(Buffer.from(msg.msgBody).toString('utf8'));
}

/** "[12:01:02] 2 → you: hi", or "[12:01:02] you → 3: hi" for our own message from another device. */
export function formatIncoming(msg: ChatMessage, me: number): string {
  const at = clock(msg.serverTime || Date.now());
  if (msg.groupId > 0) {
    if (msg.msgType === ChatKind.SYSTEM) return `[${at}] #${msg.groupId} * ${systemText(msg)}`;
    return `[${at}] #${msg.groupId} ${msg.userId === me ? 'you' : msg.userId}: ${bodyText(msg)}`;
  }
  if (msg.userId === me) {
    const conv = parseConvId(msg.convId);
    const peer = (conv && peerOf(conv, me)) || msg.receiveId;
    return `[${at}] you → ${peer}: ${bodyText(msg)}`;
  }
  return `[${at}] ${msg.userId} → you: ${bodyText(msg)}`;
}

/** A group SYSTEM message (body JSON {event, by, users, name?, role?}) as a sentence. */
export function systemText(msg: ChatMessage): string {
  try {
    const e = JSON.parse(Buffer.from(msg.msgBody).toString('utf8')) as { event: string; by: number; users: number[]; name?: string; role?: number };
    const users = e.users.join(', ');
    switch (e.event) {
      case 'create': return sanitize(`${e.by} created "${e.name ?? ''}" with ${users}`);
      case 'rename': return sanitize(`${e.by} renamed the group to "${e.name ?? ''}"`);
      case 'join': return `${users} joined (added by ${e.by})`;
      case 'leave': return `${users} left`;
      case 'kick': return `${users} removed by ${e.by}`;
      case 'dismiss': return `${e.by} dismissed the group`;
      case 'role': return `${users} is now ${e.role === 1 ? 'an admin' : 'a member'}`;
      case 'transfer': return `${e.by} handed the group to ${users}`;
      default: return sanitize(e.event);
    }
  } catch {
    return bodyText(msg);
  }
}

/** A status line for a state change, or null when it is not worth a line. */
export function formatState(s: StateChange): string | null {
  switch (s.state) {
    case 'offline': {
      const secs = ((s.delayMs ?? 0) / 1000).toFixed(1);
      const to = s.server ? ` to ${formatAddress(s.server)}` : '';
      return `disconnected (${s.reason}) — reconnecting in ${secs} s (attempt ${s.attempt ?? 1})${to}`;
    }
    case 'closed':
      return `connection closed: ${s.reason}`;
    default:
      return null;
  }
}
