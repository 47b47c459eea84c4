/**
 * The embedded backend: one SQLite file, `<dataDir>/hxim.sqlite`, through better-sqlite3.
 *
 * Durability. The database runs in WAL mode. With `synchronous = FULL` (the default) every
 * commit fsyncs the WAL before appendBatch resolves, so a message acked to its sender survives
 * a process crash and a power loss (delivery contract 1, DESIGN.md). `NORMAL` fsyncs only at
 * checkpoints: a process crash still loses nothing, but a power loss or kernel panic can lose the
 * last commits, i.e. messages that were already acked. Choose NORMAL only where that is fine.
 * Under FULL, delivered-cursor (ack) commits alone skip their fsync (./sync-mode.ts): a power loss
 * can only move such a cursor back, which re-pushes messages that clients drop by (convId, seq).
 * WAL checkpoints run when the store is idle (./checkpoint.ts), else inside the commit that
 * crosses wal_autocheckpoint.
 *
 * better-sqlite3 is synchronous, which suits the embedded mode: a batch of a few hundred
 * messages commits in a few milliseconds, in one transaction. Methods return settled promises.
 *
 * One process owns the file: it is opened with locking_mode=EXCLUSIVE and the write lock is
 * taken at open, so a second server (or the sqlite3 shell) pointed at the same file fails with
 * STORE_UNAVAILABLE instead of appending behind the in-memory dedup index (./dedup.ts). The
 * exclusive mode also keeps the WAL index in heap memory instead of a shared-memory file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { BackendError } from '@hxim/im-common';
import { parseMaxNoticesPerUser } from '../friends/notice-bound';
import { DEFAULT_MEMBER_CACHE_ENTRIES } from '../member-cache';
import type { Store } from '../ports';
import { SqliteAccountStore } from './accounts';
import { SqliteChatStore } from './chats';
import { SqliteConversationStore } from './conversations';
import { SqliteFriendStore, SqliteNoticeStore } from './friends';
import { SqliteGroupStore } from './groups';
import { DEFAULT_SQLITE_CHECKPOINT_IDLE_MS, IdleCheckpointer } from './checkpoint';
import { DEFAULT_DEDUP_MERGE_ROWS } from './dedup';
import { settle, sqliteError } from './guard';
import { applySqliteSchema } from './schema';

/** The database file's name inside dataDir. */
export const SQLITE_FILE_NAME = 'hxim.sqlite';
/** Default synchronous mode: FULL, so that nothing acked is lost even on power loss. */
export const DEFAULT_SQLITE_SYNCHRONOUS = 'FULL';
/** Default wait for a lock held by another connection, in ms (kept under the 2 s send budget). */
export const DEFAULT_SQLITE_BUSY_TIMEOUT_MS = 1000;

/** Options of the embedded store. */
export interface SqliteStoreOptions {
  /** Directory of the database file; created if missing. */
  dataDir: string;
  /** WAL fsync policy; default FULL (see the module comment for what NORMAL risks). */
  synchronous?: 'FULL' | 'NORMAL';
  /** Lock wait in ms; default {@link DEFAULT_SQLITE_BUSY_TIMEOUT_MS}. */
  busyTimeoutMs?: number;
  /** Bound of the member-row cache (see member-cache.ts); default 1,000,000 pairs. */
  memberCacheEntries?: number;
  /** Recent messages held in memory before a dedup merge (see dedup.ts); default 50,000. */
  dedupMergeRows?: number;
  /**
   * WAL size, in pages, that triggers a checkpoint inside a commit; default
   * {@link DEFAULT_SQLITE_WAL_CHECKPOINT_PAGES}. 0 = never (only idle and close-time checkpoints).
   */
  walCheckpointPages?: number;
  /**
   * Idle time, in ms, after which the WAL is checkpointed outside any commit (./checkpoint.ts);
   * default {@link DEFAULT_SQLITE_CHECKPOINT_IDLE_MS}; 0 = only automatic checkpoints.
   */
  checkpointIdleMs?: number;
  /**
   * Stored notices kept per user; inserting more deletes that user's oldest in the same
   * transaction (../friends/notice-bound.ts). Default {@link DEFAULT_MAX_NOTICES_PER_USER}, 1..100,000.
   */
  maxNoticesPerUser?: number;
}

