/**
 * ConversationStore on SQLite: conversation pages, unread counts and read marks
 * (../conversations/ports.ts). A read mark is one IMMEDIATE transaction (read the cursor, move
 * it, read it back), so its "before" and "after" are exact.
 */
import type Database from 'better-sqlite3';
import type { ConvPageCursor, ConvRow, ConversationStore, PeerRow, ReadMark, UnreadSummary } from '../conversations/ports';
import {
  CONV_PAGE_SQL, convPageParams, MEMBER_CURSOR_SQL, moveCursorsSql, peersSql, rowToConv, rowToPeer, rowToUnread,
  UNREAD_CONVS_SQL, UNREAD_TOTAL_SQL,
} from '../conversations/queries';
import { pageLimit } from '../rows';
import { isStorableConvId } from '../validate';
import { settle } from './guard';

type Row = Record<string, unknown>;
type Cursor = { read_seq: number; ack_seq: number; last_seq: number };

/** Conversation lists in the embedded database. Created by SqliteStore. */
export class SqliteConversationStore implements ConversationStore {
  private readonly selPage: Database.Statement<unknown[], Row>;
  private readonly selPeers: Database.Statement<[string, number], Row>;
  private readonly selTotal: Database.Statement<[number], { total: number }>;
  private readonly selUnread: Database.Statement<[number, number], Row>;
  private readonly selCursor: Database.Statement<[string, number], Cursor>;
  private readonly updCursors: Database.Statement<[number, number, string, number]>;
  private readonly markTxn: (userId: number, convId: string, seq: number) => ReadMark | null;

  /** @param db an open database with the schema applied. */
  constructor(db: Database.Database) {
    this.selPage = db.prepare(CONV_PAGE_SQL);
    this.selPeers = db.prepare(peersSql('(SELECT value FROM json_each(?))'));
    this.selTotal = db.prepare(UNREAD_TOTAL_SQL);
    this.selUnread = db.prepare(UNREAD_CONVS_SQL);
    this.selCursor = db.prepare(MEMBER_CURSOR_SQL);
    this.updCursors = db.prepare(moveCursorsSql('MAX'));
    this.markTxn = db.transaction((userId: number, convId: string, seq: number): ReadMark | null => {
      const cur = this.selCursor.get(convId, userId);
      if (!cur) return null;
      const before = Number(cur.read_seq);
      const lastSeq = Number(cur.last_seq);
      const target = Math.min(seq, lastSeq);
      if (target > before || target > Number(cur.ack_seq)) this.updCursors.run(target, target, convId, userId);
      return { before, readSeq: Math.max(before, target), lastSeq };
    }).immediate;
  }

  /** See ConversationStore.list. */
  list(userId: number, after: ConvPageCursor | null, limit: number): Promise<ConvRow[]> {
    return settle('list conversations', () => {
      const n = pageLimit(limit);
      return n === 0 ? [] : this.selPage.all(...convPageParams(userId, after, n)).map(rowToConv);
    });
  }

  /** See ConversationStore.peers. */
  peers(userId: number, convIds: readonly string[]): Promise<PeerRow[]> {
    return settle('conversation peers', () => {
      const ids = [...new Set(convIds.filter(isStorableConvId))];
      return ids.length === 0 ? [] : this.selPeers.all(JSON.stringify(ids), userId).map(rowToPeer);
    });
  }

  /** See ConversationStore.unread. */
  unread(userId: number, limit: number): Promise<UnreadSummary> {
    return settle('unread', () => {
      const total = Number(this.selTotal.get(userId)?.total ?? 0);
      const n = pageLimit(limit);
      return { total, convs: n === 0 || total === 0 ? [] : this.selUnread.all(userId, n).map(rowToUnread) };
    });
  }

  /** See ConversationStore.markRead. */
  markRead(userId: number, convId: string, seq: number): Promise<ReadMark | null> {
    return settle('markRead', () => (isStorableConvId(convId) ? this.markTxn(userId, convId, seq) : null));
  }
}
