/**
 * Fair frame handling across connections: a time budget per event-loop phase.
 *
 * libuv (since 1.45, Node 20) accepts one new connection per event-loop iteration, and every
 * socket's data waits for the iteration to come round. One read can carry 64 KiB, thousands of
 * small frames; a few clients flooding the server would otherwise make each iteration last
 * hundreds of milliseconds, and every other client (and every new connection) would wait that
 * long. So frames are handled as they are read only while this phase's budget lasts; the rest
 * wait in their connection's backlog (reading paused) and are handled round-robin, a few per
 * connection at a time, from a setImmediate: after the poll phase, so the next iteration's
 * reads and accepts come first. An iteration thus spends about 2 x {@link TURN_BUDGET_MS} on
 * frames at most, however many clients flood it. Under no pressure nothing is deferred.
 */

/** Milliseconds of frame handling per event-loop phase (poll, then check). */
export const TURN_BUDGET_MS = 2;
/** Frames one connection handles per round-robin turn of the backlog run. */
export const FRAMES_PER_ROUND = 8;

/** A connection with frames waiting. */
export interface Backlogged {
  /** Handles up to `max` waiting frames; true if more remain. */
  runBacklog(max: number): boolean;
}

/** The server-wide budget and the round-robin of backlogged connections. */
export class FrameScheduler {
  /** performance.now() when this phase's budget started; 0 while unused. */
  private phaseStart = 0;
  private ready: Backlogged[] = [];
  private armed = false;
  /** Times a frame was deferred to a backlog (for metrics). */
  deferred = 0;

  constructor(private readonly budgetMs = TURN_BUDGET_MS) {}

  /** Connections waiting (for metrics and tests). */
  get waiting(): number {
    return this.ready.length;
  }

  /** True if a frame read now may be handled now; false: put it in the backlog and {@link enqueue}. */
  take(): boolean {
    const now = performance.now();
    if (this.phaseStart === 0) {
      this.phaseStart = now;
      this.arm();
    }
    if (now - this.phaseStart < this.budgetMs) return true;
    this.deferred++;
    return false;
  }

  /** Queues a connection whose backlog just became non-empty. */
  enqueue(c: Backlogged): void {
    this.ready.push(c);
    this.arm();
  }

  private arm(): void {
    if (this.armed) return;
    this.armed = true;
    setImmediate(this.run);
  }

  private readonly run = (): void => {
    this.armed = false;
    const start = performance.now();
    const ready = this.ready;
    while (ready.length > 0 && performance.now() - start < this.budgetMs) {
      const c = ready.shift()!;
      if (c.runBacklog(FRAMES_PER_ROUND)) ready.push(c);
    }
    // The next poll phase gets a fresh budget; what is left waits for the next check phase.
    this.phaseStart = 0;
    if (ready.length > 0) this.arm();
  };
}
