/**
 * The parent side of idle: RSS before, connect in steps (sampling RSS after each settles), then
 * the server's CPU over --duration seconds of heartbeats only.
 *
 * KiB/conn = (RSS at N − RSS before) / N connected. With --steps, the slope between the last two
 * samples is reported too: it leaves out the one-off growth of the first connections, and is how
 * the peers' figure (5k → 15k) was measured.
 */
import { sleep } from '../clock';
import { emptyReport } from '../history';
import { mergeErrors } from '../ipc';
import { cpuBetween, round, sampleProcs } from '../proc';
import type { IdleWorkerResult } from './idle';
import type { ParentContext, ScenarioOutcome } from './types';

/** One RSS sample of the idle run. */
export interface IdleStep { target: number; connected: number; rssKiB: number; connectSeconds: number }

/** Total RSS of the sampled pids (KiB), NaN when none. */
function rss(pids: number[]): number {
  return pids.length ? sampleProcs(pids).rssKiB.reduce((a, b) => a + b, 0) : NaN;
}

/** Runs idle. */
export async function runIdleParent(ctx: ParentContext): Promise<ScenarioOutcome> {
  const { opts: o, pool, progress } = ctx;
  progress.setPhase('baseline');
  await sleep(1000);
  const steps: IdleStep[] = [{ target: 0, connected: 0, rssKiB: rss(o.serverPids), connectSeconds: 0 }];
  for (const target of [...o.steps, o.connections]) {
    progress.setPhase(`connect ${target}`);
    const t0 = Date.now();
    const r = await pool.call<{ connected: number }>('connect', () => ({ upTo: target }));
    const connectSeconds = (Date.now() - t0) / 1000;
    progress.setPhase(`settle ${target}`);
    await sleep(o.settleS * 1000);
    steps.push({ target, connected: r.reduce((a, x) => a + x.connected, 0), rssKiB: rss(o.serverPids), connectSeconds });
  }
  progress.setPhase('heartbeats only');
  const c0 = sampleProcs(o.serverPids);
  const d0 = sampleProcs(pool.pids);
  const v0 = sampleProcs(o.servicePids);
  await sleep(o.durationS * 1000);
  const c1 = sampleProcs(o.serverPids);
  const d1 = sampleProcs(pool.pids);
  const v1 = sampleProcs(o.servicePids);
  const services = cpuBetween(v0, v1, 0);
  progress.setPhase('close');
  const rs = await pool.call<IdleWorkerResult>('result');
  const connected = rs.reduce((a, r) => a + r.connected, 0);
  const lost = rs.reduce((a, r) => a + r.lost, 0);
  const first = steps[0]!;
  const last = steps[steps.length - 1]!;
  const prev = steps[steps.length - 2]!;
  const perConn = last.connected > 0 ? (last.rssKiB - first.rssKiB) / last.connected : NaN;
  const slope = steps.length > 2 && last.connected > prev.connected ? (last.rssKiB - prev.rssKiB) / (last.connected - prev.connected) : NaN;
  const cpu = cpuBetween(c0, c1, 0);
  const hb = rs[0]?.heartbeatMs ?? 0;
  const notes: string[] = [];
  if (lost > 0) notes.push(`${lost} connections closed during the hold (see errors)`);
  if (last.connected < o.connections) notes.push(`${o.connections - last.connected} of ${o.connections} connections could not be opened or logged in`);
  const has = o.serverPids.length > 0;
  return {
    connections: { target: o.connections, connected: last.connected },
    errors: mergeErrors(rs.map((r) => r.errors)),
    history: emptyReport(),
    figures: {
      'connections held': connected,
      'server RSS before MiB': has ? round(first.rssKiB / 1024, 1) : null,
      'server RSS at N MiB': has ? round(last.rssKiB / 1024, 1) : null,
      'server KiB/conn': has ? round(perConn, 2) : null,
      'server KiB/conn slope (last step)': has && Number.isFinite(slope) ? round(slope, 2) : null,
      'heartbeat interval ms': hb,
      'heartbeats/s': hb > 0 ? round((connected * 1000) / hb, 1) : null,
      'server CPU % of one core (heartbeats only)': has ? round(cpu.cores * 100, 2) : null,
      'driver CPU % of one core': round(cpuBetween(d0, d1, 0).cores * 100, 2),
      'services CPU % of one core': o.servicePids.length ? round(services.cores * 100, 2) : null,
      'other processes cores': has ? Math.max(0, round(cpu.machineCores - cpu.cores - cpuBetween(d0, d1, 0).cores - services.cores, 2)) : null,
      'connect seconds (last step)': round(last.connectSeconds, 2),
      'lost during hold': lost,
    },
    latency: {},
    histograms: {},
    server: has ? { pids: o.serverPids, cpu, rssKiBBefore: c0.rssKiB, rssKiBAfter: c1.rssKiB } : null,
    driver: cpuBetween(d0, d1, 0),
    services: null,
    ok: last.connected > 0,
    notes: [...notes, `RSS steps (connections → KiB): ${steps.map((s) => `${s.connected} → ${s.rssKiB}`).join(', ')}`],
  };
}
