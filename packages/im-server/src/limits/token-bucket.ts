/**
 * A token bucket: `burst` tokens, refilled at `ratePerSec`. It is the policy behind every rate
 * limit of the server (frames per connection, connections per listener, failed logins per
 * account and address). Time is passed in, so tests need no clock.
 */

/** One bucket. Two numbers of state: cheap enough for one per connection. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  /**
   * @param ratePerSec tokens added per second (> 0)
   * @param burst bucket size: tokens available at once (>= 1)
   */
  constructor(readonly ratePerSec: number, readonly burst: number, now = Date.now()) {
    if (!(ratePerSec > 0) || !(burst >= 1)) throw new RangeError(`TokenBucket needs ratePerSec > 0 and burst >= 1, got ${ratePerSec}/${burst}`);
    this.tokens = burst;
    this.last = now;
  }

  /** Tokens available at `now` (negative while in debt). */
  level(now: number): number {
    if (now > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.ratePerSec) / 1000);
      this.last = now;
    }
    return this.tokens;
  }

  /**
   * Takes `n` tokens even if that leaves the bucket in debt (the work was already read and
   * will be done); returns the level afterwards. A negative level means: stop taking work for
   * {@link waitMs} ms.
   */
  take(now: number, n = 1): number {
    this.tokens = this.level(now) - n;
    return this.tokens;
  }

  /** Takes `n` tokens if available and returns 0; otherwise takes nothing and returns ms to wait. */
  tryTake(now: number, n = 1): number {
    const level = this.level(now);
    if (level >= n) {
      this.tokens = level - n;
      return 0;
    }
    return Math.max(1, Math.ceil(((n - level) * 1000) / this.ratePerSec));
  }

  /** Ms until the level is back to `target` (0 if it is already there). */
  waitMs(now: number, target = 0): number {
    const level = this.level(now);
    return level >= target ? 0 : Math.max(1, Math.ceil(((target - level) * 1000) / this.ratePerSec));
  }

  /** True when the bucket is full at `now`: it then holds no information and may be dropped. */
  full(now: number): boolean {
    return this.level(now) >= this.burst;
  }
}
