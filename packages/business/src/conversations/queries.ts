/**
 * Conversation-list SQL that both backends accept unchanged, and the row mappings.
 *
 * The list sorts a user's member rows by their conversation's last_time. There is no index on
 * that per user (last_time lives on the shared conversation row), so a page costs a sort of the
 * user's conversations: fine for the thousands a person has; a per-member last_time column would
 * be the next step for accounts with far more.
 */
import type { ConvCursor } from '../ports';
import { PREVIEW_BYTES, type ConvRow, type PeerRow } from './ports';

/** Conversation rows of user `?` after the cursor (time `?`, time `?`, conv `?`), LIMIT `?`. */
export const CONV_PAGE_SQL = `SELECT m.conv_id, c.conv_type, c.last_seq, m.read_seq, m.ack_seq, c.last_msg_id,
    c.last_sender_id, c.last_time, COALESCE(x.msg_type, 0) AS msg_type, SUBSTR(x.body, 1, ${PREVIEW_BYTES}) AS preview
  FROM conversation_member m
    JOIN conversation c ON c.conv_id = m.conv_id
    LEFT JOIN chat_message x ON x.server_msg_id = c.last_msg_id
  WHERE m.user_id = ? AND (c.last_time < ? OR (c.last_time = ? AND m.conv_id < ?))
  ORDER BY c.last_time DESC, m.conv_id DESC LIMIT ?`;

/** Parameters of {@link CONV_PAGE_SQL}; no cursor = before every real row. */
export function convPageParams(userId: number, after: { time: number; convId: string } | null, limit: number): unknown[] {
  // conversation ids are printable ASCII (<= 0x7e), so "\x7f" sorts after every one of them.
  const time = after ? after.time : Number.MAX_SAFE_INTEGER;
  return [userId, time, time, after ? after.convId : '\x7f', limit];
}

/** The user's unread total, one row ("total"). */
export const UNREAD_TOTAL_SQL = `SELECT COALESCE(SUM(c.last_seq - m.read_seq), 0) AS total
  FROM conversation_member m JOIN conversation c ON c.conv_id = m.conv_id
  WHERE m.user_id = ? AND c.last_seq > m.read_seq`;

/** The user's conversations with unread messages, most recent first, LIMIT `?`. */
export const UNREAD_CONVS_SQL = `SELECT m.conv_id, c.last_seq, m.ack_seq, m.read_seq
  FROM conversation_member m JOIN conversation c ON c.conv_id = m.conv_id
  WHERE m.user_id = ? AND c.last_seq > m.read_seq ORDER BY c.last_time DESC, m.conv_id DESC LIMIT ?`;

/** One member's cursors and the conversation's last seq (parameters: conv, user). */
export const MEMBER_CURSOR_SQL = `SELECT m.read_seq, m.ack_seq, c.last_seq
  FROM conversation_member m JOIN conversation c ON c.conv_id = m.conv_id WHERE m.conv_id = ? AND m.user_id = ?`;

/** Moves both cursors up to `?` (parameters: read, ack, conv, user); GREATEST/MAX keeps them monotonic. */
export function moveCursorsSql(max: 'MAX' | 'GREATEST'): string {
  return `UPDATE conversation_member SET read_seq = ${max}(read_seq, ?), ack_seq = ${max}(ack_seq, ?)
    WHERE conv_id = ? AND user_id = ?`;
}

/** Member rows of the conversations (an IN list the backend supplies) other than user `?`. */
export function peersSql(inList: string): string {
  return `SELECT m.conv_id, m.user_id, COALESCE(u.user_name, '') AS user_name, m.read_seq
    FROM conversation_member m LEFT JOIN user_account u ON u.user_id = m.user_id
    WHERE m.conv_id IN ${inList} AND m.user_id <> ?`;
}

type Row = Record<string, unknown>;

/** Maps a {@link CONV_PAGE_SQL} row. */
export function rowToConv(r: Row): ConvRow {
  const p = r.preview;
  return {
    convId: String(r.conv_id), convType: Number(r.conv_type), lastSeq: Number(r.last_seq), readSeq: Number(r.read_seq),
    ackSeq: Number(r.ack_seq), lastMsgId: Number(r.last_msg_id), lastSenderId: Number(r.last_sender_id),
    lastTime: Number(r.last_time), lastMsgType: Number(r.msg_type),
    preview: p instanceof Uint8Array ? p : typeof p === 'string' ? Buffer.from(p, 'utf8') : new Uint8Array(0),
  };
}

/** Maps a peers row. */
export function rowToPeer(r: Row): PeerRow {
  return { convId: String(r.conv_id), userId: Number(r.user_id), userName: String(r.user_name ?? ''), readSeq: Number(r.read_seq) };
}

/** Maps an unread row. */
export function rowToUnread(r: Row): ConvCursor {
  return { convId: String(r.conv_id), lastSeq: Number(r.last_seq), ackSeq: Number(r.ack_seq), readSeq: Number(r.read_seq) };
}
