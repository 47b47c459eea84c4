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
import { readStamp } from '../body';
import { waitFor } from '../clock';
import { GroupHistory, messageKey, type GroupLedger } from '../group-history';
import { countError } from '../ipc';
import { sliceOf, type LoadOptions } from '../options';
import { GroupEngine, GroupPlan, type CreatedGroup, type GroupHost } from './group-engine';
import { MessageWorker, type MessageWorkerResult } from './message-worker';

/** What one worker returns from `result`. */
export interface GroupWorkerResult extends MessageWorkerResult {
  /** [message key, members here that got it, last arrival µs, intended µs, ...] for the measured window. */
  arrivals: number[];
}

interface Arrival { n: number; lastUs: number; intendedUs: number }

/** See the file comment. */
export class GroupWorker extends MessageWorker implements GroupHost {
  readonly history: GroupHistory;
  readonly calls: MessageWorker['calls'];
  protected readonly engine: GroupEngine;
  private readonly plan: GroupPlan;
  /** sender → the member here whose receipt releases its next closed-loop message. */
  private readonly witness = new Map<number, number>();
  private readonly arrivals = new Map<number, Arrival>();
  /** Per group here: its SYSTEM seqs from the setup, which every member must hold before the load. */
  private readonly setupSeqs = new Map<number, number[]>();
  private readonly joinSeq = new Map<number, number>();

  constructor(opts: LoadOptions, worker: number, workers: number) {
    super(opts, worker, workers, opts.groups * opts.groupSenders);
    this.plan = new GroupPlan(opts);
    const s = sliceOf(this.plan.members, workers, worker);
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
      catchup: () => this.catchup(),
      result: async (arg) => this.result(arg as GroupLedger),
    };
  }

  // ---------------------------------------------------------------- GroupHost

  onAck(member: number, msgNo: number, convId: string, seq: number): void {
    this.engine.holdOwn(member, convId, seq);
    this.history.own(member, convId, seq);
    if (!this.history.acked(member, msgNo, seq)) return;
    const now = this.countAck(member, msgNo);
    if (this.closedLoop && !this.witness.has(member)) this.sendOne(member, now);
  }

  onDeliver(member: number, m: ChatMessage): void {
    const system = m.msgType === ChatKind.SYSTEM && m.userId === 0;
    const stamp = system ? null : readStamp(m.msgBody);
    if (this.history.delivered(member, m.convId, m.seq, system, stamp) !== 'new') return;
    const intended = stamp!.intendedUs;
    const now = this.countDelivery(intended);
    if (this.inWindow(intended)) {
      const key = messageKey(stamp!.sender, stamp!.msgNo);
      const a = this.arrivals.get(key);
      if (a) {
        a.n++;
        if (now > a.lastUs) a.lastUs = now;
      } else {
        this.arrivals.set(key, { n: 1, lastUs: now, intendedUs: intended });
      }
    }
    if (this.closedLoop && this.witness.get(stamp!.sender) === member) this.sendOne(stamp!.sender, now);
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

  protected settled(): boolean {
    return this.history.outstanding === 0;
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
    return { ...this.resultOf(history), arrivals };
  }
}
