/**
 * Cursor moves (delivered acks, read marks) coalesced per (user, conversation) to the highest
 * seq and written once per event-loop turn with advanceAck / advanceRead. A busy conversation
 * acked by its member after every pushed message becomes one row update per turn.
 *
 * Cursors must not be lost because one write failed: on failure the updates are merged back
 * (keeping the highest seq) and retried after retryDelayMs, and again with each later write
 * until one succeeds. Losing an ack would only re-deliver (clients dedup), but losing a read
 * mark would resurrect unread counts. Automatic writes report failures to `onError`; an
 * explicit flush() rejects with the error instead.
 *
 * Memory is bounded by the number of distinct (user, conversation) pairs with a pending move.
 */
import type { ChatStore, CursorUpdate } from './ports';
import { validateCursorUpdate } from './validate';

/** Default wait before retrying a failed cursor write, in ms. */
export const DEFAULT_CURSOR_RETRY_MS = 500;

/** CursorBatcher options. */
export interface CursorBatcherOptions {
  /** Called with the error of a failed automatic write (default: ignored). */
  onError?: (err: unknown) => void;
  /** Delay before writing after the first move, in ms; default 0 (the next turn). */
  delayMs?: number;
  /** Wait before retrying a failed write, in ms; default {@link DEFAULT_CURSOR_RETRY_MS}. */
  retryDelayMs?: number;
}

/** CursorBatcher counters, for metrics. */
export interface CursorBatcherStats {
  /** Successful writes (each one advanceAck and/or one advanceRead). */
  flushes: number;
  /** Cursor rows written by them. */
  rows: number;
  /** Failed writes (their updates were kept). */
  failures: number;
  /** Moves dropped because they were malformed (bad user id, conversation id or seq). */
  dropped: number;
  /** Duration of the last successful write, in ms. */
  lastFlushMs: number;
}

type Pending = Map<string, CursorUpdate>;

function merge(map: Pending, u: CursorUpdate): void {
  // userId is a number, so the first "|" always ends it: keys cannot collide.
  const key = `${u.userId}|${u.convId}`;
  const cur = map.get(key);
  if (!cur) map.set(key, { userId: u.userId, convId: u.convId, seq: u.seq });
  else if (u.seq > cur.seq) cur.seq = u.seq;
}

/** Coalesces cursor moves and writes them in batches; see the module comment. */
export class CursorBatcher {
  /** Counters for metrics. */
  readonly stats: CursorBatcherStats = { flushes: 0, rows: 0, failures: 0, dropped: 0, lastFlushMs: 0 };
  private acks: Pending = new Map();
  private reads: Pending = new Map();
  private scheduled = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  /** @param chats the store whose cursors to move. */
  constructor(private readonly chats: ChatStore, private readonly opts: CursorBatcherOptions = {}) {}

  /** Moves waiting to be written. */
  get pending(): number {
    return this.acks.size + this.reads.size;
  }

  /** Records that `userId` received everything in `convId` up to `seq`. */
  ack(userId: number, convId: string, seq: number): void {
    this.record(this.acks, { userId, convId, seq });
  }

  /** Records that `userId` read everything in `convId` up to `seq`. */
  read(userId: number, convId: string, seq: number): void {
    this.record(this.reads, { userId, convId, seq });
  }

  /**
   * Writes every move recorded before the call. Rejects with the store's error if that write
   * fails (the moves are kept and retried).
   */
  async flush(): Promise<void> {
    if (this.retryTimer) {
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
    }
    while (this.running) await this.running.catch(() => undefined);
    if (this.pending === 0) return;
    await this.write();
  }

  private record(map: Pending, u: CursorUpdate): void {
    try {
      validateCursorUpdate(u);
    } catch {
      this.stats.dropped++; // the store would reject the whole write; the caller validates seqs
      return;
    }
    merge(map, u);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.running || this.retryTimer) return;
    this.scheduled = true;
    const run = (): void => {
      this.scheduled = false;
      if (this.running || this.pending === 0) return;
      this.write().catch((err: unknown) => this.opts.onError?.(err));
    };
    const delay = this.opts.delayMs ?? 0;
    if (delay > 0) setTimeout(run, delay);
    else setImmediate(run);
  }

  private write(): Promise<void> {
    const acks = this.acks;
    const reads = this.reads;
    this.acks = new Map();
    this.reads = new Map();
    const t0 = performance.now();
    const p = (async () => {
      let acksDone = acks.size === 0;
      try {
        if (!acksDone) await this.chats.advanceAck([...acks.values()]);
        acksDone = true;
        if (reads.size > 0) await this.chats.advanceRead([...reads.values()]);
      } catch (err) {
        // Keep what was not written, merged with anything recorded meanwhile.
        if (!acksDone) for (const u of acks.values()) merge(this.acks, u);
        for (const u of reads.values()) merge(this.reads, u);
        this.stats.failures++;
        this.retryLater();
        throw err;
      }
      this.stats.flushes++;
      this.stats.rows += acks.size + reads.size;
      this.stats.lastFlushMs = performance.now() - t0;
    })();
    this.running = p;
    const done = (): void => {
      if (this.running === p) this.running = null;
      if (this.pending > 0) this.schedule(); // moves recorded while this write ran
    };
    p.then(done, done);
    return p;
  }

  private retryLater(): void {
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.schedule();
    }, this.opts.retryDelayMs ?? DEFAULT_CURSOR_RETRY_MS);
    this.retryTimer.unref(); // a pending retry alone does not keep the process alive
  }
}
