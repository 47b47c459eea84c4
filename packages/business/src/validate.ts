/**
 * Input checks shared by every store and by the batchers. The server validates requests at its
 * boundary too; these checks exist so that one malformed chat can never reach a multi-row
 * INSERT and fail a whole group-commit batch of other users' messages (DESIGN.md "Persist in
 * batches"), and so both backends reject exactly the same inputs.
 */
import { RequestError } from '@hxim/im-common';
import type { CursorUpdate, NewChat } from './ports';

/** Longest client message id, in UTF-16 code units (the column is VARCHAR(64)). */
export const MAX_CLIENT_MSG_ID_CHARS = 64;
/** Longest conversation id (the column is VARCHAR(64) ASCII). */
export const MAX_CONV_ID_CHARS = 64;
/** Longest user name (the column is VARCHAR(64)). */
export const MAX_USER_NAME_CHARS = 64;
/** Largest body the stores accept; the server's own limit (maxBodyBytes) is lower. */
export const MAX_STORED_BODY_BYTES = 1 << 20;

// Printable ASCII without space: conversation ids are "p:<low>:<high>" / "g:<id>" (conv.ts),
// and the column is ASCII, so anything else would fail inside the database instead of here.
const CONV_ID_RE = /^[\x21-\x7e]+$/;
// A lone surrogate cannot be encoded as UTF-8: the drivers would store U+FFFD and the id read
// back would differ from the id written, breaking dedup.
const LONE_SURROGATE_RE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function bad(message: string): RequestError {
  return new RequestError('BAD_REQUEST', message);
}

function isId(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n);
}

/** True when `convId` can be stored: 1..64 printable ASCII characters, no spaces. */
export function isStorableConvId(convId: unknown): convId is string {
  return typeof convId === 'string' && convId.length > 0 && convId.length <= MAX_CONV_ID_CHARS && CONV_ID_RE.test(convId);
}

/** The conversation type stored in conversation.conv_type: 1 for "g:..." groups, else 0. */
export function convTypeOf(convId: string): 0 | 1 {
  return convId.startsWith('g:') ? 1 : 0;
}

/** Throws RequestError BAD_REQUEST naming the first field of `chat` that cannot be stored. */
export function validateNewChat(chat: NewChat): void {
  if (chat === null || typeof chat !== 'object') throw bad('chat must be an object');
  if (!isId(chat.senderId) || chat.senderId <= 0) throw bad('chat.senderId must be a positive safe integer');
  const cid = chat.clientMsgId;
  if (typeof cid !== 'string' || cid.length === 0 || cid.length > MAX_CLIENT_MSG_ID_CHARS) {
    throw bad(`chat.clientMsgId must be 1..${MAX_CLIENT_MSG_ID_CHARS} characters`);
  }
  if (LONE_SURROGATE_RE.test(cid)) throw bad('chat.clientMsgId must be well-formed UTF-16 (no lone surrogates)');
  if (!isStorableConvId(chat.convId)) {
    throw bad(`chat.convId must be 1..${MAX_CONV_ID_CHARS} printable ASCII characters, e.g. "p:1:2" or "g:7"`);
  }
  if (!Array.isArray(chat.memberIds) || !chat.memberIds.every((m) => isId(m) && m > 0)) {
    throw bad('chat.memberIds must be an array of positive safe integers');
  }
  if (!isId(chat.recipientId) || chat.recipientId < 0) throw bad('chat.recipientId must be a safe integer >= 0');
  if (!isId(chat.groupId) || chat.groupId < 0) throw bad('chat.groupId must be a safe integer >= 0');
  // The store checks a group chat's sender against group_member of groupId, so the two must agree.
  if (chat.groupId > 0 ? chat.convId !== `g:${chat.groupId}` : convTypeOf(chat.convId) === 1) {
    throw bad('a group chat has groupId > 0 and convId "g:<groupId>"; any other chat has groupId 0 and no "g:" convId');
  }
  if (!isId(chat.msgType) || chat.msgType < 0 || chat.msgType > 32767) throw bad('chat.msgType must be 0..32767');
  if (!isId(chat.clientTime)) throw bad('chat.clientTime must be a safe integer (ms since the epoch)');
  if (!(chat.body instanceof Uint8Array)) throw bad('chat.body must be a Uint8Array');
  if (chat.body.byteLength > MAX_STORED_BODY_BYTES) {
    throw bad(`chat.body is ${chat.body.byteLength} bytes; the store accepts at most ${MAX_STORED_BODY_BYTES}`);
  }
}

/** Throws RequestError BAD_REQUEST unless `u` is a well-formed cursor update. */
export function validateCursorUpdate(u: CursorUpdate): void {
  if (u === null || typeof u !== 'object') throw bad('cursor update must be an object');
  if (!isId(u.userId) || u.userId <= 0) throw bad('cursor update userId must be a positive safe integer');
  if (!isStorableConvId(u.convId)) throw bad('cursor update convId is not a storable conversation id');
  if (!isId(u.seq) || u.seq < 0) throw bad('cursor update seq must be a safe integer >= 0');
}

/**
 * Validates and coalesces cursor updates: one entry per (user, conversation) with the highest
 * seq, sorted by (convId, userId) so that every writer locks member rows in the same order.
 */
export function coalesceCursorUpdates(updates: readonly CursorUpdate[]): CursorUpdate[] {
  // Keyed by conversation first, then user: wire-supplied conv ids go in a Map, never in {}.
  const byConv = new Map<string, Map<number, number>>();
  for (const u of updates) {
    validateCursorUpdate(u);
    let users = byConv.get(u.convId);
    if (!users) byConv.set(u.convId, (users = new Map()));
    const prev = users.get(u.userId);
    if (prev === undefined || u.seq > prev) users.set(u.userId, u.seq);
  }
  const out: CursorUpdate[] = [];
  for (const convId of [...byConv.keys()].sort()) {
    const users = byConv.get(convId)!;
    for (const userId of [...users.keys()].sort((a, b) => a - b)) out.push({ userId, convId, seq: users.get(userId)! });
  }
  return out;
}

/** Throws RequestError BAD_USERNAME unless `userName` fits the user_account column. */
export function validateUserName(userName: string): void {
  if (typeof userName !== 'string' || userName.length === 0 || userName.length > MAX_USER_NAME_CHARS) {
    throw new RequestError('BAD_USERNAME', `user name must be 1..${MAX_USER_NAME_CHARS} characters`);
  }
  if (LONE_SURROGATE_RE.test(userName)) throw new RequestError('BAD_USERNAME', 'user name must be well-formed UTF-16');
}

/** The distinct safe-integer ids of `ids` (anything else cannot be a user id). */
export function distinctIds(ids: readonly number[]): number[] {
  return [...new Set(ids.filter(isId))];
}
