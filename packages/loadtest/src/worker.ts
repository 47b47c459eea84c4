/**
 * Worker process entry (forked by the parent's WorkerPool). Builds its scenario's worker side from
 * the init message, then answers the parent's calls and sends a progress tick once a second. It
 * exits when the parent goes away, so a crashed parent never leaves sockets open.
 */
import type { CallMessage, ToWorker, WorkerSide } from './ipc';
import { createWorkerSide } from './scenarios';

/** Progress ticks are sent this often. */
export const TICK_MS = 1000;

let side: WorkerSide | null = null;
let workerIndex = 0;

/** Ignores a send that fails because the parent just went away (EPIPE): 'disconnect' exits. */
const ignoreSendError = (): void => {};

function post(m: unknown): void {
  if (process.connected) process.send?.(m, undefined, {}, ignoreSendError);
}

async function onCall(m: CallMessage): Promise<void> {
  try {
    const fn = side?.calls[m.method];
    if (!fn) throw new Error(`unknown call "${m.method}"`);
    post({ t: 'reply', id: m.id, value: await fn(m.arg) });
  } catch (err) {
    post({ t: 'reply', id: m.id, error: err instanceof Error ? err.message : String(err) });
  }
}

process.on('message', (m: ToWorker) => {
  if (m.t === 'init') {
    workerIndex = m.worker;
    side = createWorkerSide(m.opts, m.worker, m.workers);
    setInterval(() => { if (side) post({ t: 'tick', worker: workerIndex, c: side.tick() }); }, TICK_MS).unref();
    post({ t: 'ready', worker: workerIndex });
  } else if (m.t === 'call') {
    void onCall(m);
  }
});
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
