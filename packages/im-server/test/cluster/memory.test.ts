/**
 * The presence and bus contracts against the embedded implementations, plus what is specific
 * to them: one hub shared by several instances, and createCluster('embedded').
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  createCluster, MemoryBus, MemoryBusHub, MemoryPresence, MemoryPresenceStore, silentLogger,
} from '../../src/cluster';
import { runBusContract } from './bus-contract';
import { deliverOf, waitFor } from './helpers';
import { runPresenceContract } from './presence-contract';

runPresenceContract('memory', async () => {
  const store = new MemoryPresenceStore();
  const a = new MemoryPresence(store);
  const b = new MemoryPresence(store);
  return { a, b, close: async () => void (await Promise.all([a.close(), b.close()])) };
});

runBusContract('memory', async () => {
  const hub = new MemoryBusHub();
  const buses: MemoryBus[] = [];
  return {
    async bus(opts = {}) {
      const bus = new MemoryBus(hub, { ...opts, logger: silentLogger });
      buses.push(bus);
      return bus;
    },
    close: async () => void (await Promise.all(buses.map((b) => b.close()))),
  };
});

describe('MemoryPresenceStore', () => {
  it('uses an injected clock, and sweep() frees expired entries', async () => {
    let now = 1_000;
    const store = new MemoryPresenceStore({ now: () => now });
    const p = new MemoryPresence(store);
    await p.register({ userId: 1, platform: 0, instanceId: 'i', connId: 'c' }, 100);
    await p.heartbeatInstance({ instanceId: 'i', advertise: 'h:1', pid: 1, startedAt: 0, users: 1 }, 100);
    assert.equal((await p.lookup([1])).size, 1);
    now += 100;
    assert.equal((await p.lookup([1])).size, 0, 'expired exactly at the TTL');
    assert.deepEqual(await p.instances(), []);
    store.sweep();
    assert.equal(store.locations.size, 0);
    assert.equal(store.registry.size, 0);
  });

  it('rejects unknown and invalid options by name', () => {
    assert.throws(() => new MemoryPresenceStore({ sweepIntervalMs: 0 }), /sweepIntervalMs/);
    assert.throws(() => new MemoryPresenceStore({ bogus: 1 } as never), /bogus/);
  });
});

describe('MemoryBusHub', () => {
  it('bounds each mailbox', async () => {
    const hub = new MemoryBusHub({ maxQueued: 2 });
    const x = new MemoryBus(hub, { logger: silentLogger });
    await x.start('x', async () => {});
    await x.close();
    const pub = new MemoryBus(hub);
    await pub.publish('x', deliverOf('p', 1));
    await pub.publish('x', deliverOf('p', 2));
    await assert.rejects(pub.publish('x', deliverOf('p', 3)), (e: { reason?: string }) => e.reason === 'overloaded');
    assert.equal(hub.queued('x'), 2);
    assert.equal(hub.deleteQueue('x'), true);
    await assert.rejects(pub.publish('x', deliverOf('p', 4)), (e: { reason?: string }) => e.reason === 'unroutable');
  });

  it('refuses a second consumer of the same instance id', async () => {
    const hub = new MemoryBusHub();
    await new MemoryBus(hub).start('x', async () => {});
    await assert.rejects(new MemoryBus(hub).start('x', async () => {}), /already being consumed/);
  });

  it('parses bus options by name', () => {
    assert.throws(() => new MemoryBus(new MemoryBusHub(), { prefetch: 0 }), /prefetch/);
  });
});

describe('createCluster (embedded)', () => {
  it('gives three instances on one hub a shared presence and a routed bus', async () => {
    const hub = new MemoryBusHub();
    const [c1, c2, c3] = await Promise.all([1, 2, 3].map(() => createCluster({ mode: 'embedded', logger: silentLogger }, hub)));
    const got: string[] = [];
    await c1!.bus.start('i1', async (e) => void got.push(`i1:${e.origin}`));
    await c2!.bus.start('i2', async (e) => void got.push(`i2:${e.origin}`));
    await c3!.bus.start('i3', async (e) => void got.push(`i3:${e.origin}`));
    await c1!.presence.register({ userId: 7, platform: 1, instanceId: 'i1', connId: 'i1#1' }, 10_000);
    const where = (await c3!.presence.lookup([7])).get(7)![0]!;
    await c3!.bus.publish(where.instanceId, deliverOf('i3', 1, [7]));
    await waitFor('delivery on i1', () => got.length === 1);
    assert.deepEqual(got, ['i1:i3']);
    await Promise.all([c1!.close(), c2!.close(), c3!.close()]);
  });

  it('rejects an unknown mode', async () => {
    await assert.rejects(createCluster({ mode: 'nope' } as never), /mode/);
  });
});
