/**
 * The worker side of the group scenario: its slice of the members, the groups whose owners it
 * holds, the pacing of its senders (open loop at its share of --rate, or closed loop: --window
 * messages in flight per sender, a new one each time a witness member here gets one), delivery
 * latency per member into an HDR histogram, the arrival of each message at its last member here,
 * ack latency, and its share of the group history.
 *
 * Steps, called by the parent in order: setup (log in) → create (owners) → join (everyone learns
 * the groups and waits for the join notices) → run → ledger → drain → catchup → result.
 */
import { ChatKind, type ChatMessage } from '@hxim/im-common';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { readStamp } from '../body';
import { nowUs, sleepUntilUs, waitFor } from '../clock';
import { GroupHistory, messageKey, type GroupLedger } from '../group-history';
import { encodeHistogram, newHistogram, recordUs } from '../hist';
import type { HistoryReport } from '../history';
import { countError, errorsRecord, type TickCounters, type WorkerSide } from '../ipc';
import { sliceOf, type LoadOptions } from '../options';
import type { MsgCounts } from './chat-worker';
import { GroupEngine, GroupPlan, type CreatedGroup, type GroupHost } from './group-engine';
import { paceOpenLoop, type Pacer } from './pacer';

/** What one worker returns from `result`. */
export interface GroupWorkerResult {
  totals: MsgCounts & { refused: number };
  window: MsgCounts;
  errors: Record<string, number>;
  deliveryHist: string;
  ackHist: string;
  history: HistoryReport;
  /** [message key, members here that got it, last arrival µs, intended µs, ...] for the measured window. */
  arrivals: number[];
  reconnects: number;
  pacerMaxLagMs: number;
  drained: boolean;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
}

interface Arrival { n: number; lastUs: number; intendedUs: number }

/** See the file comment. */
export class GroupWorker implements WorkerSide, GroupHost {
  readonly history: GroupHistory;
  readonly calls: WorkerSide['calls'];
  private readonly plan: GroupPlan;
  private readonly engine: GroupEngine;
  private readonly senders: number[] = [];
  /** sender → the member here whose receipt releases its next closed-loop message. */
  private readonly witness = new Map<number, number>();
  private readonly errors = new Map<string, number>();
  private readonly totals = { sent: 0, acked: 0, delivered: 0, refused: 0 };
  private readonly window: MsgCounts = { sent: 0, acked: 0, delivered: 0 };
  private readonly deliveryHist = newHistogram();
  private readonly ackHist = newHistogram();
  private liveHist = newHistogram();
  private readonly arrivals = new Map<number, Arrival>();
  private readonly limit: number;
  private logins = 0;
  private running = false;
  private measureStart = Infinity;
  private measureEnd = Infinity;
  private pacer: Pacer | null = null;
  private drained = true;
  /** Per group here: its SYSTEM seqs from the setup, which every member must hold before the load. */
  private readonly setupSeqs = new Map<number, number[]>();
  private readonly joinSeq = new Map<number, number>();
  private readonly loopDelay = monitorEventLoopDelay({ resolution: 5 });

  constructor(readonly opts: LoadOptions, worker: number, workers: number) {
    this.plan = new GroupPlan(opts);
    const s = sliceOf(this.plan.members, workers, worker);
    const m = sliceOf(opts.maxMessages, workers, worker);
    this.limit = opts.maxMessages > 0 ? m.end - m.start : Infinity;
    this.history = new GroupHistory(opts.runId, this.plan);
    this.engine = new GroupEngine(this, this.plan, s.start, s.end);
    for (let i = s.start; i < s.end; i++) {
      this.history.addMember(i);
      if (this.plan.isSender(i)) {
        this.history.addSender(i);
        this.senders.push(i);
      }
    }
    for (const sender of this.senders) {
      // The last member of the sender's group held here (not the sender itself).
      const g = this.plan.groupOf(sender);
      const last = Math.min(s.end, this.plan.memberAt(g + 1, 0)) - 1;
      const w = last === sender ? last - 1 : last;
      if (w >= s.start && this.plan.groupOf(w) === g) this.witness.set(sender, w);
    }
    this.calls = {
      setup: () => this.engine.setup(),
      create: (arg) => this.engine.create((arg as { groups: Array<{ group: number; memberIds: number[] }> }).groups),
      join: (arg) => this.join((arg as { groups: CreatedGroup[] }).groups),
      run: (arg) => this.run((arg as { startUs: number }).startUs),
      ledger: async () => this.history.ledger(),
      drain: (arg) => this.drain(arg as GroupLedger),
      catchup: async () => {
        try {
          await this.engine.catchUp();
        } catch {
          countError(this.errors, 'CATCHUP_FAILED');
        }
        return this.engine.connections;
      },
      result: async (arg) => this.result(arg as GroupLedger),
    };
  }

