/**
 * The parent side of chat, cross and soak: setup on every worker, one common start instant,
 * server and driver /proc samples at the edges of the measured window, drain, catch-up, then the
 * merged histograms, rates and history.
 */
import { summarize } from '../hist';
import type { ChatWorkerResult } from './chat-worker';
import { deliveryFigures, driverFigures, mergeRun, messageOutcome, rateFigures, runMeasured } from './message-parent';
import type { ParentContext, ScenarioOutcome } from './types';

/** Runs chat, cross or soak. */
export async function runChatParent(ctx: ParentContext): Promise<ScenarioOutcome> {
  const { opts: o, pool, progress } = ctx;
  progress.setPhase('login');
  await pool.call('setup');
  const { drained, samples } = await runMeasured(ctx);
  progress.setPhase('catch-up');
  await pool.call('catchup');
  progress.setPhase('check');
  const rs = await pool.call<ChatWorkerResult>('result');
  const m = mergeRun(ctx, rs, drained, samples, { unit: 'msg', receiver: 'receiver' });
  const figures: ScenarioOutcome['figures'] = {
    mode: o.mode === 'open' ? `open loop ${o.rate}/s` : `closed loop, window ${o.window}/pair`,
    pairs: o.pairs,
    client: o.client,
    ...rateFigures(ctx, m, 'delivered/s'),
    ...deliveryFigures(m),
    'ack p99 ms': summarize(m.ack).p99Ms,
    ...driverFigures(ctx, m, rs),
  };
  if (o.scenario === 'soak') figures['churned connections'] = rs.reduce((a, r) => a + r.churned, 0);
  return messageOutcome(ctx, m, rs, 2 * o.pairs, figures, { delivery: m.delivery, ack: m.ack });
}
