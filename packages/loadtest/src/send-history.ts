/**
 * The sender side shared by the two history checkers (1:1 in history.ts, groups in
 * group-history.ts): per sender, each message's intended send time, its state (no answer yet,
 * acked, refused) and the seq of its STORED ack; the sent/acked/refused counts; the examples a
 * report keeps; and the report's verdict. Pure bookkeeping: no I/O, no clock.
 */
import type { HistoryCounts, HistoryReport } from './history';

/** Examples kept per report. */
export const MAX_EXAMPLES = 20;

/** The counts that fail a run. */
export const FAILING_COUNTS = ['lost', 'duplicates', 'reordered', 'unexpected', 'gaps'] as const;

/** A message's state: neither an ack nor an error yet. */
export const NONE = 0;
/** A message's state: STORED ack received. */
export const ACKED = 1;
/** A message's state: answered with an error. */
export const REFUSED = 2;

/** One sender's messages, by message number. */
export interface SendLog {
  intended: number[];
  state: number[];
  ackSeq: number[];
}

/** See the file comment. `L` is the checker's own per-sender log. */
export abstract class SendHistory<L extends SendLog> {
  protected readonly senders = new Map<number, L>();
  private readonly examples: string[] = [];
  /** Messages recorded, acked and refused (an ack after an error moves it from refused to acked). */
  protected readonly sends = { sent: 0, acked: 0, refused: 0 };

  /** @param name prefixes the errors thrown on misuse */
  protected constructor(readonly runId: number, private readonly name: string) {}

  /** Messages sent and neither acked nor refused yet. */
  get outstanding(): number {
    return this.sends.sent - this.sends.acked - this.sends.refused;
  }

  /** Records message `msgNo` of `sender` (numbers are consecutive from 0). */
  sent(sender: number, msgNo: number, intendedUs: number): void {
    const s = this.senders.get(sender);
    if (!s) throw new Error(`${this.name}: sender ${sender} was not declared with addSender()`);
    if (msgNo !== s.intended.length) throw new Error(`${this.name}: sender ${sender} sent message ${msgNo}, expected ${s.intended.length}`);
    s.intended.push(intendedUs);
    s.state.push(NONE);
    s.ackSeq.push(0);
    this.recorded(s);
    this.sends.sent++;
  }

  /** The intended send time of a recorded message (NaN if unknown). */
  intendedOf(sender: number, msgNo: number): number {
    return this.senders.get(sender)?.intended[msgNo] ?? NaN;
  }

  /** Number of messages `sender` has sent. */
  sentBy(sender: number): number {
    return this.senders.get(sender)?.intended.length ?? 0;
  }

  /** True once the message has its STORED ack. */
  isAcked(sender: number, msgNo: number): boolean {
    return this.senders.get(sender)?.state[msgNo] === ACKED;
  }

  /** True when the message got neither an ack nor an error yet. */
  isPending(sender: number, msgNo: number): boolean {
    return this.senders.get(sender)?.state[msgNo] === NONE;
  }

  /** Records an error answer to a send (it was not acked). */
  refused(sender: number, msgNo: number): void {
    const s = this.senders.get(sender);
    if (!s || msgNo < 0 || msgNo >= s.intended.length || s.state[msgNo] !== NONE) return;
    s.state[msgNo] = REFUSED;
    this.sends.refused++;
  }

  /** Hook: `sent` just appended a message to `log` (a checker keeps more per message). */
  protected recorded(_log: L): void {}

  /** Records a STORED ack; returns the sender's log for the first ack of the message, else undefined. */
  protected firstAck(sender: number, msgNo: number, seq: number): L | undefined {
    const s = this.senders.get(sender);
    if (!s || msgNo < 0 || msgNo >= s.intended.length || s.state[msgNo] === ACKED) return undefined;
    if (s.state[msgNo] === REFUSED) this.sends.refused--;
    s.state[msgNo] = ACKED;
    s.ackSeq[msgNo] = seq;
    this.sends.acked++;
    return s;
  }

  /** Keeps `text` as an example while there are fewer than {@link MAX_EXAMPLES}. */
  protected example(text: string): void {
    if (this.examples.length < MAX_EXAMPLES) this.examples.push(text);
  }

  /** The report of `counts`: the verdict and the examples. */
  protected report(counts: HistoryCounts): HistoryReport {
    return { ...counts, ok: FAILING_COUNTS.every((k) => counts[k] === 0), examples: this.examples.slice(0, MAX_EXAMPLES) };
  }
}
