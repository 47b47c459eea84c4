/**
 * The parent side of the group scenario: members log in on every worker, the owners' workers
 * create the groups with the user ids the others reported, everyone learns the groups, then one
 * common start, the measured window, drain, catch-up, and the per-(group, member) history check
 * against the run-wide ledger of acks. Latency to the last member of a message is assembled here
 * from each worker's last arrival.
 */
import { nowUs } from '../clock';
import { mergeLedgers, type GroupLedger } from '../group-history';
import { encodeHistogram, mergeHistograms, newHistogram, recordUs, summarize } from '../hist';
import { mergeReports } from '../history';
import { mergeErrors } from '../ipc';
import { sliceOf } from '../options';
import { round } from '../proc';
import { START_DELAY_US } from './chat-parent';
import { GroupPlan, type CreatedGroup } from './group-engine';
import type { GroupWorkerResult } from './group-worker';
import { cpuFigures, sampleWindow, type WindowSamples } from './measure-window';
import type { ParentContext, ScenarioOutcome } from './types';

/** Runs the group scenario. */
export async function runGroupParent(ctx: ParentContext): Promise<ScenarioOutcome> {
  const { opts: o, pool, progress } = ctx;
  const plan = new GroupPlan(o);
  progress.setPhase('login');
  const userIds = (await pool.call<number[]>('setup')).flat();
  progress.setPhase('create groups');
  const t0 = nowUs();
  const owners = ownersByWorker(pool.size, plan, userIds);
  const created = (await pool.call<CreatedGroup[]>('create', (w) => ({ groups: owners[w] }))).flat();
  await pool.call('join', () => ({ groups: created }));
  const setupS = round((nowUs() - t0) / 1e6, 2);
  const startUs = nowUs() + START_DELAY_US;
  const measureStart = startUs + o.warmupS * 1e6;
  const measureEnd = measureStart + o.durationS * 1e6;
  progress.setPhase('warm-up', measureStart);
  const sampler = sampleWindow(ctx, measureStart, measureEnd);
  const runs = await pool.call<{ drained: boolean }>('run', () => ({ startUs }));
  const samples = await sampler;
  const ledger = mergeLedgers(await pool.call<GroupLedger>('ledger'));
  const drains = await pool.call<boolean>('drain', () => ledger);
  progress.setPhase('catch-up');
  await pool.call('catchup');
  progress.setPhase('check');
  const results = await pool.call<GroupWorkerResult>('result', () => ledger);
  const drained = runs.every((r) => r.drained) && drains.every((d) => d);
  return outcome(ctx, results, drained, samples, setupS);
}

/** For each worker, the groups whose owner it holds, with every member's user id by position. */
function ownersByWorker(workers: number, plan: GroupPlan, userIds: number[]): Array<Array<{ group: number; memberIds: number[] }>> {
  return Array.from({ length: workers }, (_, w) => {
    const s = sliceOf(plan.members, workers, w);
    const out: Array<{ group: number; memberIds: number[] }> = [];
    for (let g = 0; g < plan.o.groups; g++) {
      const owner = plan.memberAt(g, 0);
      if (owner >= s.start && owner < s.end) out.push({ group: g, memberIds: userIds.slice(owner, owner + plan.o.groupSize) });
    }
    return out;
  });
}

