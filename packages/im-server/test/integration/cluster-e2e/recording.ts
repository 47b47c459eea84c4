/**
 * Instances whose bus records every envelope it consumes, for tests that count envelopes per
 * instance (one per target instance, never a broadcast and never one per member).
 */
import type { ImServer } from '../../../src';
import { createCluster, silentLogger, type Bus, type Envelope, type Health } from '../../../src/cluster';
import { AMQP_URL, REDIS_URL, retrying, type TestCluster } from './helpers';

/** A bus that records what it consumes, around the real RabbitBus. */
export class RecordingBus implements Bus {
  constructor(private readonly inner: Bus, private readonly log: Envelope[]) {}
  get health(): Health { return this.inner.health; }
  onHealth(l: (h: Health) => void): () => void { return this.inner.onHealth(l); }
  publish(target: string, env: Envelope): Promise<void> { return this.inner.publish(target, env); }
  close(): Promise<void> { return this.inner.close(); }
  start(id: string, handler: (env: Envelope) => Promise<void>): Promise<void> {
    return this.inner.start(id, (env) => {
      this.log.push(env);
      return handler(env);
    });
  }
}

/**
 * Starts one in-process instance per entry of `seen` (ids `<idPrefix>0`, `<idPrefix>1`, ...) on
 * Redis presence and a recording RabbitMQ bus; instance i records into seen[i].
 */
export function startRecordedInstances(cluster: TestCluster, idPrefix: string, seen: Envelope[][]): Promise<ImServer[]> {
  return Promise.all(seen.map(async (log, i) => {
    const c = await retrying('connecting to Redis and RabbitMQ', 40_000, () => createCluster({
      mode: 'redis-rabbit', redisUrl: REDIS_URL, amqpUrl: AMQP_URL, prefix: cluster.namespace, logger: silentLogger,
    }));
    return cluster.startInstance(`${idPrefix}${i}`, {}, { presence: c.presence, bus: new RecordingBus(c.bus, log) });
  }));
}