  tick(): TickCounters {
    return {
      atUs: nowUs(), connections: this.engine.connections, sent: this.totals.sent, acked: this.totals.acked,
      delivered: this.totals.delivered, logins: this.logins, errors: errorsRecord(this.errors), hist: encodeHistogram(this.liveHist),
    };
  }

  // ---------------------------------------------------------------- GroupHost

  onAck(member: number, msgNo: number, convId: string, seq: number): void {
    this.engine.holdOwn(member, convId, seq);
    this.history.own(member, convId, seq);
    if (!this.history.acked(member, msgNo, seq)) return;
    this.totals.acked++;
    const now = nowUs();
    if (now >= this.measureStart && now < this.measureEnd) this.window.acked++;
    const intended = this.history.intendedOf(member, msgNo);
    if (intended >= this.measureStart && intended < this.measureEnd) recordUs(this.ackHist, now - intended);
    if (this.running && this.opts.mode === 'closed' && !this.witness.has(member)) this.sendOne(member, now);
  }

  onSendFailed(member: number, msgNo: number, code: string, refused: boolean): void {
    countError(this.errors, code);
    if (refused) {
      this.history.refused(member, msgNo);
      this.totals.refused++;
    }
  }

  onDeliver(member: number, m: ChatMessage): void {
    const system = m.msgType === ChatKind.SYSTEM && m.userId === 0;
    const stamp = system ? null : readStamp(m.msgBody);
    if (this.history.delivered(member, m.convId, m.seq, system, stamp) !== 'new') return;
    this.totals.delivered++;
    const now = nowUs();
    if (now >= this.measureStart && now < this.measureEnd) this.window.delivered++;
    const intended = stamp!.intendedUs;
    recordUs(this.liveHist, now - intended);
    if (intended >= this.measureStart && intended < this.measureEnd) {
      recordUs(this.deliveryHist, now - intended);
      const key = messageKey(stamp!.sender, stamp!.msgNo);
      const a = this.arrivals.get(key);
      if (a) {
        a.n++;
        if (now > a.lastUs) a.lastUs = now;
      } else {
        this.arrivals.set(key, { n: 1, lastUs: now, intendedUs: intended });
      }
    }
    if (this.running && this.opts.mode === 'closed' && this.witness.get(stamp!.sender) === member) this.sendOne(stamp!.sender, now);
  }

  onError(code: string): void {
    countError(this.errors, code);
  }

  onLogin(): void {
    this.logins++;
  }

  // ---------------------------------------------------------------- steps

  /** Learns the groups; resolves once every member here holds its group's setup notices. */
  private async join(groups: CreatedGroup[]): Promise<number> {
    this.engine.join(groups, (member, convId, joinSeq, setupSeq) => {
      this.history.joined(member, convId, joinSeq, setupSeq);
      this.joinSeq.set(member, joinSeq);
      const g = this.plan.groupOf(member);
      if (!this.setupSeqs.has(g)) {
        const created = groups.find((c) => c.group === g)!;
        this.setupSeqs.set(g, created.joins.filter((_, k) => k % 3 === 2));
      }
    });
    const ready = (): boolean => {
      for (let i = this.engine.start; i < this.engine.end; i++) {
        const join = this.joinSeq.get(i) ?? 0;
        if (!this.history.holdsAll(i, this.setupSeqs.get(this.plan.groupOf(i))!.filter((q) => q >= join))) return false;
      }
      return true;
    };
    if (!(await waitFor(ready, this.opts.catchupS * 1000, 100))) countError(this.errors, 'SETUP_NOTICES_MISSING');
    return this.engine.connections;
  }