function outcome(ctx: ParentContext, rs: GroupWorkerResult[], drained: boolean, samples: WindowSamples, setupS: number): ScenarioOutcome {
  const o = ctx.opts;
  const sum = (f: (r: GroupWorkerResult) => number): number => rs.reduce((a, r) => a + f(r), 0);
  const delivery = mergeHistograms(rs.map((r) => r.deliveryHist));
  const ack = mergeHistograms(rs.map((r) => r.ackHist));
  const { last, complete, incomplete } = lastMember(rs, o.groupSize - 1);
  const secs = o.durationS;
  const win = { sent: sum((r) => r.window.sent), acked: sum((r) => r.window.acked), delivered: sum((r) => r.window.delivered) };
  const cpu = cpuFigures(ctx, samples, win.delivered, 'delivery');
  const lag = Math.max(...rs.map((r) => r.pacerMaxLagMs));
  const errors = mergeErrors(rs.map((r) => r.errors));
  const notes: string[] = [];
  if (!drained) notes.push(`drain timeout (${o.drainS} s): acks or deliveries were still outstanding; the catch-up and the history check cover the rest`);
  if (errors.CATCHUP_FAILED) notes.push('the catch-up did not complete for every member: "lost" may include messages that are stored but were not fetched');
  if (errors.SETUP_NOTICES_MISSING) notes.push('some members did not get their groups\' join notices before the load started (the check still counts them)');
  if (o.mode === 'open' && lag > 50) notes.push(`the open-loop pacer fell up to ${lag} ms behind its schedule: the load tool was saturated; latencies still count from the intended send times`);
  if (incomplete > 0) notes.push(`${incomplete} measured message(s) did not reach every other member before the check: left out of the last-member latency`);
  const lastSummary = summarize(last);
  const deliverySummary = summarize(delivery);
  const figures: ScenarioOutcome['figures'] = {
    mode: o.mode === 'open' ? `open loop ${o.rate} msg/s` : `closed loop, window ${o.window}/sender`,
    groups: o.groups,
    'group size': o.groupSize,
    'senders per group': o.groupSenders,
    'group setup s': setupS,
    'sent/s': round(win.sent / secs, 1),
    'acked/s': round(win.acked / secs, 1),
    'deliveries/s': round(win.delivered / secs, 1),
    'delivery p50 ms': deliverySummary.p50Ms,
    'delivery p99 ms': deliverySummary.p99Ms,
    'delivery p99.9 ms': deliverySummary.p999Ms,
    'last member p50 ms': lastSummary.p50Ms,
    'last member p99 ms': lastSummary.p99Ms,
    'last member max ms': lastSummary.maxMs,
    'ack p99 ms': summarize(ack).p99Ms,
    'messages reaching every member': complete,
    ...cpu.figures,
    'pacer max lag ms': o.mode === 'open' ? lag : null,
    'driver event-loop delay p99 / max ms': `${Math.max(...rs.map((r) => r.loopDelayP99Ms))} / ${Math.max(...rs.map((r) => r.loopDelayMaxMs))}`,
    'messages sent (all)': sum((r) => r.totals.sent),
    reconnects: sum((r) => r.reconnects),
  };
  return {
    connections: { target: o.groups * o.groupSize, connected: o.groups * o.groupSize },
    errors,
    history: mergeReports(rs.map((r) => r.history)),
    figures,
    latency: { delivery: deliverySummary, lastMember: lastSummary, ack: summarize(ack) },
    histograms: { delivery: encodeHistogram(delivery), lastMember: encodeHistogram(last), ack: encodeHistogram(ack) },
    server: cpu.server,
    driver: cpu.driver,
    ok: win.delivered > 0 || o.maxMessages > 0,
    notes,
  };
}

/**
 * Latency to the last member: per message, the latest arrival over the workers, from its
 * intended send time; only messages that reached all `others` members count.
 */
function lastMember(rs: GroupWorkerResult[], others: number): { last: ReturnType<typeof newHistogram>; complete: number; incomplete: number } {
  const merged = new Map<number, { n: number; lastUs: number; intendedUs: number }>();
  for (const r of rs) {
    const a = r.arrivals;
    for (let i = 0; i < a.length; i += 4) {
      const m = merged.get(a[i]!);
      if (m) {
        m.n += a[i + 1]!;
        if (a[i + 2]! > m.lastUs) m.lastUs = a[i + 2]!;
      } else {
        merged.set(a[i]!, { n: a[i + 1]!, lastUs: a[i + 2]!, intendedUs: a[i + 3]! });
      }
    }
  }
  const last = newHistogram();
  let complete = 0;
  let incomplete = 0;
  for (const m of merged.values()) {
    if (m.n >= others) {
      complete++;
      recordUs(last, m.lastUs - m.intendedUs);
    } else {
      incomplete++;
    }
  }
  return { last, complete, incomplete };
}
