/**
 * The scenario registry: one entry per scenario, with its worker side, its parent side and its
 * time budget. A new scenario is one entry here plus its files.
 */
import type { WorkerSide } from '../ipc';
import type { LoadOptions, ScenarioName } from '../options';
import { runChatParent } from './chat-parent';
import { ChatWorker } from './chat-worker';
import { runGroupParent } from './group-parent';
import { GroupWorker } from './group-worker';
import { runIdleParent } from './idle-parent';
import { IdleWorker } from './idle';
import { StormWorker } from './login-storm';
import { runStormParent } from './storm-parent';
import type { ScenarioDef } from './types';

/** Seconds for connecting `n` sockets at worst (a slow login path), for the watchdog. */
const connectBudget = (n: number): number => 60 + n / 100;

const chatBudget = (o: LoadOptions): number =>
  connectBudget(2 * o.pairs) + o.warmupS + o.durationS + o.drainS + 2 * o.catchupS + 30;

/** Connect, create (a request per batch of members), join notices, load, drain twice, catch-up. */
const groupBudget = (o: LoadOptions): number =>
  connectBudget(o.groups * o.groupSize) + 60 + o.groups * o.groupSize / 1000 + o.catchupS + o.warmupS + o.durationS + 2 * o.drainS + 2 * o.catchupS + 30;

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
    summary: 'fan-out: --groups K of --group-size G members, --group-senders per group; open loop at --rate or --mode closed',
    worker: (o, w, n) => new GroupWorker(o, w, n),
    parent: runGroupParent,
    budgetS: groupBudget,
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
