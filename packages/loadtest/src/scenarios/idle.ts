/**
 * idle: N connections log in and then only heartbeat. The parent samples the server's RSS before
 * and after (and at each --steps count), then its CPU over --duration seconds of pure heartbeats:
 * RSS per connection = (RSS at N − RSS before) / N, heartbeat cost = server CPU % of one core.
 *
 * Heartbeats come from one timer per worker that walks the connections in 100 ms buckets, so
 * 18,000 sockets cost one timer, not 18,000.
 */
import { nowUs, runPool } from '../clock';
import { encodeHistogram, newHistogram } from '../hist';
import { countError, errorsRecord, type TickCounters, type WorkerSide } from '../ipc';
import { sliceOf, type LoadOptions } from '../options';
import { LoadError, type RawConn } from '../raw-conn';
import { connectUser, makeUser } from '../users';

/** Resolution of the heartbeat sweep. */
export const HEARTBEAT_SWEEP_MS = 100;
/** Heartbeat interval when neither --heartbeat-ms nor the server's LoginAck says. */
export const FALLBACK_HEARTBEAT_MS = 5000;

/** What one idle worker returns from `result`. */
export interface IdleWorkerResult {
  connected: number;
  /** Connections that closed while they should have stayed (server closes, errors). */
  lost: number;
  heartbeats: number;
  heartbeatMs: number;
  errors: Record<string, number>;
}

/** The worker side of idle. */
export class IdleWorker implements WorkerSide {
  readonly calls: WorkerSide['calls'];
  private readonly conns: Array<RawConn | null> = [];
  private readonly errors = new Map<string, number>();
  private readonly start: number;
  private readonly end: number;
  private next = 0;
  private open = 0;
  private lost = 0;
  private heartbeats = 0;
  private heartbeatMs = 0;
  private sweep: NodeJS.Timeout | null = null;
  private closing = false;

  constructor(private readonly opts: LoadOptions, private readonly worker: number, private readonly workers: number) {
    const s = sliceOf(opts.connections, workers, worker);
    this.start = s.start;
    this.end = s.end;
    this.calls = {
      connect: (arg) => this.connectUpTo((arg as { upTo: number }).upTo),
      result: () => this.result(),
    };
  }

  tick(): TickCounters {
    return {
      atUs: nowUs(),
      connections: this.open, sent: 0, acked: 0, delivered: 0, logins: this.next,
      errors: errorsRecord(this.errors), hist: encodeHistogram(newHistogram()),
    };
  }

  /** Connects this worker's share of the first `upTo` connections of the run. */
  private async connectUpTo(upTo: number): Promise<{ connected: number }> {
    const s = sliceOf(upTo, this.workers, this.worker);
    const target = Math.min(this.end - this.start, s.end - s.start);
    const from = this.next;
    this.next = Math.max(this.next, target);
    await runPool(Math.max(0, target - from), this.opts.concurrency, async (j) => {
      const k = from + j;
      const user = makeUser(this.opts, this.start + k);
      try {
        const { conn, ack } = await connectUser(this.opts, user, {
          server: this.opts.servers[(this.start + k) % this.opts.servers.length]!, connIndex: this.start + k,
          handlers: {
            onError: (m) => countError(this.errors, m.code || 'UNKNOWN'),
            onClose: (_r, expected) => this.onClose(k, expected),
          },
        });
        this.conns[k] = conn;
        this.open++;
        if (this.heartbeatMs === 0) this.startHeartbeats(this.opts.heartbeatMs || ack.heartbeatMs || FALLBACK_HEARTBEAT_MS);
      } catch (err) {
        countError(this.errors, err instanceof LoadError ? err.code : 'CONNECT_FAILED');
      }
    });
    return { connected: this.open };
  }

  private onClose(k: number, expected: boolean): void {
    if (this.conns[k]) {
      this.conns[k] = null;
      this.open--;
      if (!expected && !this.closing) {
        this.lost++;
        countError(this.errors, 'CONNECTION_LOST');
      }
    }
  }

  /** One timer: every sweep, heartbeat the connections whose bucket is due. */
  private startHeartbeats(intervalMs: number): void {
    this.heartbeatMs = intervalMs;
    const buckets = Math.max(1, Math.round(intervalMs / HEARTBEAT_SWEEP_MS));
    let turn = 0;
    this.sweep = setInterval(() => {
      const b = turn++ % buckets;
      for (let k = b; k < this.conns.length; k += buckets) {
        const c = this.conns[k];
        if (c) {
          c.heartbeat();
          this.heartbeats++;
        }
      }
    }, HEARTBEAT_SWEEP_MS);
  }

  private async result(): Promise<IdleWorkerResult> {
    this.closing = true;
    if (this.sweep) clearInterval(this.sweep);
    const out: IdleWorkerResult = {
      connected: this.open, lost: this.lost, heartbeats: this.heartbeats, heartbeatMs: this.heartbeatMs,
      errors: errorsRecord(this.errors),
    };
    for (const c of this.conns) c?.destroy();
    return out;
  }
}
