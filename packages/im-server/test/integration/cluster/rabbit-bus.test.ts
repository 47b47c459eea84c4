/**
 * RabbitBus against a real RabbitMQ: the Bus contract, plus the broker-specific checks (durable
 * topology, persistent messages, fail-fast when the broker is unreachable at startup), and last
 * a broker restart. Each run uses its own prefix and instance ids and deletes its queues and
 * exchange. A missing RabbitMQ fails the suite loudly.
 *
 * The restart test (`rabbitmqctl stop_app` / `start_app`) lives in this file so that it never
 * overlaps the other RabbitMQ tests here (tests in one file run one after another). It stops the
 * shared broker for about 8 s: other test FILES using RabbitMQ at that moment see an outage, so
 * run fault tests without file concurrency. HXIM_TEST_VERBOSE=1 prints the consumer's log.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as amqp from 'amqplib';
import { ClusterError, ClusterKeys, RabbitBus, silentLogger, stderrLogger, type Envelope } from '../../../src/cluster';
import { runBusContract } from '../../cluster/bus-contract';
import { deferred, deliverOf, runTag, seqOf, sleep, waitFor, within } from '../../cluster/helpers';
import { AMQP_URL, cleanupRabbit, rabbitmqctl, requireRabbit, TcpProxy } from './services';

const prefix = `hximtest-${runTag()}`;
const keys = new ClusterKeys(prefix);
const queuesUsed = new Set<string>();

before(requireRabbit);
after(() => cleanupRabbit(keys, queuesUsed));

runBusContract('rabbitmq', async () => {
  const buses: RabbitBus[] = [];
  return {
    async bus(opts = {}) {
      const bus = await RabbitBus.connect({ url: AMQP_URL, prefix, logger: silentLogger, ...opts });
      buses.push(bus);
      return bus;
    },
    async close() {
      for (const b of buses) if (b.consuming) queuesUsed.add(b.consuming);
      await Promise.all(buses.map((b) => b.close()));
      await cleanupRabbit(keys, queuesUsed);
    },
  };
});

describe('RabbitBus topology and startup', () => {
  it('declares a durable direct exchange and a durable queue per instance, and publishes persistent messages', async () => {
    const id = `topo-${runTag()}`;
    queuesUsed.add(id);
    const x = await RabbitBus.connect({ url: AMQP_URL, prefix, logger: silentLogger });
    const pub = await RabbitBus.connect({ url: AMQP_URL, prefix, logger: silentLogger });
    const admin = await amqp.connect(AMQP_URL);
    try {
      await x.start(id, async () => {});
      await x.close(); // the queue outlives its consumer
      await pub.publish(id, deliverOf('p', 1));
      const ch = await admin.createChannel();
      const q = await ch.checkQueue(keys.queue(id));
      assert.equal(q.messageCount, 1);
      const msg = await ch.get(keys.queue(id), { noAck: true });
      assert.ok(msg);
      assert.equal(msg.properties.deliveryMode, 2, 'persistent');
      assert.equal(msg.fields.exchange, keys.exchange);
      assert.equal(msg.fields.routingKey, id);
      // Redeclaring with other properties fails if the exchange were not durable+direct.
      await ch.assertExchange(keys.exchange, 'direct', { durable: true });
      await ch.close();
    } finally {
      await admin.close();
      await pub.close();
    }
  });

  it('fails loudly at startup when the broker is not there', async () => {
    const proxy = new TcpProxy('127.0.0.1', 1);
    await proxy.forward();
    const deadPort = proxy.port;
    await proxy.refuse();
    await assert.rejects(
      RabbitBus.connect({ url: `amqp://guest:guest@127.0.0.1:${deadPort}`, prefix, startupTimeoutMs: 800, logger: silentLogger }),
      (err: unknown) => err instanceof ClusterError && err.backend === 'rabbitmq' && /within 800 ms/.test(err.message));
  });

  it('parses options by name, and caps the reconnect backoff at 5 s', async () => {
    await assert.rejects(RabbitBus.connect({ url: AMQP_URL, prefetch: 0 }), /prefetch/);
    await assert.rejects(RabbitBus.connect({ url: AMQP_URL, retryMaxMs: 30_000 }), /retryMaxMs/);
    await assert.rejects(RabbitBus.connect({ url: 'http://x' }), /url/);
  });

  it('rejects publishes at once while disconnected, and recovers by itself', async () => {
    const u = new URL(AMQP_URL);
    const proxy = new TcpProxy(u.hostname, Number(u.port || 5672));
    await proxy.forward();
    u.hostname = '127.0.0.1';
    u.port = String(proxy.port);
    const id = `cut-${runTag()}`;
    queuesUsed.add(id);
    const got: number[] = [];
    const bus = await RabbitBus.connect({ url: u.toString(), prefix, logger: silentLogger, retryMaxMs: 500 });
    try {
      await bus.start(id, async (env) => void got.push(env.kind === 'deliver' ? env.frame.readInt32BE(8) : -1));
      await bus.publish(id, deliverOf('p', 1));
      await waitFor('the first envelope', () => got.length === 1);
      await proxy.refuse();
      await waitFor('health down', () => bus.health === 'down', 5_000);
      await assert.rejects(bus.publish(id, deliverOf('p', 2)),
        (err: unknown) => err instanceof ClusterError && err.reason === 'unavailable');
      await proxy.forward();
      await waitFor('health up', () => bus.health === 'up', 10_000);
      await bus.publish(id, deliverOf('p', 3));
      await waitFor('consumption to resume', () => got.includes(3), 10_000);
      assert.deepEqual(got, [1, 3]);
    } finally {
      await bus.close();
      await proxy.refuse();
    }
  });
});

/*
 * Fault test: a broker restart under a consumer and a publisher with default recovery options.
 * Publishes confirmed before the restart are all consumed afterwards (durable queue, persistent
 * messages, unacked deliveries redelivered); while the broker is down publish() rejects with a
 * BackendError (never hangs); both sides recover by themselves and consumption resumes within
 * 10 s of the broker being back (DESIGN.md). The outage lasts over 6 s so the reconnect backoff
 * reaches its 5 s cap. The app is always restarted in a finally block.
 */
