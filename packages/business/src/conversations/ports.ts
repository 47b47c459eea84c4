/**
 * The conversation-list port (issue 4): the reads behind the conversation list, unread counts
 * and read marks. Unread is always derived as conversation.last_seq − member.read_seq
 * (DESIGN.md "Unread count = last seq − read seq"), never a counter, so it is right on every
 * instance and every device by construction. Groups (issue 5) use the same tables: a "g:<id>"
 * conversation with one member row per member shows up here unchanged.
 */
import type { ConvCursor } from '../ports';

/** One of a user's conversations with its last message (a list row). */
export interface ConvRow {
  convId: string;
  /** 0 = private, 1 = group (conversation.conv_type). */
  convType: number;
  lastSeq: number;
  readSeq: number;
  ackSeq: number;
  lastMsgId: number;
  lastSenderId: number;
  /** Server time of the last message: the sort key. */
  lastTime: number;
  lastMsgType: number;
  /** The first bytes (at most {@link PREVIEW_BYTES}) of the last message's body. */
  preview: Uint8Array;
}

/** The other member of a private conversation, with their read cursor. */
export interface PeerRow {
  convId: string;
  userId: number;
  userName: string;
  readSeq: number;
}

/** Where a conversation-list page starts: strictly after this (lastTime, convId), descending. */
export interface ConvPageCursor {
  time: number;
  convId: string;
}

/** Unread counts of one user. */
export interface UnreadSummary {
  /** Sum over every conversation. */
  total: number;
  /** Conversations with unread > 0, most recently active first, at most the requested number. */
  convs: ConvCursor[];
}

/** The effect of a read mark. */
export interface ReadMark {
  /** The read cursor before the call. */
  before: number;
  /** The read cursor after it (never lower than before). */
  readSeq: number;
  lastSeq: number;
}

/** Bytes of the last message read for its preview. */
export const PREVIEW_BYTES = 256;

/** Conversation lists, unread counts and read marks. */
export interface ConversationStore {
  /**
   * The user's conversations, most recently active first (lastTime, then convId, descending),
   * strictly after `after` (null: from the start), at most `limit`.
   */
  list(userId: number, after: ConvPageCursor | null, limit: number): Promise<ConvRow[]>;
  /** The other members of the given conversations (for private ones: the peer). */
  peers(userId: number, convIds: readonly string[]): Promise<PeerRow[]>;
  /** Total unread and the conversations with unread messages (at most `limit` of them). */
  unread(userId: number, limit: number): Promise<UnreadSummary>;
  /**
   * Moves the user's read cursor (and the delivered cursor with it: what you read, you have)
   * forward to min(seq, lastSeq). Never backwards. Null when the user has no member row.
   */
  markRead(userId: number, convId: string, seq: number): Promise<ReadMark | null>;
}
