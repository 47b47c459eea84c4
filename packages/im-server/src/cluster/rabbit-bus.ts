/**
 * The bus over RabbitMQ (amqplib). Routing by location, never broadcast (seed.md §9.5): a durable
 * direct exchange, one durable queue per instance bound with routing key = instance id. Messages
 * are persistent and mandatory (an unbound target is reported, not silently dropped).
 *
 * Publishing: one ConfirmChannel, confirms PIPELINED. Each publish() returns at once; many
 * publishes are outstanding together (bounded by `maxUnconfirmed`), and each promise settles when
 * the broker confirms the message that carried it (DESIGN.md: waiting on each confirm is about
 * 13x slower). The envelopes published to one instance during one turn share one message (up to
 * `maxBatch`, type BATCH_TYPE, rabbit-wire.ts): the broker's cost is per message. While the broker is unreachable,
 * publish() REJECTS at once with a ClusterError (there is no buffer): the caller has stored the
 * message, so the recipient gets it by seq on catch-up (DESIGN.md "The broker is a transport").
 *
 * Consuming: a separate channel, prefetch `prefetch`, and at most `prefetch` envelopes in
 * handlers at once; a message is acked only after the handlers of all its envelopes resolved (the
 * acks of one event-loop turn share one frame: rabbit-wire.ts); a rejected handler gets its
 * message nacked with requeue after a growing delay, up to `maxAttempts` deliveries, then acked
 * and logged. Malformed messages are acked and logged.
 *
 * Recovery: amqplib's built-in recovery (amqplib >= 1.1) reconnects with
 * amqpReconnectDelay (rabbit-options.ts), capped at 5 s (amqplib's default cap is 30 s). Its `setup`
 * hook
 * runs on every (re)connect and re-declares the exchange, the queue and its binding, reopens the
 * channels and resumes consuming. A channel that dies while its connection lives (e.g. the queue
 * was deleted) forces a reconnect, which redoes all of that. Unconfirmed publishes at the moment
 * of a drop reject (they may or may not have been routed); unacked deliveries are redelivered by
 * the broker, so handlers must be idempotent.
 */
import { randomBytes } from 'node:crypto';
import * as amqp from 'amqplib';
import { decodeEnvelope, encodeEnvelope } from './envelope';
import {
  AckBatcher, Attempts, BATCH_TYPE, coalesceFrames, decodeBatch, encodeBatch, Outbox, packBatches, safeNack, Slots,
  type Outgoing,
} from './rabbit-wire';
import { ClusterError, type ClusterErrorReason } from './errors';
import { checkInstanceId, ClusterKeys } from './keys';
import { HealthTracker, retryDelay } from './options';
import type { Bus, Envelope, Health } from './ports';
import {
  amqpReconnectDelay, parseRabbitBusOptions, redactUrl, type ParsedRabbitBusOptions, type RabbitBusOptions,
} from './rabbit-options';

interface PendingConfirm {
  resolve: () => void;
  reject: (err: ClusterError) => void;
  deadline: number;
}

interface ConsumerReg {
  instanceId: string;
  handler: (env: Envelope) => Promise<void>;
}

/** RabbitMQ-backed {@link Bus}. Create with {@link RabbitBus.connect}. */
export class RabbitBus implements Bus {
  /** Names for this namespace. */
  readonly keys: ClusterKeys;
  private conn!: amqp.RecoveringChannelModel;
  private model: amqp.ChannelModel | null = null;
  private pub: amqp.ConfirmChannel | null = null;
  private con: amqp.Channel | null = null;
  private consumer: ConsumerReg | null = null;
  private readonly pending = new Map<string, PendingConfirm>();
  private readonly returned = new Set<string>();
  private readonly attempts = new Attempts();
  private readonly idPrefix = randomBytes(4).toString('hex') + '.';
  private seq = 0;
  private sweeper: NodeJS.Timeout | null = null;
  private lock: Promise<void> = Promise.resolve();
  private closed = false;
  private lastError = '';
  private readonly tracker: HealthTracker;
  private readonly outbox = new Outbox<Outgoing>((target, items) => {
    for (const msg of packBatches(items, this.opts.maxBatch)) this.sendOne(target, msg);
  });
  private readonly slots: Slots;

  private constructor(readonly opts: ParsedRabbitBusOptions) {
    this.keys = new ClusterKeys(opts.prefix);
    this.slots = new Slots(opts.prefetch);
    this.tracker = new HealthTracker('down', (err) => opts.logger.error({ err }, 'bus health listener threw'));
  }