/**
 * Default WAL checkpoint threshold: 4,096 pages (16 MiB), a quarter of SQLite's checkpoint rate.
 * At 1,000 single-message commits/s that is one checkpoint (~2 ms, one fsync of the database
 * file) every ~0.7 s; 16,384 pages measured no better at 1k/s (docs/benchmarks.md, profiles,
 * item 1) and keeps a fresh WAL growing (costlier fdatasync) four times longer.
 */
export const DEFAULT_SQLITE_WAL_CHECKPOINT_PAGES = 4096;

function nonNegativeInt(value: number | undefined, def: number, field: string): number {
  const v = value ?? def;
  if (!Number.isInteger(v) || v < 0) throw new RangeError(`sqlite.${field} must be an integer >= 0, not ${String(value)}`);
  return v;
}

/** Validates options; throws a RangeError naming the bad field. */
export function parseSqliteOptions(input: SqliteStoreOptions): Required<SqliteStoreOptions> {
  if (typeof input?.dataDir !== 'string' || input.dataDir.length === 0) {
    throw new RangeError('sqlite.dataDir must be a non-empty directory path');
  }
  const synchronous = input.synchronous ?? DEFAULT_SQLITE_SYNCHRONOUS;
  if (synchronous !== 'FULL' && synchronous !== 'NORMAL') {
    throw new RangeError(`sqlite.synchronous must be "FULL" or "NORMAL", not ${JSON.stringify(input.synchronous)}`);
  }
  return {
    dataDir: input.dataDir,
    synchronous,
    busyTimeoutMs: nonNegativeInt(input.busyTimeoutMs, DEFAULT_SQLITE_BUSY_TIMEOUT_MS, 'busyTimeoutMs'),
    memberCacheEntries: nonNegativeInt(input.memberCacheEntries, DEFAULT_MEMBER_CACHE_ENTRIES, 'memberCacheEntries'),
    dedupMergeRows: nonNegativeInt(input.dedupMergeRows, DEFAULT_DEDUP_MERGE_ROWS, 'dedupMergeRows'),
    walCheckpointPages: nonNegativeInt(input.walCheckpointPages, DEFAULT_SQLITE_WAL_CHECKPOINT_PAGES, 'walCheckpointPages'),
    checkpointIdleMs: nonNegativeInt(input.checkpointIdleMs, DEFAULT_SQLITE_CHECKPOINT_IDLE_MS, 'checkpointIdleMs'),
    maxNoticesPerUser: parseMaxNoticesPerUser(input.maxNoticesPerUser, 'sqlite.maxNoticesPerUser'),
  };
}

/** The embedded Store. Opening is synchronous; see {@link openSqliteStore} for the async form. */
export class SqliteStore implements Store {
  /** Always "sqlite". */
  readonly kind = 'sqlite' as const;
  /** Accounts and tokens. */
  readonly accounts: SqliteAccountStore;
  /** Messages, conversations and cursors. */
  readonly chats: SqliteChatStore;
  /** Friendships, applications and blocks. */
  readonly friends: SqliteFriendStore;
  /** Notifications waiting for an ack. */
  readonly notices: SqliteNoticeStore;
  /** Conversation lists, unread counts, read marks. */
  readonly convs: SqliteConversationStore;
  /** Groups, members and roles. */
  readonly groups: SqliteGroupStore;
  /** Absolute path of the database file. */
  readonly file: string;
  /** The idle checkpoint (./checkpoint.ts); its stats are for tests and metrics. */
  readonly checkpointer: IdleCheckpointer;
  private readonly db: Database.Database;

