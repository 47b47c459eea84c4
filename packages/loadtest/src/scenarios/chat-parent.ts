/**
 * The parent side of chat, cross and soak: setup on every worker, one common start instant,
 * server and driver /proc samples at the edges of the measured window, drain, catch-up, then the
 * merged histograms, rates and history.
 */
import { nowUs } from '../clock';
import { encodeHistogram, mergeHistograms, summarize } from '../hist';
import { mergeReports } from '../history';
import { mergeErrors } from '../ipc';
import { round } from '../proc';
import type { ChatWorkerResult } from './chat-worker';
import { cpuFigures, sampleWindow, type WindowSamples } from './measure-window';
import type { ParentContext, ScenarioOutcome } from './types';

/** Gap between the last worker's "setup done" and the common start. */
export const START_DELAY_US = 300_000;

/** Runs chat, cross or soak. */
export async function runChatParent(ctx: ParentContext): Promise<ScenarioOutcome> {
  const { opts: o, pool, progress } = ctx;
  progress.setPhase('login');
  await pool.call('setup');
  const startUs = nowUs() + START_DELAY_US;
  const measureStart = startUs + o.warmupS * 1e6;
  const measureEnd = measureStart + o.durationS * 1e6;
  progress.setPhase('warm-up', measureStart);
  const sampler = sampleWindow(ctx, measureStart, measureEnd);
  const runs = await pool.call<{ drained: boolean }>('run', () => ({ startUs }));
  const samples = await sampler;
  progress.setPhase('catch-up');
  await pool.call('catchup');
  progress.setPhase('check');
  const results = await pool.call<ChatWorkerResult>('result');
  return outcome(ctx, results, runs.every((r) => r.drained), samples);
}

function outcome(ctx: ParentContext, rs: ChatWorkerResult[], drained: boolean, samples: WindowSamples): ScenarioOutcome {
  const o = ctx.opts;
  const sum = (f: (r: ChatWorkerResult) => number): number => rs.reduce((a, r) => a + f(r), 0);
  const delivery = mergeHistograms(rs.map((r) => r.deliveryHist));
  const ack = mergeHistograms(rs.map((r) => r.ackHist));
  const secs = o.durationS;
  const win = { sent: sum((r) => r.window.sent), acked: sum((r) => r.window.acked), delivered: sum((r) => r.window.delivered) };
  const cpu = cpuFigures(ctx, samples, win.delivered, 'msg');
  const lag = Math.max(...rs.map((r) => r.pacerMaxLagMs));
  const notes: string[] = [];
  if (!drained) notes.push(`drain timeout (${o.drainS} s): acks or deliveries were still outstanding; the catch-up and the history check cover the rest`);
  const errors = mergeErrors(rs.map((r) => r.errors));
  if (errors.CATCHUP_FAILED) notes.push('the catch-up did not complete for every receiver: "lost" may include messages that are stored but were not fetched');
  if (o.mode === 'open' && lag > 50) notes.push(`the open-loop pacer fell up to ${lag} ms behind its schedule: the load tool was saturated; latencies still count from the intended send times`);
  const deliveredPerS = round(win.delivered / secs, 1);
  const figures: ScenarioOutcome['figures'] = {
    mode: o.mode === 'open' ? `open loop ${o.rate}/s` : `closed loop, window ${o.window}/pair`,
    pairs: o.pairs,
    client: o.client,
    'sent/s': round(win.sent / secs, 1),
    'acked/s': round(win.acked / secs, 1),
    'delivered/s': deliveredPerS,
    'delivery p50 ms': summarize(delivery).p50Ms,
    'delivery p99 ms': summarize(delivery).p99Ms,
    'delivery p99.9 ms': summarize(delivery).p999Ms,
    'ack p99 ms': summarize(ack).p99Ms,
    ...cpu.figures,
    'pacer max lag ms': o.mode === 'open' ? lag : null,
    'driver event-loop delay p99 / max ms': `${Math.max(...rs.map((r) => r.loopDelayP99Ms))} / ${Math.max(...rs.map((r) => r.loopDelayMaxMs))}`,
    'messages sent (all)': sum((r) => r.totals.sent),
    reconnects: sum((r) => r.reconnects),
  };
  if (o.scenario === 'soak') figures['churned connections'] = sum((r) => r.churned);
  return {
    connections: { target: 2 * o.pairs, connected: 2 * o.pairs },
    errors,
    history: mergeReports(rs.map((r) => r.history)),
    figures,
    latency: { delivery: summarize(delivery), ack: summarize(ack) },
    histograms: { delivery: encodeHistogram(delivery), ack: encodeHistogram(ack) },
    server: cpu.server,
    driver: cpu.driver,
    ok: win.delivered > 0 || o.maxMessages > 0,
    notes,
  };
}

