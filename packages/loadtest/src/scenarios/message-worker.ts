/**
 * What the worker sides of the message scenarios (chat, cross, soak: chat-worker.ts; group:
 * group-worker.ts) share: the counters and histograms, the send bookkeeping, the run phase (the
 * measured window, the live histogram's reset at its start, open-loop pacing or the closed loop's
 * first window, the drain), the progress tick, the catch-up step and the common part of the result.
 *
 * Timeline (all workers share `startUs`, a monotonic-clock instant):
 *   startUs ── warm-up ── measureStart ── duration ── measureEnd ── drain ── catch-up ── check
 * Histograms take messages whose intended send time falls in [measureStart, measureEnd), whenever
 * they arrive (a late delivery counts with its full latency); rates count events in the window.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { nowUs, sleepUntilUs, waitFor } from '../clock';
import { encodeHistogram, newHistogram, recordUs } from '../hist';
import type { HistoryReport } from '../history';
import { countError, errorsRecord, type TickCounters, type WorkerSide } from '../ipc';
import { sliceOf, type LoadOptions } from '../options';
import { paceOpenLoop, type Pacer } from './pacer';

/** Sent, acked, delivered counts. */
export interface MsgCounts { sent: number; acked: number; delivered: number }

/** What every message worker returns from `result`. */
export interface MessageWorkerResult {
  totals: MsgCounts & { refused: number };
  /** Events inside the measured window. */
  window: MsgCounts;
  errors: Record<string, number>;
  deliveryHist: string;
  ackHist: string;
  history: HistoryReport;
  reconnects: number;
  /** Largest delay of the open-loop pacer behind its schedule, ms (driver saturation shows here). */
  pacerMaxLagMs: number;
  /** False when acks or deliveries were still outstanding at the drain timeout. */
  drained: boolean;
  /** This worker's event-loop delay in the measured window, ms (a busy driver inflates latencies). */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
}

/** The sender-side history a message worker records into. */
export interface SendBook {
  sentBy(sender: number): number;
  sent(sender: number, msgNo: number, intendedUs: number): void;
  intendedOf(sender: number, msgNo: number): number;
  refused(sender: number, msgNo: number): void;
}

/** What a message worker needs of its engine. */
export interface MessageEngine {
  send(sender: number, msgNo: number, intendedUs: number): void;
  catchUp(): Promise<void>;
  readonly connections: number;
  readonly reconnects: number;
}

/** See the file comment. */
export abstract class MessageWorker implements WorkerSide {
  abstract readonly history: SendBook;
  abstract readonly calls: WorkerSide['calls'];
  protected abstract readonly engine: MessageEngine;
  protected readonly errors = new Map<string, number>();
  protected readonly totals = { sent: 0, acked: 0, delivered: 0, refused: 0 };
  protected readonly window: MsgCounts = { sent: 0, acked: 0, delivered: 0 };
  protected readonly deliveryHist = newHistogram();
  protected readonly ackHist = newHistogram();
  protected liveHist = newHistogram();
  /** This worker's senders, run-wide numbers; local sender i of the pacer is senders[i]. */
  protected readonly senders: number[] = [];
  protected running = false;
  protected measureStart = Infinity;
  protected measureEnd = Infinity;
  protected drained = true;
  private readonly limit: number;
  private logins = 0;
  private pacer: Pacer | null = null;
  private readonly loopDelay = monitorEventLoopDelay({ resolution: 5 });

  /** @param totalSenders senders over all workers (this worker paces its share of --rate) */
  protected constructor(readonly opts: LoadOptions, worker: number, workers: number, private readonly totalSenders: number) {
    const m = sliceOf(opts.maxMessages, workers, worker);
    this.limit = opts.maxMessages > 0 ? m.end - m.start : Infinity;
  }

  tick(): TickCounters {
    return {
      atUs: nowUs(), connections: this.engine.connections, sent: this.totals.sent, acked: this.totals.acked,
      delivered: this.totals.delivered, logins: this.logins, errors: errorsRecord(this.errors), hist: encodeHistogram(this.liveHist),
    };
  }

  // ---------------------------------------------------------------- engine host

  onSendFailed(sender: number, msgNo: number, code: string, refused: boolean): void {
    countError(this.errors, code);
    if (refused) {
      this.history.refused(sender, msgNo);
      this.totals.refused++;
    }
  }

  onError(code: string): void {
    countError(this.errors, code);
  }

