/**
 * The parent side of chat, cross and soak: setup on every worker, one common start instant,
 * server and driver /proc samples at the edges of the measured window, drain, catch-up, then the
 * merged histograms, rates and history.
 */
import { nowUs, sleepUntilUs } from '../clock';
import { encodeHistogram, mergeHistograms, summarize } from '../hist';
import { mergeReports } from '../history';
import { mergeErrors } from '../ipc';
import { cpuBetween, round, sampleProcs, type ProcSample } from '../proc';
import type { ChatWorkerResult } from './chat-worker';
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
  let s0: ProcSample | null = null;
  let s1: ProcSample | null = null;
  let d0: ProcSample | null = null;
  let d1: ProcSample | null = null;
  let v0: ProcSample | null = null;
  let v1: ProcSample | null = null;
  const sampler = (async () => {
    await sleepUntilUs(measureStart);
    s0 = sampleProcs(o.serverPids);
    d0 = sampleProcs(pool.pids);
    v0 = sampleProcs(o.servicePids);
    progress.setPhase('measure', measureEnd);
    await sleepUntilUs(measureEnd);
    s1 = sampleProcs(o.serverPids);
    d1 = sampleProcs(pool.pids);
    v1 = sampleProcs(o.servicePids);
    progress.setPhase('drain');
  })();
  const runs = await pool.call<{ drained: boolean }>('run', () => ({ startUs }));
  await sampler;
  progress.setPhase('catch-up');
  await pool.call('catchup');
  progress.setPhase('check');
  const results = await pool.call<ChatWorkerResult>('result');
  return outcome(ctx, results, runs.every((r) => r.drained), [s0!, s1!], [d0!, d1!], [v0!, v1!]);
}

type Pair = [ProcSample, ProcSample];

function outcome(ctx: ParentContext, rs: ChatWorkerResult[], drained: boolean, [s0, s1]: Pair, [d0, d1]: Pair, [v0, v1]: Pair): ScenarioOutcome {
  const o = ctx.opts;
  const sum = (f: (r: ChatWorkerResult) => number): number => rs.reduce((a, r) => a + f(r), 0);
  const delivery = mergeHistograms(rs.map((r) => r.deliveryHist));
  const ack = mergeHistograms(rs.map((r) => r.ackHist));
  const secs = o.durationS;
  const win = { sent: sum((r) => r.window.sent), acked: sum((r) => r.window.acked), delivered: sum((r) => r.window.delivered) };
  const cpu = cpuBetween(s0, s1, win.delivered);
  const driver = cpuBetween(d0, d1, win.delivered);
  const services = o.servicePids.length ? cpuBetween(v0, v1, win.delivered) : null;
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
    'server CPU-µs/msg': o.serverPids.length ? cpu.cpuUsPerMsg : null,
    'server CPU cores': o.serverPids.length ? cpu.cores : null,
    'driver CPU-µs/msg': driver.cpuUsPerMsg,
    'driver CPU cores': driver.cores,
    'machine busy cores (everything)': cpu.machineCores,
    // Clamped at 0: with 10 ms ticks, a quiet machine can read slightly below the sum of its parts.
    'other processes cores': o.serverPids.length ? Math.max(0, round(cpu.machineCores - cpu.cores - driver.cores - (services?.cores ?? 0), 2)) : null,
    'services CPU cores': services ? services.cores : null,
    'services CPU-µs/msg': services ? services.cpuUsPerMsg : null,
    'machine iowait cores': cpu.iowaitCores,
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
    server: o.serverPids.length ? { pids: o.serverPids, cpu, rssKiBBefore: s0.rssKiB, rssKiBAfter: s1.rssKiB } : null,
    driver,
    ok: win.delivered > 0 || o.maxMessages > 0,
    notes,
  };
}

