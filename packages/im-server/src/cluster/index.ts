/**
 * Cluster routing: presence (where users are) and the bus (how instances talk), with embedded
 * in-process defaults and Redis/RabbitMQ adapters behind the same ports (STYLE.md practices 5-7).
 */
export * from './ports';
export * from './keys';
export * from './errors';
export * from './log';
export {
  DEFAULT_PREFETCH, DEFAULT_MAX_DELIVERY_ATTEMPTS, DEFAULT_RETRY_DELAY_MS, backoffDelay, retryDelay,
} from './options';
export * from './envelope';
export * from './memory-presence';
export * from './location-cache';
export * from './location-watch';
export * from './memory-bus';
export * from './redis-presence';
export * from './rabbit-options';
export * from './rabbit-bus';

import type { ClusterLogger } from './log';
import { MemoryBus, MemoryBusHub } from './memory-bus';
import { MemoryPresence } from './memory-presence';
import type { Bus, Presence } from './ports';
import { RabbitBus } from './rabbit-bus';
import type { RabbitBusOptions } from './rabbit-options';
import { RedisPresence, type RedisPresenceOptions } from './redis-presence';

/** Which cluster backends to use. */
export type ClusterConfig =
  | { mode: 'embedded'; logger?: ClusterLogger }
  | {
    mode: 'redis-rabbit';
    /** redis://host:port */
    redisUrl: string;
    /** amqp://user:pass@host:port */
    amqpUrl: string;
    /** Namespace of every key, exchange and queue. Default "hxim". */
    prefix?: string;
    logger?: ClusterLogger;
    /** Extra RedisPresence options (url/prefix/logger come from above). */
    redis?: Omit<RedisPresenceOptions, 'url' | 'prefix' | 'logger'>;
    /** Extra RabbitBus options (url/prefix/logger come from above). */
    rabbit?: Omit<RabbitBusOptions, 'url' | 'prefix' | 'logger'>;
  };

/** A presence and a bus, closed together. */
export interface Cluster {
  presence: Presence;
  bus: Bus;
  /** Closes the bus, then the presence. */
  close(): Promise<void>;
}

/**
 * Builds the cluster backends. Embedded: a MemoryPresence on `hub.presence` and a MemoryBus on
 * `hub`, when given (so several instances in one process see each other), else on a private hub.
 * `hub` is ignored in redis-rabbit mode.
 * redis-rabbit: connects to both services and waits for them (bounded); a service that does not
 * answer fails the call with a ClusterError, and nothing is left open.
 */
export async function createCluster(cfg: ClusterConfig, hub?: MemoryBusHub): Promise<Cluster> {
  if (cfg.mode === 'embedded') {
    const h = hub ?? new MemoryBusHub();
    const presence = new MemoryPresence(h.presence);
    const bus = new MemoryBus(h, cfg.logger ? { logger: cfg.logger } : {});
    return { presence, bus, close: () => closeBoth(bus, presence) };
  }
  if (cfg.mode !== 'redis-rabbit') {
    throw new TypeError(`cluster option 'mode' must be "embedded" or "redis-rabbit" (got ${JSON.stringify((cfg as { mode: unknown }).mode)})`);
  }
  const common = { ...(cfg.prefix !== undefined ? { prefix: cfg.prefix } : {}), ...(cfg.logger ? { logger: cfg.logger } : {}) };
  const [p, b] = await Promise.allSettled([
    RedisPresence.connect({ ...cfg.redis, ...common, url: cfg.redisUrl }),
    RabbitBus.connect({ ...cfg.rabbit, ...common, url: cfg.amqpUrl }),
  ]);
  if (p.status === 'rejected' || b.status === 'rejected') {
    if (p.status === 'fulfilled') await p.value.close();
    if (b.status === 'fulfilled') await b.value.close();
    throw p.status === 'rejected' ? p.reason : (b as PromiseRejectedResult).reason;
  }
  return { presence: p.value, bus: b.value, close: () => closeBoth(b.value, p.value) };
}

async function closeBoth(bus: Bus, presence: Presence): Promise<void> {
  await bus.close().catch(() => {});
  await presence.close();
}
