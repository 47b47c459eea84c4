/**
 * The scenario registry: one entry per scenario, with its worker side, its parent side and its
 * time budget. A new scenario (group, once issue 5 lands) is one entry here plus its files.
 */
import type { WorkerSide } from '../ipc';
import type { LoadOptions, ScenarioName } from '../options';
import { runChatParent } from './chat-parent';
import { ChatWorker } from './chat-worker';
import { runIdleParent } from './idle-parent';
import { IdleWorker } from './idle';
import { StormWorker } from './login-storm';
import { runStormParent } from './storm-parent';
import type { ScenarioDef } from './types';

/** Message for the group scenario until the group protocol exists. */
export const GROUP_UNAVAILABLE = 'needs the group protocol (issue 5)';

/** Seconds for connecting `n` sockets at worst (a slow login path), for the watchdog. */
const connectBudget = (n: number): number => 60 + n / 100;

const chatBudget = (o: LoadOptions): number =>
  connectBudget(2 * o.pairs) + o.warmupS + o.durationS + o.drainS + 2 * o.catchupS + 30;

/** Every scenario, by name. */
export const SCENARIO_DEFS: Readonly<Record<ScenarioName, ScenarioDef>> = {
  idle: {
    name: 'idle',
    summary: 'N connections log in and only heartbeat: server RSS per connection and heartbeat CPU',
    worker: (o, w, n) => new IdleWorker(o, w, n),
    parent: runIdleParent,
    budgetS: (o) => connectBudget(o.connections) + (o.steps.length + 1) * (o.settleS + 60) + o.durationS + 30,
  },
  chat: {
    name: 'chat',
    summary: '1:1 sender→receiver pairs on one instance: open loop at --rate, or --mode closed --window W',
    worker: (o, w, n) => new ChatWorker(o, w, n),
    parent: runChatParent,
    budgetS: chatBudget,
  },
  cross: {
    name: 'cross',
    summary: 'like chat, with each pair\'s sender and receiver on different --servers',
    worker: (o, w, n) => new ChatWorker(o, w, n),
    parent: runChatParent,
    budgetS: chatBudget,
  },
  group: {
    name: 'group',
    summary: 'fan-out to groups of size G (placeholder)',
    unavailable: GROUP_UNAVAILABLE,
    worker: () => { throw new Error(GROUP_UNAVAILABLE); },
    parent: () => Promise.reject(new Error(GROUP_UNAVAILABLE)),
    budgetS: () => 0,
  },
  'login-storm': {
    name: 'login-storm',
    summary: 'N logins as fast as possible: logins/s and latency (password mode: then token re-logins)',
    worker: (o, w, n) => new StormWorker(o, w, n),
    parent: runStormParent,
    budgetS: (o) => 3 * connectBudget(o.connections) + 600,
  },
  soak: {
    name: 'soak',
    summary: 'a long mixed run: chat at a modest rate plus reconnect churn',
    worker: (o, w, n) => new ChatWorker(o, w, n),
    parent: runChatParent,
    budgetS: chatBudget,
  },
};

/** Builds a worker's side of the scenario in `opts`. */
export function createWorkerSide(opts: LoadOptions, worker: number, workers: number): WorkerSide {
  return SCENARIO_DEFS[opts.scenario].worker(opts, worker, workers);
}
