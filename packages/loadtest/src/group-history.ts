/**
 * The history checker of the group scenario (DESIGN.md, the delivery contract, for groups). A
 * group message is stored once, with one seq in `g:<groupId>`, and must reach every member; so the
 * check runs per (group, member), over the run-wide {@link GroupLedger} of what the senders were
 * told (the senders and the members of a group may sit in different worker processes):
 *
 * - lost: a message acked (STORED) to its sender, with a seq at or after the member's join, that
 *   the member never got, after the catch-up; counted per (member, message);
 * - duplicates: one message (sender, number) delivered to a member under two seqs (stored twice);
 * - reordered: a sender's acks carry seqs that disagree with its send order;
 * - unexpected: a chat that is no message of this run's senders of this member's group (another
 *   run, a stranger's stamp, a number never sent, another conversation, no stamp), or two
 *   different messages under one seq;
 * - gaps: seqs missing between the member's join and the highest seq known in its group.
 *
 * SYSTEM messages (msgType SYSTEM, userId 0: the join notices of the group's creation and of each
 * invite batch) hold seqs of the group like any message: they count as seen seqs (so they are
 * never gaps when they arrived, and a gap when they did not), and never as deliveries or
 * unexpected. A sender's own messages are not pushed back to it: {@link GroupHistory.own} counts
 * the seq of its ack as seen. Transport duplicates and out-of-order arrivals are reported, not
 * failed, as in the 1:1 checker. Pure bookkeeping: no I/O, no clock.
 */
import type { Stamp } from './body';
import type { HistoryReport } from './history';
import { ACKED, NONE, SendHistory, type SendLog } from './send-history';

/** What {@link GroupHistory.delivered} made of a chat. */
export type GroupVerdict = 'new' | 'system' | 'transport-duplicate' | 'duplicate' | 'unexpected';

/**
 * Run-wide outcome of every send, by group index: flat number arrays (they cross process
 * boundaries as JSON).
 */
export interface GroupLedger {
  /** group → [seq, sender, msgNo, ...] of every acked message. */
  acked: Record<number, number[]>;
  /** group → [sender, msgNo, ...] of every message with neither an ack nor an error. */
  unacked: Record<number, number[]>;
  /** [sender, messages sent, ...] of every sender. */
  sentBy: number[];
}

/** Static layout of a run: which group a member is in, and whether it sends. */
export interface GroupLayout {
  groupOf(member: number): number;
  isSender(member: number): boolean;
}

/** A message's identity as one number: sender × 10^9 + message number. */
export function messageKey(sender: number, msgNo: number): number {
  return sender * 1e9 + msgNo;
}

interface MemberLog {
  group: number;
  convId: string;
  /** Seq of the SYSTEM message that added it (0: not known). */
  joinSeq: number;
  /** Seq of the group's last SYSTEM message before the load (0: not known). */
  setupSeq: number;
  /** Bit per seq held. */
  seen: Uint32Array;
  count: number;
  maxSeq: number;
}

interface GroupLog {
  /** message key → the seq it was first delivered with (by any member here). */
  seqOf: Map<number, number>;
  /** seq → the message key delivered under it (-1: a SYSTEM message). */
  keyOf: Map<number, number>;
}

/** Records one worker's share of a group run and checks it. */
export class GroupHistory extends SendHistory<SendLog> {
  private readonly members = new Map<number, MemberLog>();
  private readonly groups = new Map<number, GroupLog>();
  private readonly c = { delivered: 0, transportDuplicates: 0, outOfOrderArrivals: 0, duplicates: 0, unexpected: 0 };

  constructor(runId: number, private readonly layout: GroupLayout) {
    super(runId, 'group history');
  }

  // ---------------------------------------------------------------- senders

  /** Declares a sender of this worker. */
  addSender(sender: number): void {
    if (!this.senders.has(sender)) this.senders.set(sender, { intended: [], state: [], ackSeq: [] });
  }

  /** Records a STORED ack; true for the first ack of the message. */
  acked(sender: number, msgNo: number, seq: number): boolean {
    return this.firstAck(sender, msgNo, seq) !== undefined;
  }

  /** This worker's senders' share of the {@link GroupLedger}. */
  ledger(): GroupLedger {
    const out = emptyLedger();
    for (const [sender, s] of this.senders) {
      const g = this.layout.groupOf(sender);
      out.sentBy.push(sender, s.intended.length);
      for (let i = 0; i < s.intended.length; i++) {
        if (s.state[i] === ACKED) (out.acked[g] ??= []).push(s.ackSeq[i]!, sender, i);
        else if (s.state[i] === NONE) (out.unacked[g] ??= []).push(sender, i);
      }
    }
    return out;
  }

