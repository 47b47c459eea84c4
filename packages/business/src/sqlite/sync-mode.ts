/**
 * Per-transaction fsync policy. In WAL mode `PRAGMA synchronous` is read at each commit, so one
 * connection can commit some transactions without an fsync (NORMAL: the frames reach the OS, so a
 * process crash loses nothing; a power loss can lose them) and keep FULL for the others. A later
 * FULL commit or a checkpoint fsyncs the WAL file, which makes the earlier NORMAL frames durable
 * too (the WAL is appended in commit order).
 *
 * The chat store relaxes only the delivered-cursor (ack) commits: losing one means a message is
 * pushed again after a power loss, and clients drop it by (convId, seq). Message commits stay
 * FULL, so an acked message still survives a power loss. Under an already relaxed store (the
 * `synchronous: 'NORMAL'` option) this does nothing.
 */
import type Database from 'better-sqlite3';

/**
 * Switches one connection between its configured synchronous level and NORMAL.
 *
 * The pragma is run with exec(), never as a cached prepared statement: SQLite applies
 * `PRAGMA synchronous = x` while compiling it, so re-running a statement prepared earlier does
 * nothing on its first run (tests/sqlite-sync.test.ts caught exactly that). exec() compiles each
 * time, a few microseconds.
 */
export class SyncMode {
  private readonly toNormal = 'PRAGMA synchronous = NORMAL';
  private readonly toConfigured: string;
  /** True while (or if a failed restore left) the connection at NORMAL. */
  private relaxedNow = false;

  /**
   * @param db the connection.
   * @param configured its configured level; only FULL is ever relaxed.
   */
  constructor(private readonly db: Database.Database, private readonly configured: 'FULL' | 'NORMAL') {
    this.toConfigured = `PRAGMA synchronous = ${configured}`;
  }

  /** Runs `fn` (one transaction) with synchronous = NORMAL, then restores the configured level. */
  relaxed<T>(fn: () => T): T {
    if (this.configured === 'NORMAL') return fn();
    this.db.exec(this.toNormal);
    this.relaxedNow = true;
    try {
      return fn();
    } finally {
      this.db.exec(this.toConfigured);
      this.relaxedNow = false;
    }
  }

  /**
   * Call before a transaction that must be durable: restores the configured level if a failed
   * restore in {@link relaxed} left the connection relaxed (a no-op otherwise).
   */
  strict(): void {
    if (!this.relaxedNow) return;
    this.db.exec(this.toConfigured);
    this.relaxedNow = false;
  }
}
