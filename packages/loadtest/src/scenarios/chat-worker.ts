/**
 * The worker side of chat, cross and soak: paces the sends (open loop at a fixed rate, latency
 * from the intended send time; or closed loop with a window per pair), measures ack and delivery
 * latency into HDR histograms, keeps the history, drains, catches up and checks.
 *
 * Timeline (all workers share `startUs`, a monotonic-clock instant):
 *   startUs ── warm-up ── measureStart ── duration ── measureEnd ── drain ── catch-up ── check
 * Histograms take messages whose intended send time falls in [measureStart, measureEnd), whenever
 * they arrive (a late delivery counts with its full latency); rates count events in the window.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { readStamp } from '../body';
import { nowUs, sleepUntilUs, waitFor } from '../clock';
import { encodeHistogram, newHistogram, recordUs } from '../hist';
import { HistoryRecorder, type HistoryReport } from '../history';
import { countError, errorsRecord, type TickCounters, type WorkerSide } from '../ipc';
import { sliceOf, type LoadOptions } from '../options';
import type { ChatEngine, EngineHost } from './engine';
import { LibEngine } from './lib-engine';
import { paceOpenLoop, type Pacer } from './pacer';
import { RawEngine } from './raw-engine';

/** Sent, acked, delivered counts. */
export interface MsgCounts { sent: number; acked: number; delivered: number }

/** What one worker returns from `result`. */
export interface ChatWorkerResult {
  totals: MsgCounts & { refused: number };
  /** Events inside the measured window. */
  window: MsgCounts;
  errors: Record<string, number>;
  deliveryHist: string;
  ackHist: string;
  history: HistoryReport;
  reconnects: number;
  churned: number;
  /** Largest delay of the open-loop pacer behind its schedule, ms (driver saturation shows here). */
  pacerMaxLagMs: number;
  /** False when acks or deliveries were still outstanding at the drain timeout. */
  drained: boolean;
  /** This worker's event-loop delay in the measured window, ms (a busy driver inflates latencies). */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
}

/** See the file comment. */
export class ChatWorker implements WorkerSide, EngineHost {
  readonly history: HistoryRecorder;
  readonly calls: WorkerSide['calls'];
  private readonly engine: ChatEngine;
  private readonly errors = new Map<string, number>();
  private readonly totals = { sent: 0, acked: 0, delivered: 0, refused: 0 };
  private readonly window: MsgCounts = { sent: 0, acked: 0, delivered: 0 };
  private readonly deliveryHist = newHistogram();
  private readonly ackHist = newHistogram();
  private liveHist = newHistogram();
  private readonly start: number;
  private readonly pairs: number;
  private readonly limit: number;
  private logins = 0;
  private running = false;
  private measureStart = Infinity;
  private measureEnd = Infinity;
  private pacer: Pacer | null = null;
  private churned = 0;
  private drained = true;
  private readonly loopDelay = monitorEventLoopDelay({ resolution: 5 });

  constructor(readonly opts: LoadOptions, worker: number, workers: number) {
    const s = sliceOf(opts.pairs, workers, worker);
    this.start = s.start;
    this.pairs = s.end - s.start;
    this.limit = opts.maxMessages > 0 ? sliceOf(opts.maxMessages, workers, worker).end - sliceOf(opts.maxMessages, workers, worker).start : Infinity;
    this.history = new HistoryRecorder(opts.runId, opts.client === 'lib');
    for (let p = s.start; p < s.end; p++) this.history.addSender(p, p);
    this.engine = opts.client === 'lib' ? new LibEngine(this, s.start, s.end) : new RawEngine(this, s.start, s.end);
    this.calls = {
      setup: async () => { await this.engine.setup(); return this.engine.connections; },
      run: (arg) => this.run((arg as { startUs: number }).startUs),
      catchup: async () => {
        try {
          await this.engine.catchUp();
        } catch {
          countError(this.errors, 'CATCHUP_FAILED');
        }
        return this.engine.connections;
      },
      result: () => this.result(),
    };
  }

  tick(): TickCounters {
    return {
      atUs: nowUs(),
      connections: this.engine.connections, sent: this.totals.sent, acked: this.totals.acked,
      delivered: this.totals.delivered, logins: this.logins, errors: errorsRecord(this.errors),
      hist: encodeHistogram(this.liveHist),
    };
  }

