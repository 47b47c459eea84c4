/**
 * The delivery checker of the cluster end-to-end tests (DESIGN.md "The delivery contract"): every
 * send and every message an application saw is recorded, then checked for lost (acked but never
 * delivered), duplicate (seen twice by one recipient), out-of-order (seq not increasing within a
 * conversation), misrouted (seen by a user it was not sent to) and wrong-seq (delivered under
 * another seq than the sender's ack). The message body names the send, so nothing is ambiguous.
 */
import type { ImClient, SendAck } from '@hxim/im-client';

/** One send, by body (the body doubles as the clientMsgId, so resends keep it). */
export interface Sent {
  body: string;
  from: number;
  to: number;
  /** When the application called send() (the send may be queued while reconnecting). */
  sentAt: number;
  ack?: SendAck;
  error?: Error;
}

/** One message an application received. */
export interface Received {
  body: string;
  from: number;
  convId: string;
  seq: number;
  at: number;
}

/** What {@link Ledger.check} found; every list is empty on a clean run. */
export interface LedgerReport {
  sent: number;
  acked: number;
  delivered: number;
  failedSends: string[];
  lost: string[];
  duplicates: string[];
  outOfOrder: string[];
  misrouted: string[];
  wrongSeq: string[];
}

/** Records sends and deliveries of many clients. */
export class Ledger {
  readonly sent = new Map<string, Sent>();
  /** Per recipient user id, in the order the application saw them. */
  readonly received = new Map<number, Received[]>();
  private readonly pending = new Set<Promise<void>>();

  /** Records every 'message' of `client`, logged in as `userId`. */
  watch(client: ImClient, userId: number): void {
    const list = this.inbox(userId);
    client.on('message', (m) => {
      list.push({ body: Buffer.from(m.msgBody).toString(), from: m.userId, convId: m.convId, seq: m.seq, at: Date.now() });
    });
  }

  /** Sends `body` from `from` to `to` (clientMsgId = body) and records the outcome. */
  send(client: ImClient, from: number, to: number, body: string): void {
    const s: Sent = { body, from, to, sentAt: Date.now() };
    this.sent.set(body, s);
    const p = client.send(to, body, { clientMsgId: body }).then(
      (ack) => { s.ack = ack; },
      (err: unknown) => { s.error = err as Error; },
    ).finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  /** Resolves once every send has been answered (acked or failed). */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  /** Sends not answered yet. */
  get unanswered(): number {
    return this.pending.size;
  }

  /** When the recipient saw `body` (the first time), or undefined. */
  receivedAt(s: Sent): number | undefined {
    return this.received.get(s.to)?.find((r) => r.body === s.body)?.at;
  }

  /** Acked sends their recipient has not seen yet. */
  missing(): Sent[] {
    const seen = new Map<number, Set<string>>();
    for (const [uid, list] of this.received) seen.set(uid, new Set(list.map((r) => r.body)));
    return [...this.sent.values()].filter((s) => s.ack && !seen.get(s.to)?.has(s.body));
  }

  /** Checks the whole history; see {@link LedgerReport}. */
  check(): LedgerReport {
    const r: LedgerReport = {
      sent: this.sent.size, acked: 0, delivered: 0, failedSends: [], lost: [], duplicates: [], outOfOrder: [],
      misrouted: [], wrongSeq: [],
    };
    for (const s of this.sent.values()) {
      if (s.ack) r.acked++;
      else r.failedSends.push(`${s.body}: ${s.error?.message ?? 'no answer'}`);
    }
    for (const s of this.missing()) r.lost.push(s.body);
    for (const [uid, list] of this.received) {
      const bodies = new Set<string>();
      const seqs = new Set<string>();
      const last = new Map<string, number>();
      for (const m of list) {
        r.delivered++;
        if (bodies.has(m.body) || seqs.has(`${m.convId}#${m.seq}`)) r.duplicates.push(`user ${uid}: ${m.body} (${m.convId}#${m.seq})`);
        bodies.add(m.body);
        seqs.add(`${m.convId}#${m.seq}`);
        if ((last.get(m.convId) ?? 0) >= m.seq) r.outOfOrder.push(`user ${uid}: ${m.convId}#${m.seq} after #${last.get(m.convId)}`);
        last.set(m.convId, Math.max(m.seq, last.get(m.convId) ?? 0));
        const s = this.sent.get(m.body);
        if (s && (s.to !== uid || s.from !== m.from)) r.misrouted.push(`user ${uid} got ${m.body}`);
        if (s?.ack && (s.ack.seq !== m.seq || s.ack.convId !== m.convId)) {
          r.wrongSeq.push(`${m.body}: acked ${s.ack.convId}#${s.ack.seq}, delivered ${m.convId}#${m.seq}`);
        }
      }
    }
    return r;
  }

  private inbox(userId: number): Received[] {
    let list = this.received.get(userId);
    if (!list) this.received.set(userId, (list = []));
    return list;
  }
}

/** A compact summary of the report's problems (first few of each kind), or "" when clean. */
export function problems(r: LedgerReport): string {
  const parts: string[] = [];
  for (const k of ['failedSends', 'lost', 'duplicates', 'outOfOrder', 'misrouted', 'wrongSeq'] as const) {
    if (r[k].length > 0) parts.push(`${k}=${r[k].length} [${r[k].slice(0, 5).join('; ')}${r[k].length > 5 ? '; ...' : ''}]`);
  }
  return parts.join('\n');
}
