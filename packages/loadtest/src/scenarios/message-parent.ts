/**
 * What the parent sides of the message scenarios (chat-parent.ts, group-parent.ts) share: one
 * common start instant after setup, the run step with /proc samples at the edges of the measured
 * window, and the figures, notes and outcome merged from the workers' results.
 */
import { nowUs } from '../clock';
import { encodeHistogram, mergeHistograms, summarize, type Histogram } from '../hist';
import { mergeReports } from '../history';
import { mergeErrors } from '../ipc';
import { round } from '../proc';
import { cpuFigures, sampleWindow, type WindowSamples } from './measure-window';
import type { MessageWorkerResult, MsgCounts } from './message-worker';
import type { ParentContext, ScenarioOutcome } from './types';

/** Gap between the last worker's "setup done" and the common start. */
export const START_DELAY_US = 300_000;

/** Starts every worker's run step at one common instant and samples the measured window. */
export async function runMeasured(ctx: ParentContext): Promise<{ drained: boolean; samples: WindowSamples }> {
  const { opts: o, pool, progress } = ctx;
  const startUs = nowUs() + START_DELAY_US;
  const measureStart = startUs + o.warmupS * 1e6;
  const measureEnd = measureStart + o.durationS * 1e6;
  progress.setPhase('warm-up', measureStart);
  const sampler = sampleWindow(ctx, measureStart, measureEnd);
  const runs = await pool.call<{ drained: boolean }>('run', () => ({ startUs }));
  const samples = await sampler;
  return { drained: runs.every((r) => r.drained), samples };
}

/** The workers' results merged, with the figures and notes every message scenario reports. */
export interface MergedRun {
  delivery: Histogram;
  ack: Histogram;
  /** Events inside the measured window, over every worker. */
  win: MsgCounts;
  errors: Record<string, number>;
  cpu: ReturnType<typeof cpuFigures>;
  /** Largest pacer lag over the workers, ms. */
  lag: number;
  /** The drain, catch-up and pacer notes. */
  notes: string[];
  sum(f: (r: MessageWorkerResult) => number): number;
}

/** How a scenario names its parts in figures and notes. */
export interface MergeSpec {
  /** What the CPU figures count per unit ("msg", "delivery"). */
  unit: string;
  /** Who receives, in the catch-up note ("receiver", "member"). */
  receiver: string;
  /** Notes of the scenario's own errors, placed before the pacer note. */
  errorNotes?(errors: Record<string, number>): string[];
}

/** Merges the workers' results. */
export function mergeRun(ctx: ParentContext, rs: readonly MessageWorkerResult[], drained: boolean, samples: WindowSamples, spec: MergeSpec): MergedRun {
  const o = ctx.opts;
  const sum = (f: (r: MessageWorkerResult) => number): number => rs.reduce((a, r) => a + f(r), 0);
  const win = { sent: sum((r) => r.window.sent), acked: sum((r) => r.window.acked), delivered: sum((r) => r.window.delivered) };
  const lag = Math.max(...rs.map((r) => r.pacerMaxLagMs));
  const errors = mergeErrors(rs.map((r) => r.errors));
  const notes: string[] = [];
  if (!drained) notes.push(`drain timeout (${o.drainS} s): acks or deliveries were still outstanding; the catch-up and the history check cover the rest`);
  if (errors.CATCHUP_FAILED) notes.push(`the catch-up did not complete for every ${spec.receiver}: "lost" may include messages that are stored but were not fetched`);
  notes.push(...(spec.errorNotes?.(errors) ?? []));
  if (o.mode === 'open' && lag > 50) notes.push(`the open-loop pacer fell up to ${lag} ms behind its schedule: the load tool was saturated; latencies still count from the intended send times`);
  return {
    delivery: mergeHistograms(rs.map((r) => r.deliveryHist)), ack: mergeHistograms(rs.map((r) => r.ackHist)),
    win, errors, cpu: cpuFigures(ctx, samples, win.delivered, spec.unit), lag, notes, sum,
  };
}

/** Rates over the measured window; the delivered rate under `delivered`. */
export function rateFigures(ctx: ParentContext, m: MergedRun, delivered: string): ScenarioOutcome['figures'] {
  const secs = ctx.opts.durationS;
  return { 'sent/s': round(m.win.sent / secs, 1), 'acked/s': round(m.win.acked / secs, 1), [delivered]: round(m.win.delivered / secs, 1) };
}

/** Delivery latency percentiles. */
export function deliveryFigures(m: MergedRun): ScenarioOutcome['figures'] {
  const d = summarize(m.delivery);
  return { 'delivery p50 ms': d.p50Ms, 'delivery p99 ms': d.p99Ms, 'delivery p99.9 ms': d.p999Ms };
}

/** The CPU figures, then the driver's own: pacer lag, event-loop delay, messages sent, reconnects. */
export function driverFigures(ctx: ParentContext, m: MergedRun, rs: readonly MessageWorkerResult[]): ScenarioOutcome['figures'] {
  return {
    ...m.cpu.figures,
    'pacer max lag ms': ctx.opts.mode === 'open' ? m.lag : null,
    'driver event-loop delay p99 / max ms': `${Math.max(...rs.map((r) => r.loopDelayP99Ms))} / ${Math.max(...rs.map((r) => r.loopDelayMaxMs))}`,
    'messages sent (all)': m.sum((r) => r.totals.sent),
    reconnects: m.sum((r) => r.reconnects),
  };
}

/** The outcome: `latency` names the histograms to summarize and encode, in report order. */
export function messageOutcome(
  ctx: ParentContext, m: MergedRun, rs: readonly MessageWorkerResult[], connections: number,
  figures: ScenarioOutcome['figures'], latency: Record<string, Histogram>,
): ScenarioOutcome {
  const summaries: ScenarioOutcome['latency'] = {};
  const histograms: ScenarioOutcome['histograms'] = {};
  for (const [name, h] of Object.entries(latency)) {
    summaries[name] = summarize(h);
    histograms[name] = encodeHistogram(h);
  }
  return {
    connections: { target: connections, connected: connections },
    errors: m.errors,
    history: mergeReports(rs.map((r) => r.history)),
    figures,
    latency: summaries,
    histograms,
    server: m.cpu.server,
    driver: m.cpu.driver,
    services: m.cpu.services,
    ok: m.win.delivered > 0 || ctx.opts.maxMessages > 0,
    notes: m.notes,
  };
}
