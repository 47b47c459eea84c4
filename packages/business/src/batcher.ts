/**
 * Group commit (DESIGN.md "Persist in batches"): every chat submitted during one event-loop turn
 * goes into one appendBatch transaction. One batch is in flight at a time, so batches complete in
 * submission order and per-conversation seq order equals completion order. Callers are resolved
 * in input order.
 *
 * Cursor moves are coalesced per (user, conversation) to the highest seq and flushed each turn.
 */
import { BackendError } from '@hxim/im-common';
import type { AppendResult, ChatStore, CursorUpdate, NewChat } from './ports';

/** Most chats per transaction. */
export const DEFAULT_MAX_BATCH = 1000;
/** Most chats waiting; beyond it append() rejects at once (memory stays bounded). */
export const DEFAULT_MAX_QUEUE = 50_000;
/** A batch not committed within this rejects its callers (DESIGN.md contract 4: error within 2 s). */
export const DEFAULT_BATCH_TIMEOUT_MS = 2000;

/** ChatBatcher options. */
export interface ChatBatcherOptions {
  /** See {@link DEFAULT_MAX_BATCH}. */
  maxBatch?: number;
  /** See {@link DEFAULT_MAX_QUEUE}. */
  maxQueue?: number;
  /** See {@link DEFAULT_BATCH_TIMEOUT_MS}. */
  timeoutMs?: number;
}

interface Pending {
  chat: NewChat;
  resolve: (r: AppendResult) => void;
  reject: (e: unknown) => void;
}

/** Counters for metrics. */
export interface BatcherStats {
  batches: number;
  rows: number;
  failures: number;
  lastBatchMs: number;
  lastBatchRows: number;
}

/** Collects chats into batched appends. */
export class ChatBatcher {
  readonly stats: BatcherStats = { batches: 0, rows: 0, failures: 0, lastBatchMs: 0, lastBatchRows: 0 };
  private queue: Pending[] = [];
  private running: Promise<void> | null = null;
  private scheduled = false;
  private readonly maxBatch: number;
  private readonly maxQueue: number;
  private readonly timeoutMs: number;

  constructor(private readonly chats: ChatStore, opts: ChatBatcherOptions = {}) {
    this.maxBatch = opts.maxBatch ?? DEFAULT_MAX_BATCH;
    this.maxQueue = opts.maxQueue ?? DEFAULT_MAX_QUEUE;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_BATCH_TIMEOUT_MS;
  }

  /** Chats waiting for a batch. */
  get queued(): number {
    return this.queue.length;
  }

  /** Stores one chat with the next batch. */
  append(chat: NewChat): Promise<AppendResult> {
    if (this.queue.length >= this.maxQueue) {
      return Promise.reject(new BackendError('STORE_UNAVAILABLE', `store queue full (${this.maxQueue} chats waiting); retry later`));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ chat, resolve, reject });
      this.schedule();
    });
  }

  /** Resolves once everything submitted so far was committed (or failed). */
  async flush(): Promise<void> {
    while (this.running || this.queue.length > 0) {
      if (!this.running) this.kick();
      await this.running;
    }
  }

  private schedule(): void {
    if (this.scheduled || this.running) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.kick();
    });
  }

  private kick(): void {
    if (this.running || this.queue.length === 0) return;
    const batch = this.queue.length <= this.maxBatch ? this.queue : this.queue.slice(0, this.maxBatch);
    this.queue = batch === this.queue ? [] : this.queue.slice(this.maxBatch);
    this.running = this.commit(batch).finally(() => {
      this.running = null;
      if (this.queue.length > 0) this.schedule();
    });
  }

  private async commit(batch: Pending[]): Promise<void> {
    const t0 = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new BackendError('STORE_TIMEOUT',
        `the store did not commit within ${this.timeoutMs} ms; the message was not stored, resend it`)), this.timeoutMs);
    });
    try {
      const results = await Promise.race([this.chats.appendBatch(batch.map((p) => p.chat)), timeout]);
      this.stats.batches++;
      this.stats.rows += batch.length;
      this.stats.lastBatchRows = batch.length;
      this.stats.lastBatchMs = Date.now() - t0;
      for (let i = 0; i < batch.length; i++) batch[i]!.resolve(results[i]!);
    } catch (err) {
      this.stats.failures++;
      const e = err instanceof BackendError ? err : new BackendError('STORE_UNAVAILABLE', `the store failed: ${String(err)}`, { cause: err });
      for (const p of batch) p.reject(e);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** CursorBatcher options. */
export interface CursorBatcherOptions {
  /** Called with a flush error; the updates are kept and retried on the next flush. */
  onError?: (err: unknown) => void;
  /** Delay before a flush after the first update. Default 0 (next turn). */
  delayMs?: number;
}

/** Coalesces cursor moves and writes them in batches. */
export class CursorBatcher {
  private acks = new Map<string, CursorUpdate>();
  private reads = new Map<string, CursorUpdate>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(private readonly chats: ChatStore, private readonly opts: CursorBatcherOptions = {}) {}

  /** Records that `userId` received everything in `convId` up to `seq`. */
  ack(userId: number, convId: string, seq: number): void {
    merge(this.acks, userId, convId, seq);
    this.schedule();
  }

  /** Records that `userId` read everything in `convId` up to `seq`. */
  read(userId: number, convId: string, seq: number): void {
    merge(this.reads, userId, convId, seq);
    this.schedule();
  }

  /** Writes everything recorded so far. */
  async flush(): Promise<void> {
    if (this.running) await this.running;
    if (this.acks.size === 0 && this.reads.size === 0) return;
    this.running = this.write().finally(() => { this.running = null; });
    await this.running;
  }

  private schedule(): void {
    if (this.timer || this.running) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush().catch(() => undefined);
    }, this.opts.delayMs ?? 0);
  }

  private async write(): Promise<void> {
    const acks = this.acks, reads = this.reads;
    this.acks = new Map();
    this.reads = new Map();
    try {
      if (acks.size > 0) await this.chats.advanceAck([...acks.values()]);
      if (reads.size > 0) await this.chats.advanceRead([...reads.values()]);
    } catch (err) {
      // Keep them: cursors must not be lost because one flush failed.
      for (const u of acks.values()) merge(this.acks, u.userId, u.convId, u.seq);
      for (const u of reads.values()) merge(this.reads, u.userId, u.convId, u.seq);
      this.opts.onError?.(err);
      setTimeout(() => this.schedule(), 500).unref();
      return;
    }
    if (this.acks.size > 0 || this.reads.size > 0) setImmediate(() => this.schedule());
  }
}

function merge(map: Map<string, CursorUpdate>, userId: number, convId: string, seq: number): void {
  const key = `${userId}\u0000${convId}`;
  const cur = map.get(key);
  if (!cur) map.set(key, { userId, convId, seq });
  else if (seq > cur.seq) cur.seq = seq;
}
