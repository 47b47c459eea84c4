/**
 * RedisPresence against a real Redis: the Presence contract, then failure behaviour. Each run
 * uses its own key prefix and deletes its keys. A missing Redis fails the suite loudly.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ClusterError, ClusterKeys, RedisPresence, silentLogger, type Health, type Location } from '../../../src/cluster';
import { runTag, waitFor, within } from '../../cluster/helpers';
import { runPresenceContract } from '../../cluster/presence-contract';
import { adminRedis, cleanupRedis, hostPort, REDIS_URL, requireRedis, TcpProxy } from './services';

const prefix = `hximtest-${runTag()}`;
const keys = new ClusterKeys(prefix);

before(requireRedis);
after(() => cleanupRedis(keys));

async function connect(extra: Partial<Parameters<typeof RedisPresence.connect>[0]> = {}): Promise<RedisPresence> {
  return RedisPresence.connect({ url: REDIS_URL, prefix, logger: silentLogger, ...extra });
}

runPresenceContract('redis', async () => {
  const [a, b] = await Promise.all([connect(), connect()]);
  return {
    a, b,
    async close() {
      await Promise.all([a.close(), b.close()]);
      await cleanupRedis(keys);
    },
  };
});

describe('RedisPresence failure behaviour', () => {
  const loc = (userId: number): Location => ({ userId, platform: 1, instanceId: 'inst-1', connId: `inst-1#${userId}` });

  it('stores namespaced keys with a TTL (no bare user-id keys, seed.md §2.2)', async () => {
    const p = await connect();
    const admin = adminRedis();
    try {
      await p.register(loc(4242), 5_000);
      const pttl = await admin.pttl(keys.location(4242));
      assert.ok(pttl > 0 && pttl <= 5_000, `pttl ${pttl}`);
      assert.equal(await admin.exists('4242'), 0);
      const v = await admin.hget(keys.location(4242), '1');
      assert.match(v ?? '', /^\d+\|inst-1\|inst-1#4242$/);
    } finally {
      admin.disconnect();
      await p.close();
    }
  });

  it('recovers after its connection is killed (CLIENT KILL)', async () => {
    const name = `hximtest-kill-${runTag()}`;
    const p = await connect({ connectionName: name });
    const admin = adminRedis();
    const seen: Health[] = [];
    p.onHealth((h) => seen.push(h));
    try {
      await p.register(loc(1), 60_000);
      const list = await admin.client('LIST') as string;
      const line = list.split('\n').find((l) => l.includes(` name=${name} `));
      assert.ok(line, `client ${name} is in CLIENT LIST`);
      const id = /\bid=(\d+)/.exec(line)![1]!;
      assert.equal(await admin.client('KILL', 'ID', id), 1);
      await waitFor('health down then up', () => seen.join() === 'down,up', 10_000);
      assert.equal(p.health, 'up');
      assert.equal((await p.lookup([1])).get(1)?.[0]?.connId, 'inst-1#1');
      await p.register(loc(2), 60_000); // scripts work on the new connection
    } finally {
      admin.disconnect();
      await p.close();
    }
  });

  it('fails fast with a BackendError while Redis is unreachable, then recovers', async () => {
    const { host, port } = hostPort(REDIS_URL, 6379);
    const proxy = new TcpProxy(host, port);
    await proxy.forward();
    const u = new URL(REDIS_URL);
    u.hostname = '127.0.0.1';
    u.port = String(proxy.port);
    const p = await connect({ url: u.toString() });
    try {
      await p.register(loc(3), 60_000);
      await proxy.refuse();
      await waitFor('health down', () => p.health === 'down', 5_000);
      for (let i = 0; i < 3; i++) {
        await assert.rejects(within('a lookup while Redis is down', 2_000, p.lookup([3])),
          (err: unknown) => err instanceof ClusterError && err.code === 'STORE_UNAVAILABLE' && err.backend === 'redis');
      }
      await assert.rejects(within('a register while Redis is down', 2_000, p.register(loc(4), 1_000)), ClusterError);
      await proxy.forward();
      await waitFor('health up again', () => p.health === 'up', 10_000);
      assert.equal((await p.lookup([3])).get(3)?.[0]?.connId, 'inst-1#3');
    } finally {
      await p.close();
      await proxy.refuse();
    }
  });

  it('times out a command that gets no reply, drops the stalled connection and reconnects', async () => {
    const { host, port } = hostPort(REDIS_URL, 6379);
    const proxy = new TcpProxy(host, port);
    await proxy.forward();
    const p = await connect({ url: `redis://127.0.0.1:${proxy.port}`, commandTimeoutMs: 300, socketTimeoutMs: 800 });
    try {
      proxy.stall();
      await assert.rejects(within('a lookup to a hung Redis', 3_000, p.lookup([5])),
        (err: unknown) => err instanceof ClusterError && err.reason === 'timeout' && err.code === 'STORE_TIMEOUT');
      await waitFor('the stalled connection to be dropped', () => p.health === 'down', 5_000);
      await proxy.refuse();
      await proxy.forward();
      await waitFor('health up again', () => p.health === 'up', 10_000);
      await p.register(loc(5), 1_000);
    } finally {
      await p.close();
      await proxy.refuse();
    }
  });

  it('fails loudly at startup when Redis is not there', async () => {
    const proxy = new TcpProxy('127.0.0.1', 1);
    await proxy.forward();
    const deadPort = proxy.port;
    await proxy.refuse();
    await assert.rejects(
      RedisPresence.connect({ url: `redis://127.0.0.1:${deadPort}`, prefix, startupTimeoutMs: 500, logger: silentLogger }),
      (err: unknown) => err instanceof ClusterError && /within 500 ms/.test(err.message));
  });
});