  // ---------------------------------------------------------------- EngineHost

  onAck(pair: number, msgNo: number, convId: string, seq: number): void {
    if (!this.history.acked(pair, msgNo, convId, seq)) return;
    this.totals.acked++;
    const now = nowUs();
    if (now >= this.measureStart && now < this.measureEnd) this.window.acked++;
    const intended = this.history.intendedOf(pair, msgNo);
    if (intended >= this.measureStart && intended < this.measureEnd) recordUs(this.ackHist, now - intended);
  }

  onSendFailed(pair: number, msgNo: number, code: string, refused: boolean): void {
    countError(this.errors, code);
    if (refused) {
      this.history.refused(pair, msgNo);
      this.totals.refused++;
    }
  }

  onDeliver(pair: number, convId: string, seq: number, body: Uint8Array): void {
    const stamp = readStamp(body);
    if (this.history.delivered(pair, convId, seq, stamp) !== 'new') return;
    this.totals.delivered++;
    const now = nowUs();
    if (now >= this.measureStart && now < this.measureEnd) this.window.delivered++;
    const intended = stamp!.intendedUs;
    recordUs(this.liveHist, now - intended);
    if (intended >= this.measureStart && intended < this.measureEnd) recordUs(this.deliveryHist, now - intended);
    if (this.running && this.opts.mode === 'closed') this.sendOne(stamp!.sender, now);
  }

  onError(code: string): void {
    countError(this.errors, code);
  }

  onLogin(): void {
    this.logins++;
  }

  // ---------------------------------------------------------------- phases

  private sendOne(pair: number, intendedUs: number): void {
    if (this.totals.sent >= this.limit) return;
    const msgNo = this.history.sentBy(pair);
    this.history.sent(pair, msgNo, intendedUs);
    this.totals.sent++;
    if (intendedUs >= this.measureStart && intendedUs < this.measureEnd) this.window.sent++;
    this.engine.send(pair, msgNo, intendedUs);
  }

  private async run(startUs: number): Promise<{ drained: boolean }> {
    const o = this.opts;
    this.measureStart = startUs + o.warmupS * 1e6;
    this.measureEnd = this.measureStart + o.durationS * 1e6;
    await sleepUntilUs(startUs);
    this.running = true;
    const resetLive = setTimeout(() => { this.liveHist = newHistogram(); this.loopDelay.enable(); }, (this.measureStart - nowUs()) / 1000);
    const churn = o.scenario === 'soak' && o.churnPct > 0
      ? setInterval(() => { this.churned += this.engine.churn(o.churnPct / 100); }, o.churnIntervalS * 1000)
      : null;
    if (o.mode === 'closed') {
      const now = nowUs();
      for (let w = 0; w < o.window; w++) for (let p = 0; p < this.pairs; p++) this.sendOne(this.start + p, now);
    } else {
      this.pacer = paceOpenLoop({
        startUs, measureStart: this.measureStart, measureEnd: this.measureEnd, rate: (o.rate * this.pairs) / o.pairs, senders: this.pairs,
        running: () => this.running, full: () => this.totals.sent >= this.limit, send: (i, intended) => this.sendOne(this.start + i, intended),
      });
    }
    await sleepUntilUs(this.measureEnd);
    this.loopDelay.disable();
    this.running = false;
    clearTimeout(resetLive);
    if (churn) clearInterval(churn);
    this.drained = await waitFor(() => this.history.outstanding === 0 && this.history.ackedUndelivered === 0, o.drainS * 1000);
    return { drained: this.drained };
  }

  private async result(): Promise<ChatWorkerResult> {
    const history = this.history.check();
    await this.engine.close();
    return {
      totals: { ...this.totals }, window: { ...this.window }, errors: errorsRecord(this.errors),
      deliveryHist: encodeHistogram(this.deliveryHist), ackHist: encodeHistogram(this.ackHist), history,
      reconnects: this.engine.reconnects, churned: this.churned, pacerMaxLagMs: Math.round(this.pacer?.maxLagUs ?? 0) / 1000,
      drained: this.drained,
      loopDelayP99Ms: this.loopDelay.count > 0 ? Math.round(this.loopDelay.percentile(99) / 1e3) / 1e3 : 0,
      loopDelayMaxMs: this.loopDelay.count > 0 ? Math.round(this.loopDelay.max / 1e3) / 1e3 : 0,
    };
  }
}
