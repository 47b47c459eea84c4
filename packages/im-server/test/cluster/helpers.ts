/**
 * Small helpers shared by the cluster contract suites and tests: bounded polling, deferreds, a
 * recording logger and test envelopes. Every wait is bounded: a test fails, never hangs.
 */
import { randomBytes } from 'node:crypto';
import type { ClusterLogger, DeliverEnvelope } from '../../src/cluster';

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Polls `cond` every `everyMs` until it returns true; throws (naming `what`) after `timeoutMs`.
 */
export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 5_000, everyMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Rejects with a message naming `what` if `p` does not settle within `ms`. */
export async function within<T>(what: string, ms: number, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** A promise with its resolve/reject exposed. */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve(v: T): void;
  reject(e: unknown): void;
}

/** Creates a {@link Deferred}. */
export function deferred<T = void>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A unique id fragment for this process and run: keys, queues and instance ids never collide. */
export function runTag(): string {
  return `t${process.pid}-${randomBytes(3).toString('hex')}`;
}

/** A logger that records lines instead of printing them. */
export function recordingLogger(): ClusterLogger & { lines: { level: string; msg: string }[] } {
  const lines: { level: string; msg: string }[] = [];
  const rec = (level: string) => (_obj: object, msg: string) => {
    lines.push({ level, msg });
  };
  return { lines, debug: rec('debug'), info: rec('info'), warn: rec('warn'), error: rec('error') };
}

/** A deliver envelope whose frame carries `n` (read back with {@link seqOf}). */
export function deliverOf(origin: string, n: number, userIds: number[] = [1001]): DeliverEnvelope {
  const frame = Buffer.alloc(12);
  frame.writeInt32BE(4, 0);
  frame.writeInt32BE(2, 4);
  frame.writeInt32BE(n, 8);
  return { kind: 'deliver', origin, userIds, exceptConnId: '', frame };
}

/** The number {@link deliverOf} put in an envelope's frame. */
export function seqOf(env: { kind: string; frame?: Buffer }): number {
  return env.frame ? env.frame.readInt32BE(8) : -1;
}
