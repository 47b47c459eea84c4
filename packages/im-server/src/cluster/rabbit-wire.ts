/**
 * How RabbitBus puts envelopes on the wire: the broker pays per message, per frame and per TCP
 * segment, and at a few thousand envelopes a second one message per envelope, one segment per
 * publish and one ack per envelope are most of its CPU (and, with Nagle's algorithm on, the
 * socket's 40 ms delayed-ACK stalls were a good part of the latency).
 *
 * Batches (encodeBatch, Outbox, packBatches, Slots): the envelopes published to one instance in
 * one turn travel as one message; the consumer runs their handlers in order, at most `prefetch`
 * at once.
 *
 * Consumer acks, coalesced (AckBatcher): a delivery is acked only after its handler succeeded;
 * the acks of one event-loop turn go out as one basic.ack with `multiple` set, up to the highest
 * delivery tag below which every delivery of the channel is settled. A finished delivery behind an unsettled one (a failed
 * handler waiting for its requeue) is acked on its own, so a slow retry never holds the others'
 * acks, and `multiple` never covers a delivery that is still being handled.
 *
 * Writes, coalesced (coalesceFrames): TCP_NODELAY is on (no Nagle stalls), and every frame
 * amqplib queues during one turn leaves in one socket write.
 */
import type * as amqp from 'amqplib';
import type { ClusterError } from './errors';

/** Coalesced acks of one consumer channel. */
export class AckBatcher {
  /** Deliveries not settled yet, in delivery order (= delivery-tag order on one channel). */
  private open: amqp.Message[] = [];
  /** Deliveries whose handler succeeded, not acked yet. */
  private readonly done = new Set<amqp.Message>();
  private scheduled = false;

  /** @param ch the channel the deliveries came on. */
  constructor(private readonly ch: amqp.Channel) {}

  /** Deliveries received and not settled yet (for tests and metrics). */
  get unsettled(): number {
    return this.open.length;
  }

  /** Records a delivery; call for every delivery of the channel, in the order they arrive. */
  received(msg: amqp.Message): void {
    this.open.push(msg);
  }

  /** The delivery is done with: it is acked within this event-loop turn's batch. */
  ack(msg: amqp.Message): void {
    this.done.add(msg);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  /** The delivery was settled another way (nacked for a redelivery): forget it. */
  settled(msg: amqp.Message): void {
    const i = this.open.indexOf(msg); // rare path: failures only
    if (i >= 0) this.open.splice(i, 1);
    this.done.delete(msg);
  }

  private flush(): void {
    this.scheduled = false;
    let n = 0;
    while (n < this.open.length && this.done.has(this.open[n])) this.done.delete(this.open[n++]);
    if (n > 0) {
      const last = this.open[n - 1];
      this.open = this.open.slice(n);
      this.send(last, true);
    }
    if (this.done.size === 0) return;
    for (const msg of this.done) {
      this.send(msg, false);
      this.settled(msg);
    }
  }

  private send(msg: amqp.Message, allUpTo: boolean): void {
    try {
      this.ch.ack(msg, allUpTo);
    } catch {
      // The channel closed: the broker requeues what was not acked and redelivers it
      // (at-least-once; handlers are idempotent).
    }
  }
}

/**
 * Makes amqplib write every frame of one muxer pass (everything its channels queued during one
 * event-loop turn: publishes, acks) as one socket write. With TCP_NODELAY on, uncorked frames
 * would go out as one segment each, and the broker pays per segment. Uses amqplib internals
 * (Connection.muxer._readIncoming, Connection.stream); if they are not there (another amqplib
 * version), frames go out as amqplib writes them.
 */
export function coalesceFrames(model: amqp.ChannelModel): void {
  type Corkable = { cork?: () => void; uncork?: () => void };
  const c = (model as unknown as { connection?: { muxer?: { _readIncoming?: () => void }; stream?: Corkable } }).connection;
  const mux = c?.muxer;
  const sock = c?.stream;
  const pass = mux?._readIncoming;
  if (!mux || typeof pass !== 'function' || typeof sock?.cork !== 'function' || typeof sock.uncork !== 'function') return;
  mux._readIncoming = function corkedPass(this: unknown): void {
    sock.cork!();
    try {
      pass.call(this);
    } finally {
      sock.uncork!();
    }
  };
}

/** One publish() waiting in the Outbox: the encoded envelope and its promise. */
export interface Outgoing {
  body: Buffer;
  resolve: () => void;
  reject: (err: ClusterError) => void;
}

/** AMQP `type` of a message that carries several envelopes ({@link encodeBatch}). */
export const BATCH_TYPE = 'hxim.batch';

/** Several encoded envelopes in one message body: a u32 count, then a u32 length and the bytes of each. */
export function encodeBatch(bodies: readonly Buffer[]): Buffer {
  let size = 4;
  for (const b of bodies) size += 4 + b.length;
  const out = Buffer.allocUnsafe(size);
  out.writeUInt32BE(bodies.length, 0);
  let at = 4;
  for (const b of bodies) {
    out.writeUInt32BE(b.length, at);
    b.copy(out, at + 4);
    at += 4 + b.length;
  }
  return out;
}

/** The envelopes of a batch body (views into it). @throws TypeError when it is malformed. */
export function decodeBatch(buf: Buffer): Buffer[] {
  if (buf.length < 4) throw new TypeError('bus batch: shorter than its count');
  const n = buf.readUInt32BE(0);
  const out: Buffer[] = [];
  let at = 4;
  for (let i = 0; i < n; i++) {
    if (at + 4 > buf.length) throw new TypeError(`bus batch: envelope ${i} of ${n} is cut off`);
    const len = buf.readUInt32BE(at);
    if (at + 4 + len > buf.length) throw new TypeError(`bus batch: envelope ${i} of ${n} is cut off`);
    out.push(buf.subarray(at + 4, at + 4 + len));
    at += 4 + len;
  }
  if (at !== buf.length) throw new TypeError('bus batch: trailing bytes');
  return out;
}

/**
 * What publish() calls of one turn leave as: per target, in call order. Flushed from a microtask,
 * so every publish of one synchronous loop (the router publishes a turn's deliveries in one)
 * joins, and nothing waits for a later turn.
 */
export class Outbox<T> {
  private byTarget = new Map<string, T[]>();
  private queued = false;

