/**
 * One coarse timer for every connection's deadlines, instead of a timer per connection:
 * read-idle (seed.md §3.2), login deadline, partial-frame deadline and drain timeout.
 * The check runs every `periodMs`; a deadline is therefore met within one period.
 */
import { ImError } from '@hxim/im-common';
import type { Connection } from './connection';
import type { ServerOptions } from './config';

/** How often the housekeeping hook runs (e.g. dropping idle login-throttle entries). */
export const HOUSEKEEPING_MS = 10_000;

/** Deadline checks for a set of connections. */
export class Sweeper {
  private timer: NodeJS.Timeout | null = null;
  private lastHousekeeping = Date.now();

  /** @param housekeeping run every {@link HOUSEKEEPING_MS} from the same timer */
  constructor(private readonly conns: ReadonlySet<Connection>, private readonly opts: ServerOptions,
    private readonly housekeeping: (now: number) => void = () => undefined) {}

  /** The check period: a quarter of the shortest deadline, at most 1 s. */
  get periodMs(): number {
    const o = this.opts;
    return Math.max(20, Math.min(1000, Math.floor(Math.min(o.idleTimeoutMs, o.loginTimeoutMs, o.partialFrameTimeoutMs, o.drainTimeoutMs) / 4)));
  }

  /** Starts checking. */
  start(): void {
    this.timer ??= setInterval(() => this.sweep(Date.now()), this.periodMs);
    this.timer.unref();
  }

  /** Stops checking. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Checks every connection once against `now`. */
  sweep(now: number): void {
    if (now - this.lastHousekeeping >= HOUSEKEEPING_MS) {
      this.lastHousekeeping = now;
      this.housekeeping(now);
    }
    const o = this.opts;
    for (const c of this.conns) {
      if (c.state === 'closing' || c.state === 'closed') continue;
      if (now - c.lastReadAt > o.idleTimeoutMs) {
        c.fail(new ImError('IDLE_TIMEOUT', `nothing read for ${o.idleTimeoutMs} ms; send a heartbeat at least every ${o.heartbeatMs} ms`, { fatal: true }));
      } else if (c.state !== 'online' && now - c.openedAt > o.loginTimeoutMs) {
        c.fail(new ImError('LOGIN_TIMEOUT', `not logged in within ${o.loginTimeoutMs} ms`, { fatal: true }));
      } else if (c.partialSince !== 0 && now - c.partialSince > o.partialFrameTimeoutMs) {
        c.fail(new ImError('PARTIAL_FRAME_TIMEOUT', `a frame stayed incomplete for ${o.partialFrameTimeoutMs} ms`, { fatal: true }));
      } else if (c.outboundBytes > 0 && now - c.lastDrainedAt > o.drainTimeoutMs) {
        // It cannot read an error frame either; close without one.
        c.evict(`output not drained for ${o.drainTimeoutMs} ms`);
      }
    }
  }
}
