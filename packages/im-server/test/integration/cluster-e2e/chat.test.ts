/**
 * Three in-process instances in cluster mode (MySQL store, Redis presence, RabbitMQ bus) and
 * client-library users on different instances:
 *   1. cross-instance chat both ways, routed by location: each instance receives exactly the
 *      envelopes for its own users (no broadcast);
 *   2. messages to a user who is offline arrive when that user logs in on another instance;
 *   3. a second login of the same user and platform on another instance kicks the first one
 *      with SESSION_REPLACED; a login on another platform does not.
 *
 * These tests disturb no service. Another test file may restart Redis or RabbitMQ meanwhile
 * (faults.test.ts, rabbit-bus.test.ts); a check that overlapped such an outage (the instances
 * report their backends' health) falls back to what the delivery contract promises then: the
 * message arrives at the latest by seq once a later one shows the gap. Without an outage, the
 * strict check applies.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ImServer } from '../../../src';
import type { Envelope } from '../../../src/cluster';
import {
  addr, online, registerUser, sleep, TestCluster, uname, waitFor, within, type User,
} from './helpers';
import { Ledger, problems } from './ledger';
import { startRecordedInstances } from './recording';

const cluster = new TestCluster('chat');
/** Deliver envelopes each instance's bus handed to its router, by instance index. */
const seen: Envelope[][] = [[], [], []];
let srv: ImServer[] = [];

before(async () => {
  await cluster.prepare();
  srv = await startRecordedInstances(cluster, 'i', seen);
});
after(() => cluster.cleanup());

/**
 * Waits until every acked send reached its recipient. If a service outage overlapped the test,
 * each conversation still missing something gets one more message once the backends are back:
 * its arrival makes the client fetch the gap by seq (the contract's fallback).
 */
async function delivered(ledger: Ledger, users: Map<number, User>, tag: string, outagesBefore: number): Promise<void> {
  await ledger.settled();
  const ok = await waitFor('delivery', () => ledger.missing().length === 0, 10_000).then(() => true, () => false);
  if (!ok && cluster.outages > outagesBefore) {
    await waitFor('backends to be up again', () => !cluster.degraded, 30_000);
    const convs = new Map(ledger.missing().map((s) => [`${s.from}>${s.to}`, s]));
    for (const s of convs.values()) ledger.send(users.get(s.from)!.client, s.from, s.to, `${tag}:nudge:${s.from}>${s.to}`);
    await ledger.settled();
    await waitFor('delivery after the outage', () => ledger.missing().length === 0, 20_000).catch(() => undefined);
  }
  const report = ledger.check();
  assert.equal(problems(report), '', `delivery problems:\n${problems(report)}`);
}

