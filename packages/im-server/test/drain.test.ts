/**
 * Graceful drain on SIGTERM, against the real server process (issue 7): with senders in full
 * flight, the process stops accepting, answers what it read, sends every client a fatal
 * SERVER_DRAINING frame (after its last ack), exits 0 within 10 s, and every acked message is
 * in the store afterwards. In cluster mode it also deregisters from Redis (instance and user
 * locations) and closes its RabbitMQ consumer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as amqp from 'amqplib';
import Redis from 'ioredis';
import { MessageType, type AckMessage } from '@hxim/im-common';
import { openStore } from '@hxim/business';
import { ClusterKeys } from '../src/cluster/keys';
import { freePort, kill, spawnServer } from './helpers/process';
import { login, register, uname } from './helpers/modern';
import type { RawClient } from './helpers/raw-client';
import { tempDir } from './helpers/server';
import { testTls } from './helpers/tls';

interface SenderLog {
  acks: AckMessage[];
  drainingAt: number;
  acksAfterDrain: number;
  errors: string[];
}

/** Sends chats with `window` in flight until the server says SERVER_DRAINING and closes. */
async function sender(c: RawClient, to: number, tag: string, window = 20): Promise<SenderLog> {
  const log: SenderLog = { acks: [], drainingAt: 0, acksAfterDrain: 0, errors: [] };
  let sent = 0, outstanding = 0;
  while (!c.closed) {
    while (!log.drainingAt && outstanding < window) {
      c.send(MessageType.CHAT, { id: `${tag}-${sent++}`, receiveId: to, msgBody: Buffer.from(`${tag} says ${sent}`) });
      outstanding++;
    }
    await new Promise((r) => setTimeout(r, 1));
    for (const f of c.frames.splice(0)) {
      if (f.type === MessageType.ACK) {
        log.acks.push(f.msg as AckMessage);
        outstanding--;
        if (log.drainingAt) log.acksAfterDrain++;
      } else if (f.type === MessageType.ERROR) {
        const e = f.msg as { code: string; fatal: boolean };
        if (e.code === 'SERVER_DRAINING' && e.fatal) log.drainingAt = Date.now();
        else log.errors.push(e.code);
      }
    }
  }
  return log;
}

/** Starts pairs of senders against `port`; returns their logs once every one was closed. */
async function traffic(port: number, pairs: number, sigterm: () => Promise<number | null>): Promise<{ logs: SenderLog[]; exit: number | null; tookMs: number }> {
  const senders: Array<Promise<SenderLog>> = [];
  const receivers: RawClient[] = [];
  for (let i = 0; i < pairs; i++) {
    const [an, bn] = [uname('da'), uname('db')];
    await register(port, an);
    const bid = await register(port, bn);
    const a = await login(port, { userName: an, password: 'secret-pw' });
    receivers.push((await login(port, { userName: bn, password: 'secret-pw' })).c);
    senders.push(sender(a.c, bid, `s${i}`));
  }
  await new Promise((r) => setTimeout(r, 800));
  const t0 = Date.now();
  const exit = await sigterm();
  const tookMs = Date.now() - t0;
  const logs = await Promise.all(senders);
  for (const r of receivers) r.destroy();
  return { logs, exit, tookMs };
}

test('SIGTERM during traffic: SERVER_DRAINING after the last ack, exit 0 within 10 s, every acked chat stored', async () => {
  const port = await freePort();
  const dataDir = tempDir('hxim-drain');
  const child = await spawnServer(['--host', '127.0.0.1', '--port', String(port), '--data-dir', dataDir,
    '--scrypt-log-n', '10', '--log-level', 'warn', '--stranger-policy', 'anyone'], 15_000, { tls: testTls() });
  try {
    const { logs, exit, tookMs } = await traffic(port, 4, () => kill(child, 'SIGTERM'));
    assert.equal(exit, 0);
    assert.ok(tookMs < 10_000, `exit took ${tookMs} ms`);
    const acked = logs.flatMap((l) => l.acks);
    assert.ok(acked.length > 100, `only ${acked.length} acks: the stop must fall mid-stream`);
    for (const l of logs) {
      assert.ok(l.drainingAt > 0, 'every client was told SERVER_DRAINING');
      assert.equal(l.acksAfterDrain, 0, 'acks for what was read come before the goodbye');
      assert.deepEqual(l.errors, []);
    }
    // Nothing acked is lost.
    const store = await openStore({ kind: 'sqlite', dataDir });
    try {
      const byConv = new Map<string, Map<string, number>>();
      for (const a of acked) {
        if (!byConv.has(a.convId)) {
          const rows = await store.chats.readAfter(a.convId, 0, 1_000_000);
          byConv.set(a.convId, new Map(rows.map((r) => [r.clientMsgId, r.seq])));
        }
        assert.equal(byConv.get(a.convId)!.get(a.clientMsgId), a.seq, `acked ${a.clientMsgId} (seq ${a.seq}) is not stored`);
      }
    } finally {
      await store.close();
    }
  } finally {
    await kill(child);
  }
});

test('SIGTERM in cluster mode deregisters from Redis and closes the RabbitMQ consumer', async () => {
  const port = await freePort();
  const ns = `drain${process.pid}`;
  const instanceId = `drain-${process.pid}`;
  const keys = new ClusterKeys(ns);
  const child = await spawnServer(['--host', '127.0.0.1', '--port', String(port), '--data-dir', tempDir('hxim-drain'),
    '--scrypt-log-n', '10', '--log-level', 'warn', '--cluster', 'redis-rabbit', '--namespace', ns, '--instance-id', instanceId],
    15_000, { tls: testTls() });
  const redis = new Redis('redis://127.0.0.1:6379', { lazyConnect: true });
  await redis.connect();
  const conn = await amqp.connect('amqp://guest:guest@127.0.0.1:5672');
  const ch = await conn.createChannel();
  ch.on('error', () => undefined);
  try {
    const un = uname('dc');
    const uid = await register(port, un);
    const { c } = await login(port, { userName: un, password: 'secret-pw' });
    assert.equal(await redis.exists(keys.instance(instanceId)), 1, 'registered while running');
    assert.equal(await redis.hlen(keys.location(uid)), 1, 'the user location is there');
    assert.equal((await ch.checkQueue(keys.queue(instanceId))).consumerCount, 1);
    assert.equal(await kill(child, 'SIGTERM'), 0);
    await c.waitClosed(2000);
    assert.equal(await redis.exists(keys.instance(instanceId)), 0, 'instance key removed');
    assert.equal(await redis.sismember(keys.instanceIndex, instanceId), 0, 'instance index entry removed');
    assert.equal(await redis.hlen(keys.location(uid)), 0, 'user location removed');
    assert.equal((await ch.checkQueue(keys.queue(instanceId))).consumerCount, 0, 'consumer closed');
  } finally {
    await kill(child);
    await ch.deleteQueue(keys.queue(instanceId)).catch(() => undefined);
    await ch.deleteExchange(keys.exchange).catch(() => undefined); // durable: it would outlive the test
    await conn.close().catch(() => undefined);
    const stale = await redis.keys(`${ns}:*`);
    if (stale.length > 0) await redis.del(...stale);
    redis.disconnect();
  }
});