  private sendOne(sender: number, intendedUs: number): void {
    if (this.totals.sent >= this.limit) return;
    const msgNo = this.history.sentBy(sender);
    this.history.sent(sender, msgNo, intendedUs);
    this.totals.sent++;
    if (intendedUs >= this.measureStart && intendedUs < this.measureEnd) this.window.sent++;
    this.engine.send(sender, msgNo, intendedUs);
  }

  private async run(startUs: number): Promise<{ drained: boolean }> {
    const o = this.opts;
    this.measureStart = startUs + o.warmupS * 1e6;
    this.measureEnd = this.measureStart + o.durationS * 1e6;
    await sleepUntilUs(startUs);
    this.running = true;
    const resetLive = setTimeout(() => { this.liveHist = newHistogram(); this.loopDelay.enable(); }, (this.measureStart - nowUs()) / 1000);
    if (o.mode === 'closed') {
      const now = nowUs();
      for (let w = 0; w < o.window; w++) for (const s of this.senders) this.sendOne(s, now);
    } else {
      const total = o.groups * o.groupSenders;
      this.pacer = paceOpenLoop({
        startUs, measureStart: this.measureStart, measureEnd: this.measureEnd, rate: (o.rate * this.senders.length) / total,
        senders: this.senders.length, running: () => this.running, full: () => this.totals.sent >= this.limit,
        send: (i, intended) => this.sendOne(this.senders[i]!, intended),
      });
    }
    await sleepUntilUs(this.measureEnd);
    this.loopDelay.disable();
    this.running = false;
    clearTimeout(resetLive);
    this.drained = await waitFor(() => this.history.outstanding === 0, o.drainS * 1000);
    return { drained: this.drained };
  }

  /** Waits (within the drain time) until every member here holds every acked seq of its group. */
  private async drain(ledger: GroupLedger): Promise<boolean> {
    const todo: Array<{ member: number; seqs: number[]; next: number }> = [];
    for (let i = this.engine.start; i < this.engine.end; i++) {
      const join = this.joinSeq.get(i) ?? 0;
      const acked = ledger.acked[this.plan.groupOf(i)] ?? [];
      const seqs: number[] = [];
      for (let k = 0; k < acked.length; k += 3) if (acked[k]! >= join) seqs.push(acked[k]!);
      todo.push({ member: i, seqs, next: 0 });
    }
    const done = (): boolean => {
      for (const t of todo) {
        while (t.next < t.seqs.length && this.history.holds(t.member, t.seqs[t.next]!)) t.next++;
        if (t.next < t.seqs.length) return false;
      }
      return true;
    };
    const ok = await waitFor(done, this.opts.drainS * 1000);
    this.drained &&= ok;
    return ok;
  }

  private async result(ledger: GroupLedger): Promise<GroupWorkerResult> {
    const history = this.history.check(ledger);
    this.engine.close();
    const arrivals: number[] = [];
    for (const [key, a] of this.arrivals) arrivals.push(key, a.n, a.lastUs, a.intendedUs);
    return {
      totals: { ...this.totals }, window: { ...this.window }, errors: errorsRecord(this.errors),
      deliveryHist: encodeHistogram(this.deliveryHist), ackHist: encodeHistogram(this.ackHist), history, arrivals,
      reconnects: this.engine.reconnects, pacerMaxLagMs: Math.round(this.pacer?.maxLagUs ?? 0) / 1000, drained: this.drained,
      loopDelayP99Ms: this.loopDelay.count > 0 ? Math.round(this.loopDelay.percentile(99) / 1e3) / 1e3 : 0,
      loopDelayMaxMs: this.loopDelay.count > 0 ? Math.round(this.loopDelay.max / 1e3) / 1e3 : 0,
    };
  }
}
