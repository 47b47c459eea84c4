/**
 * The live progress line, once a second on stderr: phase, connections, sent/acked/delivered per
 * second, p99 so far (delivery latency; login latency in login-storm) and errors by code. On a
 * terminal it rewrites one line; otherwise (CI logs) it prints one line per second.
 */
import { nowUs } from './clock';
import { mergeHistograms } from './hist';
import { mergeErrors, type TickCounters } from './ipc';

/** Progress is printed this often. */
export const PROGRESS_MS = 1000;

/** One second's view, ready to format. */
export interface ProgressView {
  scenario: string;
  phase: string;
  /** Seconds left in the phase, when it has an end. */
  leftS: number | null;
  connections: number;
  sentPerS: number;
  ackedPerS: number;
  deliveredPerS: number;
  loginsPerS: number;
  p99Ms: number | null;
  errors: Record<string, number>;
}

/** Formats one progress line (pure, for tests). */
export function formatProgress(v: ProgressView): string {
  const left = v.leftS === null ? '' : ` ${Math.max(0, Math.ceil(v.leftS))}s left`;
  const errs = Object.entries(v.errors).sort((a, b) => b[1] - a[1]);
  const parts = [
    `[${v.scenario} ${v.phase}${left}]`,
    `conns ${v.connections}`,
    v.sentPerS || v.ackedPerS || v.deliveredPerS
      ? `sent ${fmt(v.sentPerS)}/s acked ${fmt(v.ackedPerS)}/s delivered ${fmt(v.deliveredPerS)}/s`
      : v.loginsPerS ? `logins ${fmt(v.loginsPerS)}/s` : 'idle',
    `p99 ${v.p99Ms === null ? '-' : `${v.p99Ms.toFixed(2)} ms`}`,
    `errors ${errs.length === 0 ? 'none' : errs.map(([k, n]) => `${k}=${n}`).join(' ')}`,
  ];
  return parts.join(' | ');
}

function fmt(n: number): string {
  return n >= 10_000 ? `${(n / 1000).toFixed(1)}k` : String(Math.round(n));
}

interface Rates { sent: number; acked: number; delivered: number; logins: number }

/** Anything with the workers' latest ticks. */
export interface TickSource { readonly ticks: ReadonlyArray<TickCounters | undefined> }

/** Prints the progress line while a run is under way. */
export class Progress {
  private phase = 'start';
  private untilUs: number | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** Per worker: the tick rates were last computed from, and those rates. */
  private readonly seen = new Map<number, { tick: TickCounters; rates: Rates }>();

  constructor(private readonly scenario: string, private readonly source: TickSource, private readonly enabled: boolean,
    private readonly out: NodeJS.WriteStream = process.stderr) {}

  /** Names the current phase; `untilUs` (monotonic) shows a countdown. */
  setPhase(phase: string, untilUs: number | null = null): void {
    this.phase = phase;
    this.untilUs = untilUs;
  }

  /** Starts printing. */
  start(): void {
    if (!this.enabled || this.timer) return;
    this.timer = setInterval(() => this.print(), PROGRESS_MS);
    this.timer.unref();
  }

  /** Stops printing (and ends a rewritten line). */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.enabled && this.out.isTTY) this.out.write('\n');
  }

  /**
   * The current view from the workers' ticks. Rates come from each worker's two latest ticks and
   * its own timestamps, so a tick arriving just after a print does not show as a dip and a spike.
   */
  view(): ProgressView {
    const ticks = this.source.ticks.filter((t): t is TickCounters => t !== undefined);
    const total: Rates = { sent: 0, acked: 0, delivered: 0, logins: 0 };
    this.source.ticks.forEach((t, w) => {
      if (!t) return;
      const prev = this.seen.get(w);
      let rates = prev?.rates ?? { sent: 0, acked: 0, delivered: 0, logins: 0 };
      if (prev && t.atUs > prev.tick.atUs) {
        const dt = (t.atUs - prev.tick.atUs) / 1e6;
        rates = { sent: (t.sent - prev.tick.sent) / dt, acked: (t.acked - prev.tick.acked) / dt,
          delivered: (t.delivered - prev.tick.delivered) / dt, logins: (t.logins - prev.tick.logins) / dt };
      }
      if (!prev || t.atUs > prev.tick.atUs) this.seen.set(w, { tick: t, rates });
      for (const k of ['sent', 'acked', 'delivered', 'logins'] as const) total[k] += rates[k];
    });
    const h = mergeHistograms(ticks.map((t) => t.hist));
    return {
      scenario: this.scenario, phase: this.phase, leftS: this.untilUs === null ? null : (this.untilUs - nowUs()) / 1e6,
      connections: ticks.reduce((a, t) => a + t.connections, 0),
      sentPerS: total.sent, ackedPerS: total.acked, deliveredPerS: total.delivered, loginsPerS: total.logins,
      p99Ms: h.totalCount > 0 ? h.getValueAtPercentile(99) / 1000 : null,
      errors: mergeErrors(ticks.map((t) => t.errors)),
    };
  }

  private print(): void {
    const line = formatProgress(this.view());
    if (this.out.isTTY) this.out.write(`\r\x1b[K${line}`);
    else this.out.write(`${line}\n`);
  }
}
