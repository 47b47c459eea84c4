/**
 * ConversationService: the conversation list, history, read marks and unread counts as the
 * server uses them (issue 4). Unread = conversation.last_seq − member.read_seq, derived in SQL
 * on every call: nothing here counts, so the figures agree on every instance and device.
 *
 * Membership: a private conversation "p:<a>:<b>" belongs to a and b by its id (no row needed);
 * a group conversation "g:<id>" to the users with a member row (issue 5 keeps those rows).
 */
import { parseConvId, peerOf, RequestError, type ConvSummary, type ConvUnread, type ParsedConv } from '@hxim/im-common';
import type { ChatStore, StoredChat } from '../ports';
import { pageSize } from '../friends/service';
import { PREVIEW_BYTES, type ConvPageCursor, type ConversationStore, type ConvRow } from './ports';

/** Default conversation-list page. */
export const DEFAULT_CONV_PAGE = 20;
/** Largest conversation-list page; above it PAGE_TOO_LARGE. */
export const MAX_CONV_PAGE = 100;
/** Default history page. */
export const DEFAULT_HISTORY_PAGE = 50;
/** Largest history page; above it PAGE_TOO_LARGE. */
export const MAX_HISTORY_PAGE = 200;
/** Characters of the last message shown in the list (then "…"). */
export const PREVIEW_CHARS = 64;
/** Conversations listed in LoginAck.unread (the total counts them all). */
export const LOGIN_UNREAD_CONVS = 500;

/** One page of the conversation list. */
export interface ConvPage {
  convs: ConvSummary[];
  hasMore: boolean;
  /** Pass back to get the next page ("" when there is none). */
  nextCursor: string;
  totalUnread: number;
}

/** One page of history, in ascending seq order. */
export interface HistoryPage {
  messages: StoredChat[];
  /** Older messages exist: ask again with beforeSeq = messages[0].seq. */
  hasMore: boolean;
}

/** The result of a read mark. */
export interface ReadResult {
  convId: string;
  readSeq: number;
  lastSeq: number;
  unread: number;
  totalUnread: number;
  /** The read cursor moved: tell the user's other devices and the peer. */
  moved: boolean;
  /** The other user of a private conversation (0 for groups). */
  peerId: number;
  /** The reader's account name, for the peer's receipt (set when moved in a private conversation). */
  readerName: string;
}

/** The text shown for a last message: UTF-8, at most {@link PREVIEW_CHARS} characters. */
export function previewText(bytes: Uint8Array, cutAtBytes: number): string {
  let text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  // The SQL cut may split a character: drop the replacement character it leaves at the end.
  let cut = bytes.byteLength >= cutAtBytes;
  if (cut) text = text.replace(/\uFFFD$/, '');
  const chars = Array.from(text);
  if (chars.length > PREVIEW_CHARS) {
    chars.length = PREVIEW_CHARS;
    cut = true;
  }
  return chars.join('') + (cut ? '…' : '');
}

const CURSOR_RE = /^(\d{1,16})\|([\x21-\x7e]{1,64})$/;

/** Encodes a list cursor (opaque to clients). */
export function encodeConvCursor(c: ConvPageCursor): string {
  return `${c.time}|${c.convId}`;
}

/** Decodes a list cursor; "" is the first page; anything malformed is BAD_REQUEST. */
export function decodeConvCursor(text: string): ConvPageCursor | null {
  if (text === '') return null;
  const m = CURSOR_RE.exec(text);
  if (!m || !Number.isSafeInteger(Number(m[1]))) throw new RequestError('BAD_REQUEST', 'cursor is not one this server handed out');
  return { time: Number(m[1]), convId: m[2]! };
}

/** Conversations, history, read marks and unread counts. */
export class ConversationService {
  constructor(private readonly store: { chats: ChatStore; convs: ConversationStore }) {}

  /**
   * Checks that `userId` may read `convId`: BAD_REQUEST for a malformed id, NOT_A_MEMBER
   * otherwise. Returns the parsed id.
   */
  async checkMember(userId: number, convId: string): Promise<ParsedConv> {
    const conv = parseConvId(convId);
    if (!conv) throw new RequestError('BAD_REQUEST', `"${String(convId).slice(0, 80)}" is not a conversation id (p:<low>:<high> or g:<id>)`);
    const member = conv.kind === 'private' ? peerOf(conv, userId) !== null : await this.store.chats.isMember(userId, convId);
    if (!member) throw new RequestError('NOT_A_MEMBER', `you are not in conversation ${convId}`);
    return conv;
  }

