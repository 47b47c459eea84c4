/**
 * In-process bus: the embedded default, and the way to test cross-instance routing with several
 * server instances in one process before any broker is involved (like socket.io's tests over a
 * shared EventEmitter). A {@link MemoryBusHub} is the in-process cluster: it holds the shared
 * {@link MemoryPresenceStore} that every instance's MemoryPresence uses, and one mailbox per
 * instance id, the analogue of
 * a durable RabbitMQ queue: it exists from the instance's first start() until deleteQueue(), keeps
 * envelopes while nobody consumes it, and publishing to an unknown id is rejected as unroutable.
 *
 * Semantics match RabbitBus (one contract suite runs against both): envelopes pass through the
 * binary codec, delivery is asynchronous, per-target FIFO, at most `prefetch` handlers in flight,
 * and a failing handler's envelope is requeued at the head after a delay, a bounded number of
 * times, then dropped and logged. A handler error never escapes.
 */
import { decodeEnvelope, encodeEnvelope } from './envelope';
import { ClusterError } from './errors';
import { checkInstanceId } from './keys';
import { type ClusterLogger, stderrLogger } from './log';
import { MemoryPresenceStore } from './memory-presence';
import {
  DEFAULT_MAX_DELIVERY_ATTEMPTS, DEFAULT_PREFETCH, DEFAULT_RETRY_DELAY_MS, HealthTracker, intOption, rejectUnknown,
  retryDelay,
} from './options';
import type { Bus, Envelope, Health } from './ports';

/** Envelopes a mailbox holds before publish() rejects as overloaded. */
export const DEFAULT_MEMORY_MAX_QUEUED = 100_000;

/** Options of {@link MemoryBusHub}. */
export interface MemoryBusHubOptions {
  /** Bound of each mailbox. Default {@link DEFAULT_MEMORY_MAX_QUEUED}. */
  maxQueued?: number;
  /** Presence state shared by the hub's instances. Default: a new MemoryPresenceStore. */
  presence?: MemoryPresenceStore;
}

interface Item {
  body: Buffer;
  attempts: number;
}

interface Consumer {
  bus: MemoryBus;
  handler: (env: Envelope) => Promise<void>;
}

class Mailbox {
  readonly items: Item[] = [];
  consumer: Consumer | null = null;
  inFlight = 0;
  private scheduled = false;

  constructor(readonly id: string) {}

  schedule(): void {
    if (this.scheduled || !this.consumer || this.items.length === 0) return;
    this.scheduled = true;
    setImmediate(() => this.pump());
  }

  private pump(): void {
    this.scheduled = false;
    const c = this.consumer;
    if (!c) return;
    while (this.consumer === c && this.inFlight < c.bus.opts.prefetch && this.items.length > 0) {
      this.dispatch(c, this.items.shift()!);
    }
  }

  private dispatch(c: Consumer, item: Item): void {
    const { opts } = c.bus;
    let env: Envelope;
    try {
      env = decodeEnvelope(item.body);
    } catch (err) {
      opts.logger.error({ err, queue: this.id }, 'dropping a malformed bus envelope');
      return;
    }
    this.inFlight++;
    let p: Promise<void>;
    try {
      p = Promise.resolve(c.handler(env));
    } catch (err) {
      p = Promise.reject(err);
    }
    p.then(
      () => {
        this.inFlight--;
        this.schedule();
      },
      (err: unknown) => {
        item.attempts++;
        if (item.attempts >= opts.maxAttempts) {
          this.inFlight--;
          opts.logger.error(
            { err, queue: this.id, attempts: item.attempts, origin: env.origin, kind: env.kind },
            'bus handler kept failing; envelope dropped (the recipient catches up by seq)',
          );
          this.schedule();
          return;
        }
        opts.logger.warn({ err, queue: this.id, attempt: item.attempts }, 'bus handler failed; requeueing');
        setTimeout(() => {
          this.items.unshift(item);
          this.inFlight--;
          this.schedule();
        }, retryDelay(item.attempts, opts.retryDelayMs)).unref();
      },
    );
  }
}

/**
 * The in-process cluster shared by several instances in one process: the bus transport (one
 * mailbox per instance id) and the presence store their MemoryPresence handles share.
 */
export class MemoryBusHub {
  /** Presence state for `new MemoryPresence(hub.presence)`; createCluster() uses it. */
  readonly presence: MemoryPresenceStore;
  private readonly mailboxes = new Map<string, Mailbox>();
  private readonly maxQueued: number;

  constructor(opts: MemoryBusHubOptions = {}) {
    rejectUnknown(opts, ['maxQueued', 'presence'], 'MemoryBusHub');
    this.maxQueued = intOption(opts, 'maxQueued', DEFAULT_MEMORY_MAX_QUEUED, 1, 100_000_000);
    this.presence = opts.presence ?? new MemoryPresenceStore();
  }

  /** Envelopes waiting in an instance's mailbox (not counting those being handled). */
  queued(instanceId: string): number {
    return this.mailboxes.get(instanceId)?.items.length ?? 0;
  }

