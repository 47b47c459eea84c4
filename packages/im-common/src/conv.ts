/**
 * Conversation ids. A 1:1 conversation is "p:<low>:<high>" (the seed hard-coded "test"); a group
 * conversation is "g:<groupId>". Both sides compute the same id without asking the server.
 */

/** The conversation id of two users, independent of who sends. */
export function privateConvId(a: number, b: number): string {
  return a < b ? `p:${a}:${b}` : `p:${b}:${a}`;
}

/** The conversation id of a group. */
export function groupConvId(groupId: number): string {
  return `g:${groupId}`;
}

/** A parsed conversation id, or null when the text is not one. */
export type ParsedConv = { kind: 'private'; a: number; b: number } | { kind: 'group'; groupId: number };

const PRIVATE_RE = /^p:(\d{1,16}):(\d{1,16})$/;
const GROUP_RE = /^g:(\d{1,16})$/;

/** Parses a conversation id; null for anything malformed (never throws). */
export function parseConvId(id: string): ParsedConv | null {
  let m = PRIVATE_RE.exec(id);
  if (m) {
    const a = Number(m[1]), b = Number(m[2]);
    if (!Number.isSafeInteger(a) || !Number.isSafeInteger(b) || a >= b) return null;
    return { kind: 'private', a, b };
  }
  m = GROUP_RE.exec(id);
  if (m) {
    const groupId = Number(m[1]);
    return Number.isSafeInteger(groupId) ? { kind: 'group', groupId } : null;
  }
  return null;
}

/** The other member of a private conversation, or null if `userId` is not in it. */
export function peerOf(conv: ParsedConv, userId: number): number | null {
  if (conv.kind !== 'private') return null;
  if (conv.a === userId) return conv.b;
  if (conv.b === userId) return conv.a;
  return null;
}
