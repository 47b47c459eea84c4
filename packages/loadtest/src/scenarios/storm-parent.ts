/**
 * The parent side of login-storm: provisioning (password mode, not timed), the password (or
 * open-mode) storm, and in password mode a token re-login storm.
 */
import { nowUs } from '../clock';
import { encodeHistogram, mergeHistograms, summarize } from '../hist';
import { emptyReport } from '../history';
import { mergeErrors } from '../ipc';
import { cpuBetween, round, sampleProcs } from '../proc';
import type { StormWorkerResult } from './login-storm';
import type { ParentContext, ScenarioOutcome } from './types';

interface Storm { ok: number; failed: number; seconds: number; hist: ReturnType<typeof mergeHistograms>; errors: Record<string, number> }

async function storm(ctx: ParentContext, token: boolean): Promise<Storm & { cpu: ReturnType<typeof cpuBetween> }> {
  const startUs = nowUs() + 200_000;
  ctx.progress.setPhase(token ? 'token re-login storm' : 'login storm');
  const s0 = sampleProcs(ctx.opts.serverPids);
  const rs = await ctx.pool.call<StormWorkerResult>('storm', () => ({ startUs, token }));
  const s1 = sampleProcs(ctx.opts.serverPids);
  const ok = rs.reduce((a, r) => a + r.ok, 0);
  return {
    ok, failed: rs.reduce((a, r) => a + r.failed, 0), seconds: Math.max(...rs.map((r) => r.elapsedUs)) / 1e6,
    hist: mergeHistograms(rs.map((r) => r.hist)), errors: mergeErrors(rs.map((r) => r.errors)), cpu: cpuBetween(s0, s1, ok),
  };
}

/** Runs login-storm. */
export async function runStormParent(ctx: ParentContext): Promise<ScenarioOutcome> {
  const { opts: o, pool, progress } = ctx;
  const password = o.auth === 'password';
  if (password) {
    progress.setPhase('registering users');
    await pool.call('provision');
  }
  const first = await storm(ctx, false);
  const second = password && first.ok > 0 ? await storm(ctx, true) : null;
  progress.setPhase('close');
  await pool.call('close');
  const rate = (s: Storm): number => (s.seconds > 0 ? round(s.ok / s.seconds, 1) : 0);
  const label = password ? 'password' : 'open-mode';
  const figures: ScenarioOutcome['figures'] = {
    [`${label} logins/s`]: rate(first),
    [`${label} login p50 ms`]: summarize(first.hist).p50Ms,
    [`${label} login p99 ms`]: summarize(first.hist).p99Ms,
    [`${label} logins ok`]: first.ok,
    [`${label} logins failed`]: first.failed,
    'server CPU-µs/login': o.serverPids.length ? first.cpu.cpuUsPerMsg : null,
  };
  if (second) {
    figures['token re-logins/s'] = rate(second);
    figures['token re-login p99 ms'] = summarize(second.hist).p99Ms;
    figures['token re-logins failed'] = second.failed;
  }
  const latency: ScenarioOutcome['latency'] = { login: summarize(first.hist) };
  const histograms: ScenarioOutcome['histograms'] = { login: encodeHistogram(first.hist) };
  if (second) {
    latency.tokenLogin = summarize(second.hist);
    histograms.tokenLogin = encodeHistogram(second.hist);
  }
  return {
    connections: { target: o.connections, connected: first.ok },
    errors: mergeErrors([second?.errors ?? first.errors]),
    history: emptyReport(),
    figures, latency, histograms,
    server: o.serverPids.length ? { pids: o.serverPids, cpu: first.cpu, rssKiBBefore: [], rssKiBAfter: [] } : null,
    driver: null,
    services: null,
    ok: first.ok > 0 && first.failed === 0 && (second === null || second.failed === 0),
    notes: first.failed > 0 ? [`${first.failed} logins failed (see errors)`] : [],
  };
}