  // ---------------------------------------------------------------- members

  /** Declares a member of this worker. */
  addMember(member: number): void {
    if (!this.members.has(member)) {
      this.members.set(member, { group: this.layout.groupOf(member), convId: '', joinSeq: 0, setupSeq: 0, seen: new Uint32Array(8), count: 0, maxSeq: 0 });
    }
  }

  /**
   * The member's group conversation, the seq of the SYSTEM message that added it, and the seq of
   * the group's last SYSTEM message (the last invite batch).
   */
  joined(member: number, convId: string, joinSeq: number, setupSeq: number): void {
    const m = this.memberLog(member);
    if (m.convId && m.convId !== convId) {
      this.c.unexpected++;
      this.example(`unexpected: member ${member} got messages of ${m.convId} before it was told its group is ${convId}`);
    }
    m.convId = convId;
    m.joinSeq = joinSeq;
    m.setupSeq = setupSeq;
  }

  /** Counts `seq` (the ack of the member's own message, never pushed back to it) as held. */
  own(member: number, convId: string, seq: number): void {
    const m = this.memberLog(member);
    if ((m.convId || convId) === convId && seq > 0 && !has(m.seen, seq)) this.see(m, seq);
  }

  /** True when the member holds `seq`. */
  holds(member: number, seq: number): boolean {
    return has(this.memberLog(member).seen, seq);
  }

  /** True when the member holds every seq of `seqs`. */
  holdsAll(member: number, seqs: readonly number[]): boolean {
    const m = this.memberLog(member);
    return seqs.every((q) => has(m.seen, q));
  }

  /**
   * Records a chat `member` received. `system` is a SYSTEM message; `stamp` the body's stamp
   * (null: not a load message).
   */
  delivered(member: number, convId: string, seq: number, system: boolean, stamp: Stamp | null): GroupVerdict {
    const m = this.memberLog(member);
    if (!m.convId) m.convId = convId;
    if (convId !== m.convId) {
      this.c.unexpected++;
      this.example(`unexpected: member ${member} of ${m.convId} got seq ${seq} of ${convId}`);
      return 'unexpected';
    }
    if (seq > 0) {
      if (has(m.seen, seq)) {
        this.c.transportDuplicates++;
        return 'transport-duplicate';
      }
      if (seq < m.maxSeq) this.c.outOfOrderArrivals++;
      this.see(m, seq);
    }
    const g = this.groupLog(m.group);
    const key = system ? -1 : stamp && stamp.runId === this.runId && this.layout.isSender(stamp.sender) &&
      this.layout.groupOf(stamp.sender) === m.group ? messageKey(stamp.sender, stamp.msgNo) : -2;
    const other = g.keyOf.get(seq);
    if (key === -2 || (other !== undefined && other !== key)) {
      this.c.unexpected++;
      this.example(key === -2
        ? `unexpected: member ${member} got ${stamp ? `run ${stamp.runId} sender ${stamp.sender} message ${stamp.msgNo}` : 'a body without a load stamp'} (${convId} seq ${seq})`
        : `unexpected: two different messages under seq ${seq} of ${convId}`);
      return 'unexpected';
    }
    if (seq > 0) g.keyOf.set(seq, key);
    if (system) return 'system';
    const first = g.seqOf.get(key);
    if (first === undefined) {
      g.seqOf.set(key, seq);
    } else if (first !== seq) {
      this.c.duplicates++;
      this.example(`duplicate: sender ${stamp!.sender} message ${stamp!.msgNo} delivered as seq ${first} and as seq ${seq} (${convId})`);
      return 'duplicate';
    }
    this.c.delivered++;
    return 'new';
  }

  // ---------------------------------------------------------------- check

