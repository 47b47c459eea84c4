/**
 * One load run from start to finish: workers, progress, the scenario's parent side, a watchdog
 * that bounds the whole run, and the result.
 */
import { WorkerPool } from './pool';
import { socketsNeeded, workersFor, type LoadOptions } from './options';
import { Progress } from './progress';
import { buildResult, type RunResult } from './report';
import { SCENARIO_DEFS } from './scenarios';

/** A scenario that cannot run yet (exit code 2). */
export class ScenarioUnavailable extends Error {
  constructor(scenario: string, why: string) {
    super(`${scenario}: ${why}`);
    this.name = 'ScenarioUnavailable';
  }
}

/** Runs `opts` and resolves with its result; rejects if a worker dies or the watchdog fires. */
export async function runLoad(opts: LoadOptions, command: string): Promise<RunResult> {
  const def = SCENARIO_DEFS[opts.scenario];
  if (def.unavailable) throw new ScenarioUnavailable(opts.scenario, def.unavailable);
  const workers = workersFor(socketsNeeded(opts), opts.workers);
  const startedAt = new Date();
  const pool = await WorkerPool.start(opts, workers);
  const progress = new Progress(opts.label, pool, opts.progress);
  const budgetMs = def.budgetS(opts) * 1000;
  let watchdog: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    watchdog = setTimeout(() => reject(new Error(`the run exceeded its time budget (${Math.round(budgetMs / 1000)} s) and was stopped`)), budgetMs);
  });
  progress.start();
  try {
    const outcome = await Promise.race([def.parent({ opts, pool, progress }), expired]);
    return buildResult(opts, outcome, workers, startedAt, command);
  } finally {
    clearTimeout(watchdog);
    progress.stop();
    await pool.close();
  }
}