describe('RabbitBus broker restart', () => {
  const target = `restart-${runTag()}`;
  queuesUsed.add(target);

  it('a broker restart loses no confirmed publish, and the bus resumes within 10 s', async () => {
    const consumer = await RabbitBus.connect({ url: AMQP_URL, prefix, logger: process.env.HXIM_TEST_VERBOSE ? stderrLogger : silentLogger, prefetch: 10 });
    const publisher = await RabbitBus.connect({ url: AMQP_URL, prefix, logger: silentLogger });
    const received = new Map<number, number>(); // seq -> deliveries
    const gate = deferred();
    let stopped = false;
    try {
      // Every handler waits on the gate: at the restart, 10 deliveries are unacked and the rest
      // are still in the queue. Both kinds must survive.
      await consumer.start(target, async (env: Envelope) => {
        received.set(seqOf(env), (received.get(seqOf(env)) ?? 0) + 1);
        await gate.promise;
      });
      const before = Array.from({ length: 300 }, (_, i) => publisher.publish(target, deliverOf('pub', i)));
      await within('300 confirms', 15_000, Promise.all(before));
      await waitFor('the first prefetch window', () => received.size === 10, 5_000);

      stopped = true;
      await rabbitmqctl(['stop_app']);
      await waitFor('both buses to notice', () => consumer.health === 'down' && publisher.health === 'down', 10_000);
      await assert.rejects(within('a publish while the broker is down', 3_000, publisher.publish(target, deliverOf('pub', 999))),
        (err: unknown) => err instanceof ClusterError && err.reason === 'unavailable' && err.code === 'STORE_UNAVAILABLE');
      gate.resolve(); // the held handlers finish; their acks go to a dead channel and are redelivered
      // Stay down long enough for the reconnect backoff to reach its 5 s cap.
      await sleep(6_000);
      assert.equal(consumer.health, 'down');

      await rabbitmqctl(['start_app']);
      stopped = false;
      const backAt = Date.now();
      await waitFor('every confirmed publish to be consumed after the restart',
        () => received.size === 300, 10_000, 50);
      await waitFor('the publisher to recover', () => publisher.health === 'up', 10_000 - (Date.now() - backAt), 50);
      const after = Array.from({ length: 50 }, (_, i) => publisher.publish(target, deliverOf('pub', 1000 + i)));
      await within('50 confirms after the restart', 10_000, Promise.all(after));
      await waitFor('the post-restart publishes', () => received.size === 350, 10_000, 50);
      for (let i = 0; i < 10; i++) assert.ok(received.get(i)! >= 2, `unacked delivery ${i} was redelivered`);
      assert.equal(received.has(999), false, 'the rejected publish was not delivered');
    } finally {
      gate.resolve();
      if (stopped) await rabbitmqctl(['start_app']).catch(() => {});
      await rabbitmqctl(['await_startup'], 60_000).catch(() => {});
      await Promise.all([consumer.close(), publisher.close()]);
    }
  });
});
