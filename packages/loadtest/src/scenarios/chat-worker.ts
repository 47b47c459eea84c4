/**
 * The worker side of chat, cross and soak: one sender per pair, paced by the shared message
 * worker (message-worker.ts: open loop at a fixed rate, latency from the intended send time; or
 * closed loop with a window per pair, the next message on each delivery), ack and delivery latency
 * into HDR histograms, the 1:1 history, reconnect churn in soak, drain, catch-up and check.
 */
import { readStamp } from '../body';
import { HistoryRecorder } from '../history';
import { sliceOf, type LoadOptions } from '../options';
import type { ChatEngine, EngineHost } from './engine';
import { LibEngine } from './lib-engine';
import { MessageWorker, type MessageWorkerResult } from './message-worker';
import { RawEngine } from './raw-engine';

/** What one worker returns from `result`. */
export interface ChatWorkerResult extends MessageWorkerResult {
  churned: number;
}

/** See the file comment. */
export class ChatWorker extends MessageWorker implements EngineHost {
  readonly history: HistoryRecorder;
  readonly calls: MessageWorker['calls'];
  protected readonly engine: ChatEngine;
  private churned = 0;

  constructor(opts: LoadOptions, worker: number, workers: number) {
    super(opts, worker, workers, opts.pairs);
    const s = sliceOf(opts.pairs, workers, worker);
    this.history = new HistoryRecorder(opts.runId, opts.client === 'lib');
    for (let p = s.start; p < s.end; p++) {
      this.history.addSender(p, p);
      this.senders.push(p);
    }
    this.engine = opts.client === 'lib' ? new LibEngine(this, s.start, s.end) : new RawEngine(this, s.start, s.end);
    this.calls = {
      setup: async () => { await this.engine.setup(); return this.engine.connections; },
      run: (arg) => this.run((arg as { startUs: number }).startUs),
      catchup: () => this.catchup(),
      result: () => this.result(),
    };
  }

  // ---------------------------------------------------------------- EngineHost

  onAck(pair: number, msgNo: number, convId: string, seq: number): void {
    if (this.history.acked(pair, msgNo, convId, seq)) this.countAck(pair, msgNo);
  }

  onDeliver(pair: number, convId: string, seq: number, body: Uint8Array): void {
    const stamp = readStamp(body);
    if (this.history.delivered(pair, convId, seq, stamp) !== 'new') return;
    const now = this.countDelivery(stamp!.intendedUs);
    if (this.closedLoop) this.sendOne(stamp!.sender, now);
  }

  // ---------------------------------------------------------------- steps

  protected override loadStarts(): () => void {
    const o = this.opts;
    if (o.scenario !== 'soak' || o.churnPct <= 0) return () => {};
    const churn = setInterval(() => { this.churned += this.engine.churn(o.churnPct / 100); }, o.churnIntervalS * 1000);
    return () => clearInterval(churn);
  }

  protected settled(): boolean {
    return this.history.outstanding === 0 && this.history.ackedUndelivered === 0;
  }

  private async result(): Promise<ChatWorkerResult> {
    const history = this.history.check();
    await this.engine.close();
    return { ...this.resultOf(history), churned: this.churned };
  }
}
