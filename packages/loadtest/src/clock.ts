/**
 * Clocks and small async helpers shared by the parent and the workers.
 *
 * Latency timestamps use the monotonic clock (process.hrtime = CLOCK_MONOTONIC on Linux), which is
 * the same clock in every process of the machine: a worker can stamp a send time that the parent
 * (or another worker) compares with its own reading.
 */

/** Monotonic time in microseconds, as a double. Comparable across processes on one machine. */
export function nowUs(): number {
  const t = process.hrtime();
  return t[0] * 1e6 + t[1] / 1e3;
}

/** Resolves after `ms` milliseconds. Unref'd timers are not used: a pending sleep keeps the run alive. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

/** Sleeps until the monotonic clock reaches `targetUs`. */
export function sleepUntilUs(targetUs: number): Promise<void> {
  return sleep((targetUs - nowUs()) / 1000);
}

/**
 * Runs `fn(i)` for every i in [0, n) with at most `concurrency` calls in flight. Rejections are
 * the callee's to handle: a throwing `fn` aborts the whole pool.
 */
export async function runPool(n: number, concurrency: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes: Promise<void>[] = [];
  for (let w = 0; w < Math.min(Math.max(1, concurrency), n); w++) {
    lanes.push((async () => {
      while (next < n) await fn(next++);
    })());
  }
  await Promise.all(lanes);
}

/** Polls `cond` every `everyMs` until it is true or `timeoutMs` passed; resolves with the last answer. */
export async function waitFor(cond: () => boolean, timeoutMs: number, everyMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() >= deadline) return false;
    await sleep(everyMs);
  }
  return true;
}
