/**
 * The parent's side of the worker processes: forks them (child_process.fork), sends each the
 * options and its share, runs named calls on all of them at once, and collects their progress
 * ticks. Each worker holds at most MAX_SOCKETS_PER_WORKER sockets (the fd limit is per process).
 */
import { fork, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import type { FromWorker, TickCounters, ToWorker } from './ipc';
import type { LoadOptions } from './options';

/** A worker that does not answer `init` within this long is considered broken. */
export const WORKER_START_TIMEOUT_MS = 15_000;

interface Pending { replies: unknown[]; left: number; resolve(v: unknown[]): void; reject(e: Error): void }

/** A set of worker processes driven together. */
export class WorkerPool {
  /** The latest tick of each worker (undefined until its first). */
  readonly ticks: Array<TickCounters | undefined>;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private closing = false;

  private constructor(private readonly children: ChildProcess[]) {
    this.ticks = children.map(() => undefined);
  }

  /** Forks `count` workers and initialises them with `opts`. */
  static async start(opts: LoadOptions, count: number, workerScript = path.join(__dirname, 'worker.js')): Promise<WorkerPool> {
    // execArgv: [] so a parent run under --cpu-prof or the test runner does not pass that on.
    const children = Array.from({ length: count }, () => fork(workerScript, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] }));
    const pool = new WorkerPool(children);
    await Promise.all(children.map((child, w) => pool.init(child, w, opts, count)));
    return pool;
  }

  /** Worker count. */
  get size(): number {
    return this.children.length;
  }

  /** Pids of the workers (to sample their CPU). */
  get pids(): number[] {
    return this.children.map((c) => c.pid ?? 0);
  }

  /**
   * Runs `method` on every worker (`args(w)` gives each its argument) and resolves with the
   * replies in worker order. Rejects if any worker fails or exits.
   */
  call<T>(method: string, args: (w: number) => unknown = () => undefined): Promise<T[]> {
    const id = ++this.nextId;
    return new Promise<T[]>((resolve, reject) => {
      this.pending.set(id, {
        replies: new Array(this.children.length), left: this.children.length,
        resolve: resolve as (v: unknown[]) => void, reject,
      });
      this.children.forEach((c, w) => this.send(c, { t: 'call', id, method, arg: args(w) }));
    });
  }

  /** Kills every worker (SIGKILL after a grace period for those still running). */
  async close(graceMs = 2000): Promise<void> {
    this.closing = true;
    await Promise.all(this.children.map((c) => new Promise<void>((resolve) => {
      if (c.exitCode !== null || c.signalCode !== null) return resolve();
      const t = setTimeout(() => c.kill('SIGKILL'), graceMs);
      c.once('exit', () => { clearTimeout(t); resolve(); });
      c.disconnect?.();
      c.kill('SIGTERM');
    })));
  }

  private init(child: ChildProcess, w: number, opts: LoadOptions, count: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker ${w} did not start within ${WORKER_START_TIMEOUT_MS} ms`)), WORKER_START_TIMEOUT_MS);
      child.on('message', (m: FromWorker) => {
        if (m.t === 'ready') { clearTimeout(timer); resolve(); } else this.onMessage(w, m);
      });
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        const err = new Error(`worker ${w} exited (${signal ?? `code ${code}`}) during the run`);
        reject(err);
        if (!this.closing) this.failAll(err);
      });
      this.send(child, { t: 'init', opts, worker: w, workers: count });
    });
  }

  private onMessage(w: number, m: FromWorker): void {
    if (m.t === 'tick') {
      this.ticks[w] = m.c;
      return;
    }
    if (m.t !== 'reply') return;
    const p = this.pending.get(m.id);
    if (!p) return;
    if (m.error !== undefined) {
      this.pending.delete(m.id);
      p.reject(new Error(`worker ${w}: ${m.error}`));
      return;
    }
    p.replies[w] = m.value;
    if (--p.left === 0) {
      this.pending.delete(m.id);
      p.resolve(p.replies);
    }
  }

  private failAll(err: Error): void {
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.reject(err);
    }
  }

  private send(child: ChildProcess, m: ToWorker): void {
    if (child.connected) child.send(m);
  }
}