  /**
   * Connects, declares the exchange, and waits (at most `startupTimeoutMs`) for the first
   * connection. @throws ClusterError when the broker does not answer in time.
   */
  static async connect(options: RabbitBusOptions): Promise<RabbitBus> {
    const bus = new RabbitBus(parseRabbitBusOptions(options));
    await bus.open();
    return bus;
  }

  private async open(): Promise<void> {
    const { opts } = this;
    const url = /[?&]heartbeat=/.test(opts.url) || opts.heartbeatSec === 0 ? opts.url
      : `${opts.url}${opts.url.includes('?') ? '&' : '?'}heartbeat=${opts.heartbeatSec}`;
    this.conn = await amqp.connect(url, {
      clientProperties: { connection_name: `${opts.prefix}-bus` },
      noDelay: true, // no Nagle stalls; writes are coalesced per turn instead (coalesceFrames)
      recovery: {
        waitForConnect: false,
        maxRetries: Infinity,
        calculateDelay: (attempt: number) => amqpReconnectDelay(attempt, opts.retryBaseMs, opts.retryMaxMs),
        setup: (model: amqp.ChannelModel) => this.setup(model),
      },
    });
    this.conn.on('error', (err: Error) => this.warnOnce('amqp connection error', err));
    this.conn.on('handler-error', (err: Error, ev: string) => opts.logger.error({ err, ev }, 'amqp listener threw'));
    this.conn.on('connect-failed', (err: Error) => this.warnOnce('amqp connect failed; retrying', err));
    this.conn.on('disconnect', (err: Error) => this.warnOnce('amqp connection lost; recovering', err));
    this.conn.on('blocked', (reason: string) => opts.logger.warn({ reason }, 'broker blocked publishing'));
    this.conn.on('connect', () => {
      if (this.lastError) opts.logger.info({}, 'amqp connection recovered');
      this.lastError = '';
    });
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.conn.waitForConnect(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new ClusterError('rabbitmq', 'unavailable',
            `no connection to ${redactUrl(opts.url)} within ${opts.startupTimeoutMs} ms: start RabbitMQ or fix the URL`)),
          opts.startupTimeoutMs);
        }),
      ]);
    } catch (err) {
      this.closed = true;
      await this.conn.close().catch(() => {});
      throw err instanceof ClusterError ? err : new ClusterError('rabbitmq', 'unavailable', String(err), err);
    } finally {
      clearTimeout(timer);
    }
  }

  /** 'up' while connected with the channels open. */
  get health(): Health {
    return this.tracker.health;
  }

  /** The instance id this bus consumes for (set by start()), or null. */
  get consuming(): string | null {
    return this.consumer?.instanceId ?? null;
  }

  /** Subscribes to health changes. */
  onHealth(listener: (health: Health) => void): () => void {
    return this.tracker.onHealth(listener);
  }

  /** Publishes awaiting their confirm (for metrics and tests). */
  get unconfirmed(): number {
    return this.pending.size;
  }

  async start(instanceId: string, handler: (env: Envelope) => Promise<void>): Promise<void> {
    if (this.closed) throw new ClusterError('rabbitmq', 'closed', 'start: the bus was closed');
    checkInstanceId(instanceId);
    if (this.consumer) throw new TypeError(`this bus already consumes "${this.consumer.instanceId}"`);
    const reg: ConsumerReg = { instanceId, handler };
    this.consumer = reg;
    await this.serialize(async () => {
      const model = this.model;
      if (!model) {
        this.opts.logger.warn({ instanceId }, 'bus started while the broker is unreachable; consuming once it is back');
        return;
      }
      if (this.con) return;
      try {
        this.con = await this.openConsumer(model, reg);
      } catch (err) {
        this.consumer = null;
        throw new ClusterError('rabbitmq', 'unavailable', `cannot consume ${this.keys.queue(instanceId)}: ${(err as Error).message}`, err);
      }
    });
  }

  publish(targetInstanceId: string, env: Envelope): Promise<void> {
    if (this.closed) return Promise.reject(new ClusterError('rabbitmq', 'closed', 'publish: the bus was closed'));
    let body: Buffer;
    let routingKey: string;
    try {
      routingKey = this.keys.routingKey(targetInstanceId);
      body = encodeEnvelope(env);
    } catch (err) {
      return Promise.reject(err);
    }
    const ch = this.pub;
    if (!ch) {
      return Promise.reject(new ClusterError('rabbitmq', 'unavailable', 'publish: not connected to RabbitMQ; recovering in the background'));
    }
    if (this.pending.size >= this.opts.maxUnconfirmed) {
      return Promise.reject(new ClusterError('rabbitmq', 'overloaded', `publish: ${this.pending.size} publishes await a confirm`));
    }
    return new Promise<void>((resolve, reject) => this.outbox.add(routingKey, { body, resolve, reject }));
  }

  /** Publishes one message (one envelope, or a batch); its confirm settles every envelope in it. */
  private sendOne(target: string, items: Outgoing[]): void {
    const fail = (err: ClusterError): void => {
      for (const it of items) it.reject(err);
    };
    const ch = this.pub;
    if (!ch) return fail(new ClusterError('rabbitmq', 'unavailable', 'publish: not connected to RabbitMQ; recovering in the background'));
    const id = this.idPrefix + (this.seq++).toString(36);
    const batch = items.length > 1;
    const body = batch ? encodeBatch(items.map((it) => it.body)) : items[0].body;
    this.pending.set(id, { resolve: () => { for (const it of items) it.resolve(); }, reject: fail, deadline: Date.now() + this.opts.confirmTimeoutMs });
    try {
      ch.publish(this.keys.exchange, target, body, { persistent: true, mandatory: true, messageId: id, ...(batch ? { type: BATCH_TYPE } : {}) },
        (err: unknown) => this.onConfirm(id, target, err));
    } catch (err) {
      // The channel closed between the check and the write (IllegalOperationError).
      this.pending.delete(id);
      fail(new ClusterError('rabbitmq', 'unavailable', `publish: ${(err as Error).message}`, err));
      return;
    }
    this.startSweeper();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
    try {
      await this.conn.close();
    } catch {
      // already closed
    }
    this.model = null;
    this.pub = null;
    this.con = null;
    this.failPending('closed', 'the bus was closed');
    this.tracker.set('down');
  }

  /** Runs on every (re)connect, before amqplib reports the connection usable. */
  private setup(model: amqp.ChannelModel): Promise<void> {
    return this.serialize(async () => {
      model.on('handler-error', (err: Error, ev: string) => this.opts.logger.error({ err, ev }, 'amqp listener threw'));
      coalesceFrames(model); // one socket write per turn
      const pub = await model.createConfirmChannel();
      pub.on('error', (err: Error) => this.warnOnce('amqp publish channel error', err));
      pub.on('return', (msg: amqp.Message) => {
        if (typeof msg.properties.messageId === 'string') this.returned.add(msg.properties.messageId);
      });
      pub.on('close', () => this.onChannelLost(model, pub));
      await pub.assertExchange(this.keys.exchange, 'direct', { durable: true });
      const con = this.consumer ? await this.openConsumer(model, this.consumer) : null;
      if (this.closed) return;
      model.once('close', () => this.onDisconnect(model));
      this.model = model;
      this.pub = pub;
      this.con = con;
      this.tracker.set('up');
    });
  }

  private async openConsumer(model: amqp.ChannelModel, reg: ConsumerReg): Promise<amqp.Channel> {
    const ch = await model.createChannel();
    ch.on('error', (err: Error) => this.warnOnce('amqp consumer channel error', err));
    ch.on('close', () => this.onChannelLost(model, ch));
    await ch.prefetch(this.opts.prefetch);
    const queue = this.keys.queue(reg.instanceId);
    const args: Record<string, unknown> = {};
    if (this.opts.queueExpiresMs > 0) args['x-expires'] = this.opts.queueExpiresMs;
    await ch.assertQueue(queue, { durable: true, arguments: args });
    await ch.bindQueue(queue, this.keys.exchange, this.keys.routingKey(reg.instanceId));
    const acks = new AckBatcher(ch);
    await ch.consume(queue, (msg) => this.onMessage(model, ch, acks, reg, msg), { noAck: false });
    return ch;
  }

  private onMessage(model: amqp.ChannelModel, ch: amqp.Channel, acks: AckBatcher, reg: ConsumerReg,
    msg: amqp.ConsumeMessage | null): void {
    if (msg === null) {
      this.opts.logger.warn({ queue: this.keys.queue(reg.instanceId) }, 'consumer cancelled by the broker; reconnecting');
      this.forceReconnect(model);
      return;
    }
    acks.received(msg);
    let envs: Envelope[];
    try {
      envs = msg.properties.type === BATCH_TYPE ? decodeBatch(msg.content).map(decodeEnvelope) : [decodeEnvelope(msg.content)];
    } catch (err) {
      this.opts.logger.error({ err, bytes: msg.content.length }, 'dropping a malformed bus envelope');
      acks.ack(msg);
      return;
    }
    // In order, at most `prefetch` envelopes in handlers at once; a batch is acked when all of
    // its envelopes were handled, and redelivered whole if one failed (handlers are idempotent).
    const p = envs.length === 1 ? this.slots.run(() => reg.handler(envs[0]))
      : Promise.all(envs.map((env) => this.slots.run(() => reg.handler(env))));
    p.then(
      () => {
        this.attempts.forget(msg.properties.messageId);
        acks.ack(msg);
      },
      (err: unknown) => this.onHandlerFailure(ch, acks, msg, envs[0], err),
    );
  }

  private onHandlerFailure(ch: amqp.Channel, acks: AckBatcher, msg: amqp.ConsumeMessage, env: Envelope, err: unknown): void {
    const attempt = this.attempts.failed(msg.properties.messageId);
    if (attempt >= this.opts.maxAttempts) {
      this.attempts.forget(msg.properties.messageId);
      this.opts.logger.error({ err, attempts: attempt, origin: env.origin, kind: env.kind },
        'bus handler kept failing; envelope dropped (the recipient catches up by seq)');
      acks.ack(msg);
      return;
    }
    this.opts.logger.warn({ err, attempt, origin: env.origin }, 'bus handler failed; requeueing');
    setTimeout(() => {
      acks.settled(msg);
      safeNack(ch, msg);
    }, retryDelay(attempt, this.opts.retryDelayMs)).unref();
  }

  private onConfirm(id: string, target: string, err: unknown): void {
    const p = this.pending.get(id);
    const wasReturned = this.returned.delete(id);
    if (!p) return; // already timed out
    this.pending.delete(id);
    if (err) {
      const nacked = err instanceof Error && err.message === 'message nacked';
      const reason: ClusterErrorReason = this.closed ? 'closed' : nacked ? 'nacked' : 'unavailable';
      p.reject(new ClusterError('rabbitmq', reason, `publish to ${target}: ${(err as Error).message ?? String(err)}`, err));
    } else if (wasReturned) {
      p.reject(new ClusterError('rabbitmq', 'unroutable', `publish: no queue is bound for instance "${target}"`));
    } else {
      p.resolve();
    }
  }

  /** Rejects publishes whose confirm is overdue. Insertion order is deadline order. */
  private startSweeper(): void {
    if (this.sweeper) return;
    const every = Math.max(10, Math.min(1_000, Math.floor(this.opts.confirmTimeoutMs / 4)));
    this.sweeper = setInterval(() => {
      const now = Date.now();
      for (const [id, p] of this.pending) {
        if (p.deadline > now) break;
        this.pending.delete(id);
        p.reject(new ClusterError('rabbitmq', 'timeout', `publish: no confirm within ${this.opts.confirmTimeoutMs} ms`));
      }
      if (this.pending.size === 0 && this.sweeper) {
        clearInterval(this.sweeper);
        this.sweeper = null;
      }
    }, every);
    this.sweeper.unref();
  }

  private onDisconnect(model: amqp.ChannelModel): void {
    if (this.model !== model) return;
    this.model = null;
    this.pub = null;
    this.con = null;
    this.returned.clear();
    this.tracker.set('down');
  }

  /** A channel closed. If its connection is still the live one, reconnect to rebuild everything. */
  private onChannelLost(model: amqp.ChannelModel, ch: amqp.Channel): void {
    // Deferred: when the whole connection closes, channels close first; by the next turn the
    // connection's own 'close' has cleared this.model and there is nothing to do.
    setImmediate(() => {
      if (this.closed || this.model !== model || (ch !== this.pub && ch !== this.con)) return;
      this.opts.logger.warn({}, 'an amqp channel closed under a live connection; reconnecting');
      this.forceReconnect(model);
    });
  }

  private forceReconnect(model: amqp.ChannelModel): void {
    if (this.closed || this.model !== model) return;
    this.onDisconnect(model);
    model.close().catch(() => {}); // recovery sees 'close' and reconnects, running setup again
  }

  private failPending(reason: ClusterErrorReason, message: string): void {
    for (const p of this.pending.values()) p.reject(new ClusterError('rabbitmq', reason, `publish: ${message}`));
    this.pending.clear();
  }

  private warnOnce(msg: string, err: Error): void {
    if (err.message === this.lastError) return;
    this.lastError = err.message;
    this.opts.logger.warn({ err: err.message }, msg);
  }

  private serialize<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.lock.then(fn);
    this.lock = p.then(() => {}, () => {});
    return p;
  }
}
