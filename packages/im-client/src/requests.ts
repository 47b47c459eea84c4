/**
 * Requests waiting for their answer, keyed by requestId (SyncRequest → SyncResponse, and the
 * business requests of later issues). Any inbound frame whose `requestId` matches answers it; an
 * ErrorMessage with that requestId rejects it. All waiters of a connection fail when it closes.
 */
import { randomBytes } from 'node:crypto';
import { ClientError } from './errors';

interface Waiter {
  resolve(value: unknown): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

/** Pending requests of one client. */
export class RequestTracker {
  private readonly waiters = new Map<string, Waiter>();

  /** Number of unanswered requests. */
  get size(): number {
    return this.waiters.size;
  }

  /** True if `requestId` is waiting. */
  has(requestId: string): boolean {
    return this.waiters.has(requestId);
  }

  /** Registers a waiter; rejects with REQUEST_TIMEOUT after `timeoutMs`. */
  wait<T>(requestId: string, timeoutMs: number, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(requestId);
        reject(new ClientError('REQUEST_TIMEOUT', `${what} got no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.set(requestId, { resolve: resolve as (v: unknown) => void, reject, timer });
    });
  }

  /** Answers a request; false if nobody waits for it. */
  resolve(requestId: string, value: unknown): boolean {
    const w = this.take(requestId);
    if (!w) return false;
    w.resolve(value);
    return true;
  }

  /** Fails a request; false if nobody waits for it. */
  reject(requestId: string, err: Error): boolean {
    const w = this.take(requestId);
    if (!w) return false;
    w.reject(err);
    return true;
  }

  /** Fails every waiter (the connection closed). */
  failAll(err: Error): void {
    for (const id of [...this.waiters.keys()]) this.reject(id, err);
  }

  private take(requestId: string): Waiter | null {
    const w = this.waiters.get(requestId);
    if (!w) return null;
    this.waiters.delete(requestId);
    clearTimeout(w.timer);
    return w;
  }
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

let pool = Buffer.alloc(0);
let poolOff = 0;

/**
 * A random id of `length` characters from [A-Za-z0-9] (16 by default: ~95 bits). Random bytes
 * are drawn from a 4 KiB pool, so a load test sending 50k chats/s does not pay a call per id.
 */
export function randomId(length = 16): string {
  if (poolOff + length > pool.length) {
    pool = randomBytes(Math.max(4096, length));
    poolOff = 0;
  }
  let out = '';
  // 256 % 62 bias is under 2 %, irrelevant for uniqueness.
  for (let i = 0; i < length; i++) out += ALPHABET[pool[poolOff + i]! % ALPHABET.length];
  poolOff += length;
  return out;
}
