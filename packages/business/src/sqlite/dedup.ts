/**
 * The (sender_id, client_msg_id) unique key of the embedded store, kept as a small log-structured
 * index instead of a B-tree index on chat_message (why: see the comment in ./schema.ts).
 *
 * - Messages with server_msg_id > the merge watermark ("recent") are looked up in a Map held in
 *   memory. On open the Map is rebuilt from chat_message by a rowid range scan, so nothing is
 *   lost on a crash: the rows themselves are the durable record.
 * - Older messages are in chat_dedup (primary key (sender_id, client_msg_id)). Every
 *   `mergeRows` new messages, the recent ones are copied there in one transaction, sorted by
 *   key, so each B-tree leaf is written once per merge instead of once per message.
 *
 * This relies on one writer: the store opens the file with locking_mode=EXCLUSIVE, so a second
 * process cannot append behind this Map's back.
 */
import type Database from 'better-sqlite3';
import { dedupKey } from '../plan';

/**
 * Default number of recent messages kept in memory before a merge: about 6 MB of Map, and a
 * merge pause of roughly 50-100 ms every 50,000 messages on this box.
 */
export const DEFAULT_DEDUP_MERGE_ROWS = 50_000;

const WATERMARK = 'dedup_merged_through';

/** The dedup key's lookup side for SQLite: recent messages in memory, older in chat_dedup. */
export class SqliteDedup {
  /** dedupKey() -> server_msg_id, in server_msg_id order (Map keeps insertion order). */
  private recent = new Map<string, number>();
  private watermark: number;
  private lastId: number;
  private readonly selMerged: Database.Statement<[number, string], number>;
  private readonly mergeTxn: (from: number, to: number) => void;
  /** Merges done since open (for tests and metrics). */
  merges = 0;

  /**
   * Loads the watermark and the recent keys.
   * @param mergeRows merge once this many recent messages are held in memory.
   */
  constructor(db: Database.Database, private readonly mergeRows = DEFAULT_DEDUP_MERGE_ROWS) {
    const meta = db.prepare('SELECT value FROM store_meta WHERE name = ?').get(WATERMARK) as { value: number } | undefined;
    this.watermark = meta ? Number(meta.value) : 0;
    this.lastId = this.watermark;
    const rows = db.prepare(`SELECT server_msg_id, sender_id, client_msg_id FROM chat_message
      WHERE server_msg_id > ? ORDER BY server_msg_id`).iterate(this.watermark) as IterableIterator<
      { server_msg_id: number; sender_id: number; client_msg_id: string }>;
    for (const r of rows) this.remember(dedupKey(Number(r.sender_id), r.client_msg_id), Number(r.server_msg_id));
    // pluck(): the bare value, no row object per probe (this runs once per appended message).
    this.selMerged = db.prepare<[number, string], number>(
      'SELECT server_msg_id FROM chat_dedup WHERE sender_id = ? AND client_msg_id = ?').pluck();
    const copy = db.prepare(`INSERT OR IGNORE INTO chat_dedup (sender_id, client_msg_id, server_msg_id)
      SELECT sender_id, client_msg_id, server_msg_id FROM chat_message
      WHERE server_msg_id > ? AND server_msg_id <= ? ORDER BY sender_id, client_msg_id`);
    const mark = db.prepare('INSERT OR REPLACE INTO store_meta (name, value) VALUES (?, ?)');
    this.mergeTxn = db.transaction((from: number, to: number) => {
      copy.run(from, to);
      mark.run(WATERMARK, to);
    }).immediate;
  }

  /** The server_msg_id stored under (senderId, clientMsgId), or undefined. */
  find(senderId: number, clientMsgId: string): number | undefined {
    const id = this.recent.get(dedupKey(senderId, clientMsgId));
    if (id !== undefined) return id;
    const merged = this.selMerged.get(senderId, clientMsgId);
    return merged === undefined ? undefined : Number(merged);
  }

  /** Records a committed message (call only after its transaction committed). */
  remember(key: string, serverMsgId: number): void {
    this.recent.set(key, serverMsgId);
    if (serverMsgId > this.lastId) this.lastId = serverMsgId;
  }

  /** Merges when enough recent keys accumulated. Call outside any transaction. */
  maybeMerge(): void {
    if (this.recent.size >= this.mergeRows) this.merge();
  }

  /**
   * Copies every recent key into chat_dedup and empties the Map. On failure the Map is kept,
   * so lookups stay correct and the merge is retried later.
   */
  merge(): void {
    if (this.recent.size === 0) return;
    const to = this.lastId;
    this.mergeTxn(this.watermark, to);
    this.watermark = to;
    this.recent = new Map();
    this.merges++;
  }

  /** Keys held in memory. */
  get recentCount(): number {
    return this.recent.size;
  }
}
