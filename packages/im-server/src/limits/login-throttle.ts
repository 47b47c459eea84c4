/**
 * Failed-login throttling per account name and per remote address (issue 7, "Abuse").
 *
 * Each key has a token bucket of `limit` failures refilled evenly over `windowMs`: at most
 * `limit` failures in a burst, and `limit` per window after that. Only failures take tokens,
 * so a user who types the right password is never slowed down. While a key's bucket is empty,
 * login attempts for it are refused with LOGIN_THROTTLED and a retryAfterMs *before* any
 * scrypt runs, so guessing costs the server nothing.
 *
 * Memory is bounded: a full bucket carries no information and is dropped by {@link sweep}; at
 * most `maxEntries` keys are kept per kind, and when full the least recently failing key is
 * evicted (Map insertion order; a failing key is re-inserted at the end).
 *
 * Trade-off (documented in docs/operations.md): throttling by account lets anyone lock an
 * account out of *password* logins for a while; token logins are throttled by address only, so
 * a user's existing devices keep working.
 */
import { TokenBucket } from './token-bucket';
import { RetryLaterError } from './retry-later';

/** Most keys kept per kind (accounts, addresses). */
export const DEFAULT_MAX_THROTTLE_ENTRIES = 100_000;

/** Options of {@link LoginThrottle}. */
export interface LoginThrottleOptions {
  /** Failures per account per window; 0 = unlimited. */
  perAccount: number;
  /** Failures per address per window; 0 = unlimited. */
  perAddress: number;
  /** The window, in ms. */
  windowMs: number;
  /** Bound on keys per kind; default {@link DEFAULT_MAX_THROTTLE_ENTRIES}. */
  maxEntries?: number;
}

class KeyedBuckets {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(private readonly limit: number, private readonly windowMs: number, private readonly maxEntries: number) {}

  get size(): number {
    return this.buckets.size;
  }

  /** Ms until `key` may try again (0: now). */
  wait(key: string, now: number): number {
    if (this.limit === 0) return 0;
    return this.buckets.get(key)?.waitMs(now, 1) ?? 0;
  }

  fail(key: string, now: number): void {
    if (this.limit === 0) return;
    let b = this.buckets.get(key);
    if (b) this.buckets.delete(key);
    else {
      if (this.buckets.size >= this.maxEntries) this.buckets.delete(this.buckets.keys().next().value!);
      b = new TokenBucket((this.limit * 1000) / this.windowMs, this.limit, now);
    }
    this.buckets.set(key, b);
    b.take(now);
  }

  sweep(now: number): void {
    for (const [k, b] of this.buckets) if (b.full(now)) this.buckets.delete(k);
  }
}

/** Throttles failed logins by account and address. */
export class LoginThrottle {
  private readonly accounts: KeyedBuckets;
  private readonly addresses: KeyedBuckets;

  constructor(opts: LoginThrottleOptions) {
    const max = opts.maxEntries ?? DEFAULT_MAX_THROTTLE_ENTRIES;
    this.accounts = new KeyedBuckets(opts.perAccount, opts.windowMs, max);
    this.addresses = new KeyedBuckets(opts.perAddress, opts.windowMs, max);
  }

  /** Keys tracked, for metrics and tests. */
  get entries(): { accounts: number; addresses: number } {
    return { accounts: this.accounts.size, addresses: this.addresses.size };
  }

  /**
   * Throws a fatal LOGIN_THROTTLED {@link RetryLaterError} when `address`, or `account` (a
   * user name; "" for token logins), has used up its failures.
   */
  check(account: string, address: string, now = Date.now()): void {
    const byAddress = this.addresses.wait(address, now);
    const byAccount = account ? this.accounts.wait(normalise(account), now) : 0;
    const wait = Math.max(byAddress, byAccount);
    if (wait > 0) {
      throw new RetryLaterError('LOGIN_THROTTLED',
        `too many failed logins ${byAccount >= byAddress ? 'for this account' : 'from your address'}; retry in ${Math.ceil(wait / 1000)} s`,
        wait, { fatal: true });
    }
  }

  /** Records one failed login. */
  fail(account: string, address: string, now = Date.now()): void {
    this.addresses.fail(address, now);
    if (account) this.accounts.fail(normalise(account), now);
  }

  /** Drops keys whose allowance is whole again. Call periodically (the sweeper does). */
  sweep(now = Date.now()): void {
    this.accounts.sweep(now);
    this.addresses.sweep(now);
  }
}

function normalise(account: string): string {
  return account.slice(0, 64).toLowerCase();
}
