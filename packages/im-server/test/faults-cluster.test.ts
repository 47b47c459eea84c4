/**
 * Redis or RabbitMQ down (issue 7): behind TCP proxies that the test cuts (the shared services
 * keep running), the server logs one clear error line per outage, /healthz reports the backend
 * down (503) and up again (200), the metrics say which backend is down, chats between users of
 * this instance are still stored, acked and delivered, repeated routing warnings are rate
 * limited, and nothing crashes.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as amqp from 'amqplib';
import Redis from 'ioredis';
import { MessageType } from '@hxim/im-common';
import type { ImServer } from '../src';
import { createLogger } from '../src/logger';
import { ClusterKeys } from '../src/cluster/keys';
import { adminGet, metric } from './helpers/admin';
import { login } from './helpers/modern';
import type { RawClient } from './helpers/raw-client';
import { startTestServer } from './helpers/server';
import { TcpProxy } from './helpers/tcp-proxy';

const NS = `cf${process.pid}`;
const lines: Array<{ level: number; msg: string; backend?: string }> = [];
let redisProxy: TcpProxy;
let amqpProxy: TcpProxy;
let srv: ImServer;

before(async () => {
  redisProxy = await TcpProxy.start({ host: '127.0.0.1', port: 6379 });
  amqpProxy = await TcpProxy.start({ host: '127.0.0.1', port: 5672 });
  const logger = createLogger('info', 'faults', { write: (s: string) => { lines.push(JSON.parse(s)); } });
  srv = await startTestServer({
    auth: 'open', adminPort: 0, cluster: 'redis-rabbit', namespace: NS, instanceId: `${NS}-i1`,
    redisUrl: `redis://127.0.0.1:${redisProxy.port}`, amqpUrl: `amqp://guest:guest@127.0.0.1:${amqpProxy.port}`,
  }, { logger });
});

after(async () => {
  await srv.stop();
  await redisProxy.close();
  await amqpProxy.close();
  const redis = new Redis('redis://127.0.0.1:6379');
  const stale = await redis.keys(`${NS}:*`);
  if (stale.length > 0) await redis.del(...stale);
  redis.disconnect();
  const conn = await amqp.connect('amqp://guest:guest@127.0.0.1:5672');
  const ch = await conn.createChannel();
  const keys = new ClusterKeys(NS);
  await ch.deleteQueue(keys.queue(`${NS}-i1`)).catch(() => undefined);
  await ch.deleteExchange(keys.exchange).catch(() => undefined); // durable: it would outlive the test
  await conn.close();
});

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A chat between two local users is stored, acked and delivered. */
async function chatWorks(a: RawClient, b: RawClient, bid: number, id: string): Promise<void> {
  a.send(MessageType.CHAT, { id, receiveId: bid, msgBody: Buffer.from(id) });
  await a.next(MessageType.ACK, (m) => m.clientMsgId === id);
  await b.next(MessageType.CHAT, (m) => m.id === id);
}

test('Redis down, then RabbitMQ down: clear logs, health status, local chat keeps working, recovery', async () => {
  const a = await login(srv.port, { userId: 71001 });
  const b = await login(srv.port, { userId: 71002 });
  const hb = setInterval(() => { for (const c of [a.c, b.c]) c.send(MessageType.HEARTBEAT, {}); }, 1000);
  try {
    await chatWorks(a.c, b.c, 71002, 'ok-0');
    assert.equal((await adminGet(srv.adminPort, '/healthz')).status, 200);

    // Redis goes away.
    redisProxy.set('refuse');
    await until(() => srv.presence.health === 'down', 5000, 'presence down');
    const down = lines.filter((l) => l.backend === 'presence' && l.level === 50);
    assert.equal(down.length, 1, 'one error line for the outage');
    assert.match(down[0]!.msg, /presence \(Redis\) is DOWN/);
    let h = await adminGet(srv.adminPort, '/healthz');
    assert.equal(h.status, 503);
    assert.deepEqual(JSON.parse(h.body).backends.presence, { status: 'down' });
    assert.equal(metric((await adminGet(srv.adminPort, '/metrics')).body, 'hxim_backend_up', 'backend="presence"'), 0);
    const warnsBefore = lines.filter((l) => /presence lookup failed/.test(l.msg)).length;
    for (let i = 0; i < 50; i++) await chatWorks(a.c, b.c, 71002, `redis-down-${i}`);
    const warns = lines.filter((l) => /presence lookup failed/.test(l.msg)).length - warnsBefore;
    assert.ok(warns <= 2, `${warns} routing warnings for 50 chats: they are rate limited`);
    // A login needs presence: it fails with an explicit error, nothing crashes.
    const refused = await login(srv.port, { userId: 71003 }).then(() => null, (err: Error) => err);
    assert.ok(refused, 'a login cannot register its location while Redis is down');

    redisProxy.set('pass');
    await until(() => srv.presence.health === 'up', 15_000, 'presence up');
    assert.ok(lines.some((l) => l.backend === 'presence' && /back up/.test(l.msg)));
    assert.equal((await adminGet(srv.adminPort, '/healthz')).status, 200);
    const c = await login(srv.port, { userId: 71003 });
    c.c.destroy();

    // RabbitMQ goes away.
    amqpProxy.set('refuse');
    await until(() => srv.bus.health === 'down', 5000, 'bus down');
    assert.ok(lines.some((l) => l.backend === 'bus' && l.level === 50 && /bus \(RabbitMQ\) is DOWN/.test(l.msg)));
    h = await adminGet(srv.adminPort, '/healthz');
    assert.equal(h.status, 503);
    assert.equal(JSON.parse(h.body).backends.bus.status, 'down');
    for (let i = 0; i < 20; i++) await chatWorks(a.c, b.c, 71002, `rabbit-down-${i}`);
    amqpProxy.set('pass');
    await until(() => srv.bus.health === 'up', 15_000, 'bus up');
    assert.equal((await adminGet(srv.adminPort, '/healthz')).status, 200);
    await chatWorks(a.c, b.c, 71002, 'ok-end');
  } finally {
    clearInterval(hb);
    a.c.destroy();
    b.c.destroy();
  }
});