  /** Opens (creating if needed) `<dataDir>/hxim.sqlite` and applies the schema. */
  constructor(input: SqliteStoreOptions) {
    const opts = parseSqliteOptions(input);
    fs.mkdirSync(opts.dataDir, { recursive: true });
    this.file = path.resolve(opts.dataDir, SQLITE_FILE_NAME);
    this.db = new Database(this.file, { timeout: opts.busyTimeoutMs });
    try {
      // EXCLUSIVE before WAL, so that the WAL index lives in heap memory (see the module comment).
      this.db.pragma('locking_mode = EXCLUSIVE');
      this.db.pragma('journal_mode = WAL');
      this.db.pragma(`synchronous = ${opts.synchronous}`);
      // Fewer, larger checkpoints: a page rewritten by many commits is copied once per
      // checkpoint, and each checkpoint costs an fsync of the database file.
      this.db.pragma(`wal_autocheckpoint = ${opts.walCheckpointPages}`);
      // Larger page cache (64 MiB) and in-memory temp tables: the working set of recent
      // conversations stays in memory; the cost is RSS, which an embedded server can afford.
      this.db.pragma('cache_size = -65536');
      this.db.pragma('temp_store = MEMORY');
      applySqliteSchema(this.db);
      // Take the write lock now (EXCLUSIVE mode keeps it): a second owner fails here, at open.
      this.db.exec('BEGIN IMMEDIATE; COMMIT');
      this.accounts = new SqliteAccountStore(this.db);
      this.chats = new SqliteChatStore(this.db, {
        memberCacheEntries: opts.memberCacheEntries, dedupMergeRows: opts.dedupMergeRows, synchronous: opts.synchronous,
      });
      this.friends = new SqliteFriendStore(this.db, opts.maxNoticesPerUser);
      this.notices = new SqliteNoticeStore(this.db, opts.maxNoticesPerUser);
      this.convs = new SqliteConversationStore(this.db);
      this.groups = new SqliteGroupStore(this.db, opts.maxNoticesPerUser);
      const chats = this.chats;
      this.checkpointer = new IdleCheckpointer(this.db, () => chats.commits, opts.checkpointIdleMs);
    } catch (err) {
      this.db.close();
      if ((err as { code?: unknown }).code === 'SQLITE_BUSY') {
        throw new BackendError('STORE_UNAVAILABLE',
          `${this.file} is in use by another process: one server per data directory (or choose another dataDir)`, { cause: err });
      }
      throw sqliteError('open', err);
    }
  }

  /** Settings in effect and dedup state, for logs and metrics. */
  info(): { file: string; journalMode: string; synchronous: 'FULL' | 'NORMAL' | 'OTHER'; dedupRecent: number; dedupMerges: number } {
    const sync = Number(this.db.pragma('synchronous', { simple: true }));
    return {
      file: this.file,
      journalMode: String(this.db.pragma('journal_mode', { simple: true })),
      synchronous: sync === 2 ? 'FULL' : sync === 1 ? 'NORMAL' : 'OTHER',
      dedupRecent: this.chats.dedup.recentCount,
      dedupMerges: this.chats.dedup.merges,
    };
  }

  /** Resolves when the database answers SELECT 1. */
  ping(): Promise<void> {
    return settle('ping', () => {
      this.db.prepare('SELECT 1').get();
    });
  }

  /** Merges the dedup keys, checkpoints the WAL and closes the file. Safe to call twice. */
  close(): Promise<void> {
    return settle('close', () => {
      if (!this.db.open) return;
      this.checkpointer.stop();
      try {
        this.chats.dedup.merge(); // a shorter scan at the next open
        this.db.pragma('wal_checkpoint(TRUNCATE)');
      } finally {
        this.db.close();
      }
    });
  }
}

/** Opens the embedded store (see {@link SqliteStore}); rejects with BackendError on failure. */
export async function openSqliteStore(opts: SqliteStoreOptions): Promise<SqliteStore> {
  return new SqliteStore(opts);
}
