/**
 * The routers' location cache against the real services (three in-process instances: MySQL,
 * Redis, RabbitMQ): a recipient who moves to another instance keeps getting live pushes, exactly
 * once after the client's dedup and in order:
 *   - the login on the new instance is announced over Redis pub/sub and drops the sender's
 *     cached entry at once;
 *   - if that announcement was missed (the test puts the stale entry back), the instance the
 *     cache points at no longer holds the user, looks the user up afresh and passes the envelope
 *     on, once, over RabbitMQ.
 *
 * Like chat.test.ts, it disturbs no service; a check that overlapped an outage caused by another
 * file falls back to the contract (the message arrives by seq once a later one shows the gap).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ImServer } from '../../../src';
import type { Envelope } from '../../../src/cluster';
import { addr, online, registerUser, sleep, TestCluster, uname, waitFor } from './helpers';
import { Ledger, problems } from './ledger';
import { startRecordedInstances } from './recording';

const cluster = new TestCluster('moved');
const seen: Envelope[][] = [[], [], []];
let srv: ImServer[] = [];

before(async () => {
  await cluster.prepare();
  srv = await startRecordedInstances(cluster, 'm', seen);
});
after(() => cluster.cleanup());

/** Waits for every acked send to arrive; after an outage elsewhere, one nudge per conversation. */
async function delivered(ledger: Ledger, send: (tag: string) => void, outagesBefore: number): Promise<void> {
  await ledger.settled();
  const ok = await waitFor('delivery', () => ledger.missing().length === 0, 10_000).then(() => true, () => false);
  if (!ok && cluster.outages > outagesBefore) {
    await waitFor('backends to be up again', () => !cluster.degraded, 30_000);
    send('mv:nudge');
    await ledger.settled();
    await waitFor('delivery after the outage', () => ledger.missing().length === 0, 20_000).catch(() => undefined);
  }
  assert.equal(problems(ledger.check()), '', `delivery problems:\n${problems(ledger.check())}`);
}

describe('location cache with real services', () => {
  it('a recipient who moves instances keeps getting live pushes, once each, also through a stale cached entry', { timeout: 90_000 }, async () => {
    const outagesBefore = cluster.outages;
    const [an, bn] = [uname('mv_a'), uname('mv_b')];
    const aid = await registerUser(addr(srv[0]!), an);
    const bid = await registerUser(addr(srv[0]!), bn);
    const before = new Ledger();
    const a = await online(before, [addr(srv[0]!)], an, aid);
    const b1 = await online(before, [addr(srv[1]!)], bn, bid);
    const cache = srv[0]!.router.locations!;
    assert.ok(cache, 'a Redis-presence router caches lookups');
    await waitFor('the location watch to be live', () => cache.watching, 5_000);

    before.send(a.client, aid, bid, 'mv:1');
    await delivered(before, (t) => before.send(a.client, aid, bid, t), outagesBefore);
    await waitFor('the sender instance to cache b on instance 1', () => cache.get(bid)?.[0]?.instanceId === srv[1]!.instanceId, 5_000);
    const stale = cache.get(bid)!;

    // b moves to instance 2 (same platform: the old session is replaced). A new client object,
    // so a ledger of its own (its catch-up may bring mv:1 again: the old client's dedup state is
    // gone). The login's announcement drops the cached entry; the next chat goes straight there.
    b1.client.close();
    const ledger = new Ledger();
    const send = (body: string): void => ledger.send(a.client, aid, bid, body);
    // What the sender instance's cache holds for b right when b's login announcement arrives
    // (the cache's own listener runs first).
    const atAnnouncement: unknown[] = [];
    const unlisten = srv[0]!.presence.watchLocations!().add((u) => { if (u === bid) atAnnouncement.push(cache.get(bid)); });
    const b = await online(ledger, [addr(srv[2]!)], bn, bid);
    await waitFor('the login announcement', () => atAnnouncement.length > 0, 5_000);
    unlisten();
    assert.equal(atAnnouncement[0], undefined, 'the announcement dropped the cached entry');
    for (const x of seen) x.length = 0;
    send('mv:2');
    await delivered(ledger, send, outagesBefore);
    await sleep(200);
    if (cluster.outages === outagesBefore) {
      assert.equal(seen[1]!.filter((e) => e.kind === 'deliver').length, 0, 'nothing went to the old instance');
    }

    // The announcement missed: the stale entry is put back. Instance 1 no longer holds b, looks
    // b up and passes the envelope on to instance 2, once.
    cache.fill(cache.stamp(), new Map([[bid, stale]]));
    assert.equal(cache.get(bid)?.[0]?.instanceId, srv[1]!.instanceId);
    for (const x of seen) x.length = 0;
    send('mv:3');
    send('mv:4');
    await delivered(ledger, send, outagesBefore);
    await sleep(200);
    if (cluster.outages === outagesBefore) {
      // (Both normally go the stale way; the second may go direct if the entry aged out first.)
      const to1 = seen[1]!.filter((e) => e.kind === 'deliver');
      const passedOn = seen[2]!.filter((e) => e.kind === 'deliver' && e.forwarded);
      assert.ok(to1.length >= 1, 'the stale entry sent the chat to instance 1');
      assert.ok(to1.every((e) => e.kind === 'deliver' && !e.forwarded));
      assert.equal(passedOn.length, to1.length, 'each passed on once');
      assert.ok(passedOn.every((e) => e.origin === srv[1]!.instanceId));
    }
    const got = ledger.received.get(bid)!.map((m) => m.body).filter((x) => x !== 'mv:1' && x !== 'mv:nudge');
    assert.deepEqual(got, ['mv:2', 'mv:3', 'mv:4'], 'exactly once each, in order');
    a.client.close();
    b.client.close();
  });
});
