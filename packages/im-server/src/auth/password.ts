/**
 * Password hashing with scrypt (DESIGN.md: N=2^17, r=8, p=1, 16-byte salt, maxmem 256 MiB,
 * timingSafeEqual). Hashing runs in libuv's thread pool, never on the event loop, with bounded
 * concurrency: at most `concurrency` at once and a bounded wait queue, so a login storm cannot
 * occupy every pool thread (which DNS and fs also need) or queue without limit.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { ImError } from '@hxim/im-common';

const KEY_LEN = 32;
const SALT_LEN = 16;
const MAXMEM = 256 * 1024 * 1024;

function scryptAsync(password: string, salt: Buffer, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, KEY_LEN, opts, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** Hashes and verifies passwords. Hash format: "scrypt$logN$r$p$saltB64$keyB64". */
export class PasswordHasher {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  /**
   * @param logN cost as log2(N) for new hashes (verification uses the cost stored in the hash)
   * @param concurrency computations at once
   * @param maxQueue callers allowed to wait; beyond it LOGIN_THROTTLED
   */
  constructor(private readonly logN: number, private readonly concurrency: number, private readonly maxQueue = 1000) {}

  /** A new salted hash of `password`. */
  async hash(password: string): Promise<string> {
    const salt = randomBytes(SALT_LEN);
    const key = await this.run(() => scryptAsync(password, salt, { N: 2 ** this.logN, r: 8, p: 1, maxmem: MAXMEM }));
    return `scrypt$${this.logN}$8$1$${salt.toString('base64')}$${key.toString('base64')}`;
  }

  /** True when `password` matches `stored`. A malformed stored hash never matches. */
  async verify(password: string, stored: string): Promise<boolean> {
    const parts = stored.split('$');
    if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
    const [logN, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
    if (![logN, r, p].every(Number.isInteger) || logN < 1 || logN > 20 || r < 1 || r > 32 || p < 1 || p > 16) return false;
    const salt = Buffer.from(parts[4]!, 'base64');
    const expected = Buffer.from(parts[5]!, 'base64');
    if (expected.length !== KEY_LEN) return false;
    const key = await this.run(() => scryptAsync(password, salt, { N: 2 ** logN, r, p, maxmem: MAXMEM }));
    return timingSafeEqual(key, expected);
  }

  private async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.concurrency) {
      if (this.waiting.length >= this.maxQueue) {
        throw new ImError('LOGIN_THROTTLED', 'too many password checks in progress; retry in a moment');
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}