  /** @param flush called once per target per turn with that turn's items, in call order. */
  constructor(private readonly flush: (target: string, items: T[]) => void) {}

  /** Queues an item for `target`. */
  add(target: string, item: T): void {
    const list = this.byTarget.get(target);
    if (list) list.push(item);
    else this.byTarget.set(target, [item]);
    if (this.queued) return;
    this.queued = true;
    queueMicrotask(() => this.drain());
  }

  private drain(): void {
    this.queued = false;
    const all = this.byTarget;
    this.byTarget = new Map();
    for (const [target, items] of all) this.flush(target, items);
  }
}

/**
 * At most `n` handlers at once, started in call order (RabbitBus: at most `prefetch` envelopes
 * in handlers, whether they came one per message or in batches). A free slot starts the handler
 * synchronously.
 */
export class Slots {
  private free: number;
  private readonly waiting: Array<() => void> = [];

  constructor(n: number) {
    this.free = n;
  }

  /** Runs `fn` in a slot; settles as it does (a synchronous throw becomes a rejection). */
  run(fn: () => Promise<void>): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return this.guard(fn);
    }
    return new Promise<void>((resolve) => this.waiting.push(resolve)).then(() => this.guard(fn));
  }

  private guard(fn: () => Promise<void>): Promise<void> {
    let p: Promise<void>;
    try {
      p = Promise.resolve(fn());
    } catch (err) {
      p = Promise.reject(err);
    }
    return p.finally(() => this.release());
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next(); // the slot passes straight to the next handler
    else this.free++;
  }
}

/** Most bytes of envelopes packed into one message. */
export const MAX_BATCH_BYTES = 1 << 20;

/** Splits one turn's envelopes for a target into messages of at most `max` envelopes and MAX_BATCH_BYTES. */
export function packBatches<T extends { body: Buffer }>(items: readonly T[], max: number): T[][] {
  const out: T[][] = [];
  for (let start = 0; start < items.length;) {
    let end = start + 1;
    let bytes = items[start].body.length;
    while (end < items.length && end - start < max && bytes + items[end].body.length <= MAX_BATCH_BYTES) {
      bytes += items[end].body.length;
      end++;
    }
    out.push(items.slice(start, end));
    start = end;
  }
  return out;
}

/** Nacks a delivery for redelivery; on a closed channel the broker requeues it anyway. */
export function safeNack(ch: amqp.Channel, msg: amqp.Message): void {
  try {
    ch.nack(msg, false, true);
  } catch {
    // The channel closed: an unacked message is requeued by the broker.
  }
}

/** Failed deliveries per message id, bounded (the oldest ids are forgotten first). */
export class Attempts {
  private readonly map = new Map<string, number>();

  constructor(private readonly max = 10_000) {}

  /** Counts one more failed delivery of the message and returns the count. */
  failed(id: unknown): number {
    const key = typeof id === 'string' ? id : '';
    const n = (this.map.get(key) ?? 0) + 1;
    this.map.delete(key);
    this.map.set(key, n);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value as string);
    return n;
  }

  /** Forgets the message (handled, or given up). */
  forget(id: unknown): void {
    if (this.map.size > 0) this.map.delete(typeof id === 'string' ? id : '');
  }
}