  onLogin(): void {
    this.logins++;
  }

  // ---------------------------------------------------------------- counting

  /** True when `us` falls in the measured window. */
  protected inWindow(us: number): boolean {
    return us >= this.measureStart && us < this.measureEnd;
  }

  /** Counts the first ack of message `msgNo` of `sender`; returns the time now. */
  protected countAck(sender: number, msgNo: number): number {
    this.totals.acked++;
    const now = nowUs();
    if (this.inWindow(now)) this.window.acked++;
    const intended = this.history.intendedOf(sender, msgNo);
    if (this.inWindow(intended)) recordUs(this.ackHist, now - intended);
    return now;
  }

  /** Counts the first delivery of a message intended at `intendedUs`; returns the time now. */
  protected countDelivery(intendedUs: number): number {
    this.totals.delivered++;
    const now = nowUs();
    if (this.inWindow(now)) this.window.delivered++;
    recordUs(this.liveHist, now - intendedUs);
    if (this.inWindow(intendedUs)) recordUs(this.deliveryHist, now - intendedUs);
    return now;
  }

  /** True when the closed loop sends the next message on an ack or a delivery. */
  protected get closedLoop(): boolean {
    return this.running && this.opts.mode === 'closed';
  }

  /** Records and sends the next message of `sender`, unless --max-messages is reached. */
  protected sendOne(sender: number, intendedUs: number): void {
    if (this.totals.sent >= this.limit) return;
    const msgNo = this.history.sentBy(sender);
    this.history.sent(sender, msgNo, intendedUs);
    this.totals.sent++;
    if (this.inWindow(intendedUs)) this.window.sent++;
    this.engine.send(sender, msgNo, intendedUs);
  }

  // ---------------------------------------------------------------- steps

  /** Hook: the load starts (after the common start); returns what stops it again. */
  protected loadStarts(): () => void {
    return () => {};
  }

  /** True once nothing this worker sent or was acked is still on its way. */
  protected abstract settled(): boolean;

  /** The run step: paces (or starts the closed loop) from `startUs` to the window's end, then drains. */
  protected async run(startUs: number): Promise<{ drained: boolean }> {
    const o = this.opts;
    this.measureStart = startUs + o.warmupS * 1e6;
    this.measureEnd = this.measureStart + o.durationS * 1e6;
    await sleepUntilUs(startUs);
    this.running = true;
    const resetLive = setTimeout(() => { this.liveHist = newHistogram(); this.loopDelay.enable(); }, (this.measureStart - nowUs()) / 1000);
    const stop = this.loadStarts();
    if (o.mode === 'closed') {
      const now = nowUs();
      for (let w = 0; w < o.window; w++) for (const s of this.senders) this.sendOne(s, now);
    } else {
      this.pacer = paceOpenLoop({
        startUs, measureStart: this.measureStart, measureEnd: this.measureEnd, rate: (o.rate * this.senders.length) / this.totalSenders,
        senders: this.senders.length, running: () => this.running, full: () => this.totals.sent >= this.limit,
        send: (i, intended) => this.sendOne(this.senders[i]!, intended),
      });
    }
    await sleepUntilUs(this.measureEnd);
    this.loopDelay.disable();
    this.running = false;
    clearTimeout(resetLive);
    stop();
    this.drained = await waitFor(() => this.settled(), o.drainS * 1000);
    return { drained: this.drained };
  }

  /** The catch-up step; returns the connections. */
  protected async catchup(): Promise<number> {
    try {
      await this.engine.catchUp();
    } catch {
      countError(this.errors, 'CATCHUP_FAILED');
    }
    return this.engine.connections;
  }

  /** The common part of the result, with this worker's history report. */
  protected resultOf(history: HistoryReport): MessageWorkerResult {
    return {
      totals: { ...this.totals }, window: { ...this.window }, errors: errorsRecord(this.errors),
      deliveryHist: encodeHistogram(this.deliveryHist), ackHist: encodeHistogram(this.ackHist), history,
      reconnects: this.engine.reconnects, pacerMaxLagMs: Math.round(this.pacer?.maxLagUs ?? 0) / 1000, drained: this.drained,
      loopDelayP99Ms: this.loopDelay.count > 0 ? Math.round(this.loopDelay.percentile(99) / 1e3) / 1e3 : 0,
      loopDelayMaxMs: this.loopDelay.count > 0 ? Math.round(this.loopDelay.max / 1e3) / 1e3 : 0,
    };
  }
}
