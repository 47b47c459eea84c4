/**
 * ConversationStore on MySQL/MariaDB (../conversations/ports.ts).
 *
 * A read mark is a non-locking read of the member's cursors and the conversation's last_seq,
 * then one UPDATE with GREATEST (monotonic whatever runs concurrently) and a read-back, in one
 * round trip. It deliberately does not lock the conversation row: appends lock it first and
 * member rows second, and taking them in the other order here could deadlock with them (the
 * same reason as chats.ts advance()). Two devices marking at once may both see their cursor
 * move; the receipts they cause are idempotent.
 */
import type { ConvPageCursor, ConvRow, ConversationStore, PeerRow, ReadMark, UnreadSummary } from '../conversations/ports';
import {
  CONV_PAGE_SQL, convPageParams, MEMBER_CURSOR_SQL, moveCursorsSql, peersSql, rowToConv, rowToPeer, rowToUnread,
  UNREAD_CONVS_SQL, UNREAD_TOTAL_SQL,
} from '../conversations/queries';
import { pageLimit } from '../rows';
import { isStorableConvId } from '../validate';
import type { MysqlDb } from './db';

type Row = Record<string, unknown>;

/** Conversation lists in MySQL. Created by MysqlStore. */
export class MysqlConversationStore implements ConversationStore {
  /** @param db the store's pool. */
  constructor(private readonly db: MysqlDb) {}

  /** See ConversationStore.list. */
  async list(userId: number, after: ConvPageCursor | null, limit: number): Promise<ConvRow[]> {
    const n = pageLimit(limit);
    if (n === 0) return [];
    return this.db.run('list conversations', async (c) =>
      (await c.query<Row[]>(CONV_PAGE_SQL, convPageParams(userId, after, n))).map(rowToConv));
  }

  /** See ConversationStore.peers. */
  async peers(userId: number, convIds: readonly string[]): Promise<PeerRow[]> {
    const ids = [...new Set(convIds.filter(isStorableConvId))];
    if (ids.length === 0) return [];
    return this.db.run('conversation peers', async (c) => (await c.query<Row[]>(peersSql('(?)'), [ids, userId])).map(rowToPeer));
  }

  /** See ConversationStore.unread: the total and the list in one round trip. */
  async unread(userId: number, limit: number): Promise<UnreadSummary> {
    const n = pageLimit(limit);
    return this.db.run('unread', async (c) => {
      const res = await c.script([
        { sql: UNREAD_TOTAL_SQL, values: [userId] },
        ...(n > 0 ? [{ sql: UNREAD_CONVS_SQL, values: [userId, n] }] : []),
      ]);
      const total = Number((res[0] as Row[])[0]?.total ?? 0);
      return { total, convs: n > 0 ? (res[1] as Row[]).map(rowToUnread) : [] };
    });
  }

  /** See ConversationStore.markRead and the module comment. */
  async markRead(userId: number, convId: string, seq: number): Promise<ReadMark | null> {
    if (!isStorableConvId(convId)) return null;
    return this.db.run('markRead', async (c) => {
      const rows = await c.query<Row[]>(MEMBER_CURSOR_SQL, [convId, userId]);
      if (rows.length === 0) return null;
      const before = Number(rows[0]!.read_seq);
      const lastSeq = Number(rows[0]!.last_seq);
      const target = Math.min(seq, lastSeq);
      if (target <= before && target <= Number(rows[0]!.ack_seq)) return { before, readSeq: before, lastSeq };
      const res = await c.script([
        { sql: moveCursorsSql('GREATEST'), values: [target, target, convId, userId] },
        { sql: 'SELECT read_seq FROM conversation_member WHERE conv_id = ? AND user_id = ?', values: [convId, userId] },
      ]);
      return { before, readSeq: Number((res[1] as Row[])[0]?.read_seq ?? target), lastSeq };
    });
  }
}
