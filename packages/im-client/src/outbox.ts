/**
 * Sends waiting for their STORED ack. A send stays here, with its clientMsgId, until the server
 * acks it or refuses it: after a reconnect it is written again with the same id, and the server's
 * idempotency (DESIGN.md "Client and server ids") turns a resend of a stored chat into the
 * original ack with duplicate=true. Pure bookkeeping: the client does the writing.
 */
import { ClientError } from './errors';

/** The server's STORED ack of one send. */
export interface SendAck {
  /** The id the chat was sent with. */
  clientMsgId: string;
  /** The server's message id. */
  serverMsgId: number;
  /** The conversation seq assigned to the chat. */
  seq: number;
  /** The conversation, e.g. "p:1:2". */
  convId: string;
  /** True when this id had already been stored (a resend); the ids are the original ones. */
  duplicate: boolean;
  /** Server clock when stored, ms since epoch. */
  serverTime: number;
}

/** One send in the queue. */
export interface PendingSend {
  readonly clientMsgId: string;
  readonly receiveId: number;
  /** Group sends (issue 5): the group id, with receiveId 0; 0 for 1:1. */
  readonly groupId: number;
  readonly body: Uint8Array;
  readonly timeStamp: number;
  readonly promise: Promise<SendAck>;
  /** Written on the current connection and not yet answered. */
  written: boolean;
  /** How many times it was written (1 = no resend). */
  writes: number;
  resolve(ack: SendAck): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout | null;
}

/** The send queue: FIFO, with at most `maxInflight` written and unanswered. */
export class Outbox {
  /** Every unanswered send by clientMsgId, in send order. */
  private readonly pending = new Map<string, PendingSend>();
  /** Unwritten sends, oldest first; `head` skips the taken ones without shifting. */
  private queue: PendingSend[] = [];
  private head = 0;
  private inflight = 0;

  /**
   * @param maxInflight written-but-unanswered limit
   * @param ackTimeoutMs how long a written send may wait for its answer
   * @param onWindow called when a slot frees up, so the owner can write more
   */
  constructor(
    private readonly maxInflight: number,
    private readonly ackTimeoutMs: number,
    private readonly onWindow: () => void,
  ) {}

  /** Unanswered sends, written or not. */
  get size(): number {
    return this.pending.size;
  }

  /** Sends written on the current connection and not yet answered. */
  get inflightCount(): number {
    return this.inflight;
  }

  /** True if `clientMsgId` is waiting for its answer. */
  has(clientMsgId: string): boolean {
    return this.pending.has(clientMsgId);
  }

  /** Queues a send; an id that is already queued returns the existing promise. */
  add(clientMsgId: string, receiveId: number, body: Uint8Array, timeStamp: number, groupId = 0): Promise<SendAck> {
    const existing = this.pending.get(clientMsgId);
    if (existing) return existing.promise;
    let resolve!: (ack: SendAck) => void;
    let reject!: (err: Error) => void;
    const promise = new Promise<SendAck>((res, rej) => { resolve = res; reject = rej; });
    const p: PendingSend = {
      clientMsgId, receiveId, groupId, body, timeStamp, promise, written: false, writes: 0, resolve, reject, timer: null,
    };
    this.pending.set(clientMsgId, p);
    this.queue.push(p);
    return promise;
  }

  /**
   * Takes the unwritten sends that fit in the window, oldest first, marks them written and
   * starts their ack timers. The caller writes them.
   */
  takeWritable(): PendingSend[] {
    const out: PendingSend[] = [];
    while (this.inflight < this.maxInflight && this.head < this.queue.length) {
      const p = this.queue[this.head++]!;
      if (!this.pending.has(p.clientMsgId) || p.written) continue; // answered or timed out meanwhile
      p.written = true;
      p.writes++;
      this.inflight++;
      p.timer = setTimeout(() => {
        this.fail(p.clientMsgId, new ClientError('ACK_TIMEOUT',
          `no STORED ack for ${p.clientMsgId} within ${this.ackTimeoutMs} ms; resend with the same clientMsgId to stay idempotent`));
      }, this.ackTimeoutMs);
      out.push(p);
    }
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    }
    return out;
  }

  /** Resolves a send with its ack; false if the id is not pending (late or foreign ack). */
  settle(clientMsgId: string, ack: SendAck): boolean {
    const p = this.remove(clientMsgId);
    if (!p) return false;
    p.resolve(ack);
    return true;
  }

  /** Rejects a send; false if the id is not pending. */
  fail(clientMsgId: string, err: Error): boolean {
    const p = this.remove(clientMsgId);
    if (!p) return false;
    p.reject(err);
    return true;
  }

  /**
   * The connection is gone: every written send becomes unwritten again (ack timers stop), so
   * the next connection writes them all, in the original order, with the same ids.
   */
  unwriteAll(): void {
    for (const p of this.pending.values()) {
      if (p.timer) clearTimeout(p.timer);
      p.timer = null;
      p.written = false;
    }
    this.inflight = 0;
    this.queue = [...this.pending.values()];
    this.head = 0;
  }

  /** Rejects every send (the client is closing). */
  failAll(err: Error): void {
    for (const id of [...this.pending.keys()]) this.fail(id, err);
    this.queue = [];
    this.head = 0;
  }

  private remove(clientMsgId: string): PendingSend | null {
    const p = this.pending.get(clientMsgId);
    if (!p) return null;
    this.pending.delete(clientMsgId);
    if (p.timer) clearTimeout(p.timer);
    p.timer = null;
    if (p.written) {
      p.written = false;
      this.inflight--;
      this.onWindow();
    }
    return p;
  }
}
