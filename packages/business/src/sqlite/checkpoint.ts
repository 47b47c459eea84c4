/**
 * WAL checkpoints off the hot path. A checkpoint copies the WAL's pages into the database file and
 * fsyncs it: 1.5-2.5 ms on this box, blocking the event loop like every better-sqlite3 call.
 * SQLite's automatic checkpoint runs inside the commit that crosses wal_autocheckpoint, so the
 * messages of that commit, and everything queued behind it, wait for it.
 *
 * The policy here: a PASSIVE checkpoint as soon as the store has been idle (no commit) for one
 * interval, so that traffic with pauses rarely carries a checkpoint in a commit; the automatic
 * checkpoint (wal_autocheckpoint) stays for sustained load with no pause. A checkpoint of a WAL
 * that is already copied costs no fsync. This module never touches the data itself.
 */
import type Database from 'better-sqlite3';

/** Default idle interval before a checkpoint, in ms (0 disables the idle checkpoint). */
export const DEFAULT_SQLITE_CHECKPOINT_IDLE_MS = 500;

/** IdleCheckpointer counters, for tests and metrics. */
export interface CheckpointStats {
  /** Idle checkpoints run. */
  checkpoints: number;
  /** WAL frames in the log at the last one. */
  lastFrames: number;
  /** Duration of the last one, ms. */
  lastMs: number;
}

/** Runs `PRAGMA wal_checkpoint(PASSIVE)` when the write counter has not moved for one interval. */
export class IdleCheckpointer {
  /** Counters. */
  readonly stats: CheckpointStats = { checkpoints: 0, lastFrames: 0, lastMs: 0 };
  private seen: number;
  private checkpointedAt: number;
  private readonly timer: NodeJS.Timeout | null;

  /**
   * @param db the connection (its own write lock: locking_mode=EXCLUSIVE).
   * @param writes the store's commit counter; a change means "not idle".
   * @param idleMs the interval; 0 starts no timer (call {@link tick} yourself).
   */
  constructor(private readonly db: Database.Database, private readonly writes: () => number, idleMs: number) {
    this.seen = writes();
    this.checkpointedAt = this.seen;
    this.timer = idleMs > 0 ? setInterval(() => this.tickSafely(), idleMs) : null;
    this.timer?.unref(); // a checkpoint alone does not keep the process alive
  }

  /**
   * One timer step: checkpoints if nothing was committed since the previous step and something
   * was since the last checkpoint. Returns true when it checkpointed. Throws the driver's error.
   */
  tick(): boolean {
    const n = this.writes();
    if (n !== this.seen) {
      this.seen = n; // still writing: wait for a quiet interval
      return false;
    }
    if (n === this.checkpointedAt) return false;
    const t0 = performance.now();
    const row = this.db.pragma('wal_checkpoint(PASSIVE)', { simple: false }) as Array<{ log: number }>;
    this.stats.lastMs = performance.now() - t0;
    this.stats.lastFrames = Number(row[0]?.log ?? 0);
    this.stats.checkpoints++;
    this.checkpointedAt = n;
    return true;
  }

  /** Stops the timer. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private tickSafely(): void {
    try {
      if (this.db.open) this.tick();
    } catch {
      // A failing disk fails the next commit with a proper error; the automatic checkpoint and
      // the next idle interval try again.
    }
  }
}