  /** One page of the user's conversations, most recently active first. */
  async list(userId: number, cursor: string, limit: number): Promise<ConvPage> {
    const n = pageSize(limit, DEFAULT_CONV_PAGE, MAX_CONV_PAGE);
    const after = decodeConvCursor(cursor);
    const [rows, unread] = await Promise.all([this.store.convs.list(userId, after, n + 1), this.store.convs.unread(userId, 0)]);
    const hasMore = rows.length > n;
    if (hasMore) rows.length = n;
    const privates = rows.filter((r) => r.convType === 0).map((r) => r.convId);
    const peers = new Map((await this.store.convs.peers(userId, privates)).map((p) => [p.convId, p]));
    const convs = rows.map((r) => summary(r, userId, peers.get(r.convId)));
    const last = rows[rows.length - 1];
    return {
      convs, hasMore, totalUnread: unread.total,
      nextCursor: hasMore && last ? encodeConvCursor({ time: last.lastTime, convId: last.convId }) : '',
    };
  }

  /**
   * Messages before `beforeSeq` (0: from the newest), at most `limit`, and at most `maxBytes` of
   * bodies (the newest are kept), returned oldest first. NOT_A_MEMBER, BAD_SEQ, PAGE_TOO_LARGE.
   */
  async history(userId: number, convId: string, beforeSeq: number, limit: number, maxBytes = Infinity): Promise<HistoryPage> {
    if (!Number.isSafeInteger(beforeSeq) || beforeSeq < 0) throw new RequestError('BAD_SEQ', 'beforeSeq must be 0 (the newest) or a seq');
    const n = pageSize(limit, DEFAULT_HISTORY_PAGE, MAX_HISTORY_PAGE);
    await this.checkMember(userId, convId);
    if (beforeSeq === 1) return { messages: [], hasMore: false };
    const rows = await this.store.chats.readBefore(convId, beforeSeq, n + 1);
    let hasMore = rows.length > n;
    if (hasMore) rows.length = n;
    let bytes = 0;
    for (let i = 0; i < rows.length; i++) {
      bytes += rows[i]!.body.byteLength + 96;
      if (bytes > maxBytes && i > 0) {
        rows.length = i;
        hasMore = true;
        break;
      }
    }
    return { messages: rows.reverse(), hasMore: hasMore && rows.length > 0 && rows[0]!.seq > 1 };
  }

  /** Marks `convId` read up to `seq` (0: everything so far); never moves back. */
  async markRead(userId: number, convId: string, seq: number): Promise<ReadResult> {
    if (!Number.isSafeInteger(seq) || seq < 0) throw new RequestError('BAD_SEQ', 'seq must be 0 (everything) or a seq');
    const conv = await this.checkMember(userId, convId);
    const mark = await this.store.convs.markRead(userId, convId, seq === 0 ? Number.MAX_SAFE_INTEGER : seq);
    const total = (await this.store.convs.unread(userId, 0)).total;
    const peerId = peerOf(conv, userId) ?? 0;
    if (!mark) return { convId, readSeq: 0, lastSeq: 0, unread: 0, totalUnread: total, moved: false, peerId, readerName: '' };
    const moved = mark.readSeq > mark.before;
    // The peer's view of this conversation holds the reader's name (one indexed read, only when it moved).
    const readerName = moved && peerId > 0 ? (await this.store.convs.peers(peerId, [convId]))[0]?.userName ?? '' : '';
    return {
      convId, readSeq: mark.readSeq, lastSeq: mark.lastSeq, unread: Math.max(0, mark.lastSeq - mark.readSeq),
      totalUnread: total, moved, peerId, readerName,
    };
  }

  /** LoginAck's unread fields: the total, and the conversations with unread messages. */
  async unreadAtLogin(userId: number): Promise<{ totalUnread: number; unread: ConvUnread[] }> {
    const u = await this.store.convs.unread(userId, LOGIN_UNREAD_CONVS);
    return {
      totalUnread: u.total,
      unread: u.convs.map((c) => ({ convId: c.convId, lastSeq: c.lastSeq, readSeq: c.readSeq, unread: c.lastSeq - c.readSeq })),
    };
  }
}

function summary(r: ConvRow, userId: number, peer: { userId: number; userName: string; readSeq: number } | undefined): ConvSummary {
  const parsed = parseConvId(r.convId);
  const peerId = parsed ? peerOf(parsed, userId) ?? 0 : 0;
  return {
    convId: r.convId, convType: r.convType, peerId, peerName: peer?.userName ?? '',
    groupId: parsed?.kind === 'group' ? parsed.groupId : 0, lastSeq: r.lastSeq, readSeq: r.readSeq,
    unread: Math.max(0, r.lastSeq - r.readSeq), lastMsgId: r.lastMsgId, lastSenderId: r.lastSenderId, lastTime: r.lastTime,
    preview: previewText(r.preview, PREVIEW_BYTES), lastMsgType: r.lastMsgType, peerReadSeq: peer?.readSeq ?? 0,
  };
}