  /** Deletes an instance's mailbox and what it holds (like deleting its durable queue). */
  deleteQueue(instanceId: string): boolean {
    const box = this.mailboxes.get(instanceId);
    if (box) box.consumer = null;
    return this.mailboxes.delete(instanceId);
  }

  /** @internal Declares (if needed) and attaches a consumer. */
  attach(instanceId: string, consumer: Consumer): void {
    let box = this.mailboxes.get(instanceId);
    if (!box) this.mailboxes.set(instanceId, (box = new Mailbox(instanceId)));
    if (box.consumer) throw new TypeError(`instance id "${instanceId}" is already being consumed by another bus`);
    box.consumer = consumer;
    box.schedule();
  }

  /** @internal Detaches a consumer; its mailbox keeps later envelopes. */
  detach(instanceId: string, bus: MemoryBus): void {
    const box = this.mailboxes.get(instanceId);
    if (box && box.consumer?.bus === bus) box.consumer = null;
  }

  /** @internal Enqueues an encoded envelope. */
  enqueue(instanceId: string, body: Buffer): void {
    const box = this.mailboxes.get(instanceId);
    if (!box) throw new ClusterError('memory', 'unroutable', `no queue for instance "${instanceId}"`);
    if (box.items.length >= this.maxQueued) {
      throw new ClusterError('memory', 'overloaded', `queue of instance "${instanceId}" holds ${this.maxQueued} envelopes`);
    }
    box.items.push({ body, attempts: 0 });
    box.schedule();
  }
}

/** Options of {@link MemoryBus}. */
export interface MemoryBusOptions {
  /** Handlers in flight at once. Default {@link DEFAULT_PREFETCH}. */
  prefetch?: number;
  /** Deliveries before a failing envelope is dropped. Default {@link DEFAULT_MAX_DELIVERY_ATTEMPTS}. */
  maxAttempts?: number;
  /** Base redelivery delay in ms. Default {@link DEFAULT_RETRY_DELAY_MS}. */
  retryDelayMs?: number;
  /** Where handler failures are reported. Default {@link stderrLogger}. */
  logger?: ClusterLogger;
}

/** Parsed {@link MemoryBusOptions}. */
export interface ParsedMemoryBusOptions {
  prefetch: number;
  maxAttempts: number;
  retryDelayMs: number;
  logger: ClusterLogger;
}

/** Validates {@link MemoryBusOptions}; throws a TypeError naming the bad field. */
export function parseMemoryBusOptions(o: MemoryBusOptions = {}): ParsedMemoryBusOptions {
  rejectUnknown(o, ['prefetch', 'maxAttempts', 'retryDelayMs', 'logger'], 'MemoryBus');
  return {
    prefetch: intOption(o, 'prefetch', DEFAULT_PREFETCH, 1, 65_535),
    maxAttempts: intOption(o, 'maxAttempts', DEFAULT_MAX_DELIVERY_ATTEMPTS, 1, 1_000),
    retryDelayMs: intOption(o, 'retryDelayMs', DEFAULT_RETRY_DELAY_MS, 0, 60_000),
    logger: o.logger ?? stderrLogger,
  };
}

/** A Bus endpoint on a {@link MemoryBusHub}. Always healthy while open. */
export class MemoryBus implements Bus {
  /** Parsed options. */
  readonly opts: ParsedMemoryBusOptions;
  private instanceId: string | null = null;
  private closed = false;
  private readonly tracker: HealthTracker;

  constructor(readonly hub: MemoryBusHub, opts: MemoryBusOptions = {}) {
    this.opts = parseMemoryBusOptions(opts);
    this.tracker = new HealthTracker('up', (err) => this.opts.logger.error({ err }, 'health listener threw'));
  }

  /** Always 'up'. */
  get health(): Health {
    return this.tracker.health;
  }

  /** The instance id this bus consumes for (set by start()), or null. */
  get consuming(): string | null {
    return this.instanceId;
  }

  /** Never fires; present for the HealthSource contract. */
  onHealth(listener: (health: Health) => void): () => void {
    return this.tracker.onHealth(listener);
  }

  async start(instanceId: string, handler: (env: Envelope) => Promise<void>): Promise<void> {
    this.open();
    checkInstanceId(instanceId);
    if (this.instanceId !== null) throw new TypeError(`this bus already consumes "${this.instanceId}"`);
    this.hub.attach(instanceId, { bus: this, handler });
    this.instanceId = instanceId;
  }

  async publish(targetInstanceId: string, env: Envelope): Promise<void> {
    this.open();
    checkInstanceId(targetInstanceId, 'targetInstanceId');
    this.hub.enqueue(targetInstanceId, encodeEnvelope(env));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.instanceId !== null) this.hub.detach(this.instanceId, this);
  }

  private open(): void {
    if (this.closed) throw new ClusterError('memory', 'closed', 'this bus was closed');
  }
}