  /** Counts every violation against the run-wide ledger. Call after the catch-up. */
  check(ledger: GroupLedger): HistoryReport {
    let lost = 0;
    let gaps = 0;
    let unexpected = this.c.unexpected;
    let unackedDelivered = 0;
    let seqMismatch = 0;
    const sentBy = new Map<number, number>();
    for (let i = 0; i < ledger.sentBy.length; i += 2) sentBy.set(ledger.sentBy[i]!, ledger.sentBy[i + 1]!);
    for (const [group, g] of this.groups) {
      const acked = ledger.acked[group] ?? [];
      for (let i = 0; i < acked.length; i += 3) {
        const seen = g.seqOf.get(messageKey(acked[i + 1]!, acked[i + 2]!));
        if (seen !== undefined && seen !== acked[i]) seqMismatch++;
      }
      const unacked = ledger.unacked[group] ?? [];
      for (let i = 0; i < unacked.length; i += 2) if (g.seqOf.has(messageKey(unacked[i]!, unacked[i + 1]!))) unackedDelivered++;
      for (const key of g.seqOf.keys()) {
        const sender = Math.floor(key / 1e9);
        if (key - sender * 1e9 >= (sentBy.get(sender) ?? 0)) {
          unexpected++;
          this.example(`unexpected: sender ${sender} message ${key - sender * 1e9} was delivered but never sent`);
        }
      }
    }
    for (const [member, m] of this.members) {
      const acked = ledger.acked[m.group] ?? [];
      let hi = Math.max(m.maxSeq, m.setupSeq);
      for (let i = 0; i < acked.length; i += 3) {
        const seq = acked[i]!;
        if (seq > hi) hi = seq;
        if (seq >= m.joinSeq && !has(m.seen, seq)) {
          lost++;
          this.example(`lost: sender ${acked[i + 1]} message ${acked[i + 2]} acked as seq ${seq} of ${m.convId}, never delivered to member ${member}`);
        }
      }
      if (m.count === 0 && m.joinSeq === 0) continue;
      const lo = m.joinSeq > 0 ? m.joinSeq : lowest(m.seen);
      let missing = 0;
      for (let q = lo; q <= hi; q++) if (!has(m.seen, q)) missing++;
      if (missing > 0) this.example(`gaps: ${missing} seq(s) missing between ${lo} and ${hi} in ${m.convId} for member ${member}`);
      gaps += missing;
    }
    const reordered = this.countReordered();
    let unacked = 0;
    for (const s of this.senders.values()) for (const st of s.state) if (st === NONE) unacked++;
    return this.report({
      sent: this.sends.sent, acked: this.sends.acked, refused: this.sends.refused, unacked, unackedDelivered,
      delivered: this.c.delivered, transportDuplicates: this.c.transportDuplicates, outOfOrderArrivals: this.c.outOfOrderArrivals,
      seqMismatch, lost, duplicates: this.c.duplicates, reordered, unexpected, gaps,
    });
  }

  private countReordered(): number {
    let reordered = 0;
    for (const [sender, s] of this.senders) {
      let prev = 0;
      let prevNo = -1;
      for (let i = 0; i < s.intended.length; i++) {
        if (s.state[i] !== ACKED) continue;
        if (s.ackSeq[i]! < prev) {
          reordered++;
          this.example(`reordered: sender ${sender} message ${i} has seq ${s.ackSeq[i]}, below message ${prevNo}'s seq ${prev}`);
        }
        prev = s.ackSeq[i]!;
        prevNo = i;
      }
    }
    return reordered;
  }

  private see(m: MemberLog, seq: number): void {
    if ((seq >>> 5) >= m.seen.length) {
      const grown = new Uint32Array(Math.max(m.seen.length * 2, (seq >>> 5) + 1));
      grown.set(m.seen);
      m.seen = grown;
    }
    m.seen[seq >>> 5]! |= 1 << (seq & 31);
    m.count++;
    if (seq > m.maxSeq) m.maxSeq = seq;
  }

  private memberLog(member: number): MemberLog {
    const m = this.members.get(member);
    if (!m) throw new Error(`group history: member ${member} was not declared with addMember()`);
    return m;
  }

  private groupLog(group: number): GroupLog {
    let g = this.groups.get(group);
    if (!g) this.groups.set(group, (g = { seqOf: new Map(), keyOf: new Map() }));
    return g;
  }
}

function has(bits: Uint32Array, seq: number): boolean {
  const w = seq >>> 5;
  return w < bits.length && (bits[w]! & (1 << (seq & 31))) !== 0;
}

function lowest(bits: Uint32Array): number {
  for (let w = 0; w < bits.length; w++) if (bits[w] !== 0) return w * 32 + (31 - Math.clz32(bits[w]! & -bits[w]!));
  return 0;
}

function append(to: number[], from: readonly number[]): void {
  for (const v of from) to.push(v);
}

/** A ledger with nothing in it (null-prototype maps: they are keyed by numbers from the wire). */
export function emptyLedger(): GroupLedger {
  return { acked: Object.create(null) as GroupLedger['acked'], unacked: Object.create(null) as GroupLedger['unacked'], sentBy: [] };
}

/** Merges the ledgers of several workers. */
export function mergeLedgers(parts: readonly GroupLedger[]): GroupLedger {
  const out = emptyLedger();
  for (const p of parts) {
    for (const [g, list] of Object.entries(p.acked)) append(out.acked[Number(g)] ??= [], list);
    for (const [g, list] of Object.entries(p.unacked)) append(out.unacked[Number(g)] ??= [], list);
    append(out.sentBy, p.sentBy);
  }
  return out;
}