describe('cluster of three instances (MySQL, Redis, RabbitMQ)', () => {
  it('routes chats between users on different instances, both ways, to the owning instance only', { timeout: 90_000 }, async () => {
    const outagesBefore = cluster.outages;
    const ledger = new Ledger();
    const users: User[] = [];
    for (let i = 0; i < 3; i++) {
      const name = uname(`x${i}`);
      const id = await registerUser(addr(srv[i]!), name);
      users.push(await online(ledger, [addr(srv[i]!)], name, id));
    }
    for (let i = 0; i < 3; i++) assert.equal(users[i]!.client.server.port, srv[i]!.port);
    for (const s of seen) s.length = 0;
    const K = 10;
    for (let k = 1; k <= K; k++) {
      for (const a of users) for (const b of users) if (a !== b) ledger.send(a.client, a.id, b.id, `x:${a.id}>${b.id}:${k}`);
      await sleep(5);
    }
    await delivered(ledger, new Map(users.map((u) => [u.id, u])), 'x', outagesBefore);
    const r = ledger.check();
    assert.equal(r.acked, 6 * K);
    for (const u of users) {
      const got = ledger.received.get(u.id)!.map((m) => m.body);
      assert.equal(got.filter((b) => b.startsWith('x:')).length, 2 * K, `user ${u.id} got ${got.length}`);
    }
    // Location routing, not broadcast: an instance only ever receives envelopes for its own users.
    await sleep(200);
    for (let i = 0; i < 3; i++) {
      const delivers = seen[i]!.filter((e) => e.kind === 'deliver');
      for (const e of delivers) assert.deepEqual(e.userIds, [users[i]!.id], `instance ${i} got an envelope for ${e.userIds}`);
      // One envelope per chat to this instance's user (2 senders x K), unless an outage elsewhere
      // dropped publishes or made the broker redeliver.
      if (cluster.outages === outagesBefore) assert.equal(delivers.length, 2 * K, `instance ${i} envelopes`);
    }
    for (const u of users) u.client.close();
  });

  it('delivers messages sent while the recipient was offline when it logs in on another instance', { timeout: 90_000 }, async () => {
    const outagesBefore = cluster.outages;
    const ledger = new Ledger();
    const [an, bn] = [uname('off_a'), uname('off_b')];
    const aid = await registerUser(addr(srv[0]!), an);
    const bid = await registerUser(addr(srv[0]!), bn);
    // b was online on instance 2 once, then left: its location must not linger.
    const bFirst = await online(null, [addr(srv[2]!)], bn, bid);
    await bFirst.client.disconnect();
    await waitFor('b to leave the presence', async () => !(await srv[0]!.presence.lookup([bid])).has(bid), 5_000);
    const a = await online(ledger, [addr(srv[0]!)], an, aid);
    for (let k = 1; k <= 5; k++) ledger.send(a.client, aid, bid, `off:${k}`);
    await ledger.settled();
    assert.equal(ledger.check().acked, 5);
    // Now b logs in on instance 1: the catch-up carries all five, in order.
    const b = await online(ledger, [addr(srv[1]!)], bn, bid);
    assert.deepEqual(ledger.received.get(bid)!.map((m) => m.body), ['off:1', 'off:2', 'off:3', 'off:4', 'off:5']);
    assert.deepEqual(ledger.received.get(bid)!.map((m) => m.seq), [1, 2, 3, 4, 5]);
    const loc = (await srv[0]!.presence.lookup([bid])).get(bid);
    assert.equal(loc?.[0]?.instanceId, srv[1]!.instanceId, 'b is located on instance 1');
    // And the next one is pushed live to instance 1.
    ledger.send(a.client, aid, bid, 'off:live');
    await delivered(ledger, new Map([[aid, a], [bid, b]]), 'off', outagesBefore);
    a.client.close();
    b.client.close();
  });

  it('kicks the older session when the same user and platform log in on another instance', { timeout: 90_000 }, async () => {
    // One retry with fresh users, only if a service outage elsewhere swallowed the kick envelope.
    for (let attempt = 1; ; attempt++) {
      const outagesBefore = cluster.outages;
      try {
        await kickScenario(outagesBefore);
        return;
      } catch (err) {
        if (attempt >= 2 || cluster.outages === outagesBefore) throw err;
        await waitFor('backends to be up again', () => !cluster.degraded, 30_000);
      }
    }
  });
});

async function kickScenario(outagesBefore: number): Promise<void> {
  const ledger = new Ledger();
  const [cn, dn] = [uname('dup_c'), uname('dup_d')];
  const cid = await registerUser(addr(srv[0]!), cn);
  const did = await registerUser(addr(srv[0]!), dn);
  const d = await online(ledger, [addr(srv[2]!)], dn, did);
  const old = await online(ledger, [addr(srv[0]!)], cn, cid);
  const kicked = new Promise<Error>((resolve) => old.client.once('kicked', resolve));
  const oldStates: string[] = [];
  old.client.on('state', (s) => oldStates.push(s.state));

  // Same user, same platform (1), on instance 1: the session on instance 0 is replaced.
  const fresh = await online(null, [addr(srv[1]!)], cn, cid);
  ledger.watch(fresh.client, cid);
  const reason = await within('the kick of the old session', 8_000, kicked);
  assert.equal((reason as { code?: string }).code, 'SESSION_REPLACED');
  await waitFor('the old client to close', () => old.client.state === 'closed', 5_000);
  assert.ok(!oldStates.includes('connecting'), 'a kicked client must not reconnect');
  await waitFor('instance 0 to drop the old session', () => srv[0]!.sessions.get(cid).length === 0, 5_000);
  const locs = (await srv[2]!.presence.lookup([cid])).get(cid) ?? [];
  assert.deepEqual(locs.map((l) => [l.platform, l.instanceId]), [[1, srv[1]!.instanceId]]);

  // A second device (platform 2) on instance 2 is not a replacement: both devices get chats.
  const second = await online(null, [addr(srv[2]!)], cn, cid, { platform: 2 });
  const onSecond: string[] = [];
  second.client.on('message', (m) => onSecond.push(Buffer.from(m.msgBody).toString()));
  await sleep(300);
  assert.equal(fresh.client.state, 'online', 'a login on another platform must not kick platform 1');
  ledger.send(d.client, did, cid, 'dup:1');
  await delivered(ledger, new Map([[did, d], [cid, fresh]]), 'dup', outagesBefore);
  await waitFor('the second device to get the chat', () => onSecond.includes('dup:1'), 10_000);
  for (const u of [d, fresh, second]) u.client.close();
}
