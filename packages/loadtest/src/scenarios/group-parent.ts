/**
 * The parent side of the group scenario: members log in on every worker, the owners' workers
 * create the groups with the user ids the others reported, everyone learns the groups, then one
 * common start, the measured window, drain, catch-up, and the per-(group, member) history check
 * against the run-wide ledger of acks. Latency to the last member of a message is assembled here
 * from each worker's last arrival.
 */
import { nowUs } from '../clock';
import { mergeLedgers, type GroupLedger } from '../group-history';
import { newHistogram, recordUs, summarize } from '../hist';
import { sliceOf } from '../options';
import { round } from '../proc';
import { GroupPlan, type CreatedGroup } from './group-engine';
import type { GroupWorkerResult } from './group-worker';
import type { WindowSamples } from './measure-window';
import { deliveryFigures, driverFigures, mergeRun, messageOutcome, rateFigures, runMeasured } from './message-parent';
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
  const run = await runMeasured(ctx);
  const ledger = mergeLedgers(await pool.call<GroupLedger>('ledger'));
  const drains = await pool.call<boolean>('drain', () => ledger);
  progress.setPhase('catch-up');
  await pool.call('catchup');
  progress.setPhase('check');
  const rs = await pool.call<GroupWorkerResult>('result', () => ledger);
  return outcome(ctx, rs, run.drained && drains.every((d) => d), run.samples, setupS);
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
  const m = mergeRun(ctx, rs, drained, samples, {
    unit: 'delivery',
    receiver: 'member',
    errorNotes: (errors) => errors.SETUP_NOTICES_MISSING
      ? ['some members did not get their groups\' join notices before the load started (the check still counts them)']
      : [],
  });
  const { last, complete, incomplete } = lastMember(rs, o.groupSize - 1);
  if (incomplete > 0) m.notes.push(`${incomplete} measured message(s) did not reach every other member before the check: left out of the last-member latency`);
  const lastSummary = summarize(last);
  const figures: ScenarioOutcome['figures'] = {
    mode: o.mode === 'open' ? `open loop ${o.rate} msg/s` : `closed loop, window ${o.window}/sender`,
    groups: o.groups,
    'group size': o.groupSize,
    'senders per group': o.groupSenders,
    'group setup s': setupS,
    ...rateFigures(ctx, m, 'deliveries/s'),
    ...deliveryFigures(m),
    'last member p50 ms': lastSummary.p50Ms,
    'last member p99 ms': lastSummary.p99Ms,
    'last member max ms': lastSummary.maxMs,
    'ack p99 ms': summarize(m.ack).p99Ms,
    'messages reaching every member': complete,
    ...driverFigures(ctx, m, rs),
  };
  return messageOutcome(ctx, m, rs, o.groups * o.groupSize, figures, { delivery: m.delivery, lastMember: last, ack: m.ack });
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
