/**
 * The Presence contract (STYLE.md practice 5): one suite, run against MemoryPresence (unit) and
 * RedisPresence (integration, real Redis). Covers the seed's presence bugs (seed.md §3.4, §9.3):
 * a stale disconnect must not remove a newer login, and locations expire.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { BackendError } from '@hxim/im-common';
import type { Location, Presence } from '../../src/cluster';
import { runTag, sleep, waitFor } from './helpers';

/** Two handles on one backend, as two server instances would hold them. */
export interface PresenceFixture {
  a: Presence;
  b: Presence;
  /** Closes both handles and removes everything the test wrote. */
  close(): Promise<void>;
}

/** Registers the contract tests for one implementation. `make` is called once per test. */
export function runPresenceContract(name: string, make: () => Promise<PresenceFixture>): void {
  describe(`Presence contract: ${name}`, () => {
    let fx: PresenceFixture;
    let ia: string;
    let ib: string;
    let next = 0;
    const loc = (instanceId: string, userId: number, platform = 1, connId?: string): Location => ({
      userId, platform, instanceId, connId: connId ?? `${instanceId}#${++next}`,
    });

    beforeEach(async () => {
      fx = await make();
      const tag = runTag();
      ia = `inst-a-${tag}`;
      ib = `inst-b-${tag}`;
    });
    afterEach(async () => {
      await fx.close();
    });

    it('is healthy and lets listeners unsubscribe', () => {
      assert.equal(fx.a.health, 'up');
      const off = fx.a.onHealth(() => {});
      assert.equal(typeof off, 'function');
      off();
    });

    it('register returns null first, then the location it replaced', async () => {
      const first = loc(ia, 1001);
      assert.equal(await fx.a.register(first, 10_000), null);
      const second = loc(ib, 1001);
      assert.deepEqual(await fx.b.register(second, 10_000), first);
      assert.deepEqual(await fx.a.lookup([1001]), new Map([[1001, [second]]]));
    });

    it('re-registering the same connection returns null (nothing to kick)', async () => {
      const l = loc(ia, 1002);
      await fx.a.register(l, 10_000);
      assert.equal(await fx.a.register(l, 10_000), null);
    });

    it('concurrent logins of one slot: each replaced connection is reported exactly once', async () => {
      const logins = Array.from({ length: 20 }, (_, i) => loc(i % 2 ? ia : ib, 1011, 1, `race-${i}`));
      const olds = await Promise.all(logins.map((l, i) => (i % 2 ? fx.a : fx.b).register(l, 10_000)));
      assert.equal(olds.filter((o) => o === null).length, 1, 'only the first login replaced nothing');
      const replaced = olds.filter((o): o is Location => o !== null).map((o) => o.connId);
      assert.equal(new Set(replaced).size, 19, 'no connection is reported twice');
      const winner = (await fx.a.lookup([1011])).get(1011)![0]!.connId;
      assert.equal(replaced.includes(winner), false, 'the live login was never reported as replaced');
    });

    it('a stale disconnect does not remove a newer login (compare-and-delete)', async () => {
      const old = loc(ia, 1003);
      const newer = loc(ib, 1003);
      await fx.a.register(old, 10_000);
      await fx.b.register(newer, 10_000);
      assert.equal(await fx.a.unregister(old), false, 'the old connection no longer owns the location');
      assert.deepEqual((await fx.a.lookup([1003])).get(1003), [newer]);
      assert.equal(await fx.b.unregister(newer), true);
      assert.equal((await fx.a.lookup([1003])).has(1003), false);
      assert.equal(await fx.b.unregister(newer), false, 'a second unregister finds nothing');
    });

    it('compare-and-delete checks the instance as well as the connection id', async () => {
      const l = loc(ia, 1004, 1, 'same-conn');
      await fx.a.register(l, 10_000);
      assert.equal(await fx.b.unregister({ ...l, instanceId: ib }), false);
      assert.equal((await fx.b.lookup([1004])).get(1004)?.length, 1);
    });

    it('platforms are independent slots', async () => {
      const phone = loc(ia, 1005, 2);
      const desk = loc(ib, 1005, 1);
      assert.equal(await fx.a.register(phone, 10_000), null);
      assert.equal(await fx.b.register(desk, 10_000), null);
      assert.deepEqual((await fx.a.lookup([1005])).get(1005), [desk, phone]);
      assert.equal(await fx.a.unregister(phone), true);
      assert.deepEqual((await fx.a.lookup([1005])).get(1005), [desk]);
    });

    it('looks up many users at once, omitting those with no location', async () => {
      const want = new Map<number, Location[]>();
      const writes: Promise<unknown>[] = [];
      for (let u = 0; u < 400; u++) {
        const userId = 50_000 + u * 2; // odd ids stay offline
        const l = loc(u % 2 ? ia : ib, userId, u % 3);
        writes.push((u % 2 ? fx.a : fx.b).register(l, 10_000));
        want.set(userId, [l]);
      }
      await Promise.all(writes);
      const ids: number[] = [];
      for (let u = 0; u < 800; u++) ids.push(50_000 + u);
      ids.push(50_000, 50_002); // duplicates are harmless
      const got = await fx.a.lookup(ids);
      assert.equal(got.size, 400);
      assert.deepEqual(got, want);
      assert.deepEqual(await fx.a.lookup([]), new Map());
    });

    it('accepts negative and large safe-integer user ids', async () => {
      const neg = loc(ia, -1);
      const big = loc(ia, Number.MAX_SAFE_INTEGER);
      await fx.a.register(neg, 10_000);
      await fx.a.register(big, 10_000);
      const got = await fx.b.lookup([-1, Number.MAX_SAFE_INTEGER]);
      assert.deepEqual(got.get(-1), [neg]);
      assert.deepEqual(got.get(Number.MAX_SAFE_INTEGER), [big]);
    });

    it('a location expires after its TTL, and an expired one is not reported as replaced', async () => {
      const l = loc(ia, 1006);
      await fx.a.register(l, 300);
      assert.equal((await fx.b.lookup([1006])).has(1006), true);
      await waitFor('the location to expire', async () => !(await fx.b.lookup([1006])).has(1006), 3_000, 50);
      assert.equal(await fx.b.register(loc(ib, 1006), 10_000), null);
      assert.equal(await fx.a.unregister(l), false);
    });

    it('an expired platform does not hide a live one of the same user', async () => {
      await fx.a.register(loc(ia, 1007, 1), 300);
      const live = loc(ib, 1007, 2);
      await fx.b.register(live, 10_000);
      await waitFor('platform 1 to expire', async () => (await fx.a.lookup([1007])).get(1007)?.length === 1, 3_000, 50);
      assert.deepEqual((await fx.a.lookup([1007])).get(1007), [live]);
    });

    it('refresh extends the TTL of owned locations', async () => {
      const l = loc(ia, 1008);
      await fx.a.register(l, 500);
      await fx.a.refresh([l], 5_000);
      await sleep(900);
      assert.deepEqual((await fx.b.lookup([1008])).get(1008), [l]);
    });

    it('refresh does not take a location back from a newer login', async () => {
      const old = loc(ia, 1009);
      const newer = loc(ib, 1009);
      await fx.a.register(old, 10_000);
      await fx.b.register(newer, 10_000);
      await fx.a.refresh([old], 10_000);
      assert.deepEqual((await fx.a.lookup([1009])).get(1009), [newer]);
    });

    it('refresh rewrites a missing location (rebuild after a backend restart)', async () => {
      const l = loc(ia, 1010);
      await fx.a.refresh([l], 10_000);
      assert.deepEqual((await fx.b.lookup([1010])).get(1010), [l]);
      await fx.a.refresh([], 10_000);
    });

    it('refresh of many locations at once: owned ones extended, missing ones written, newer ones kept', async () => {
      // More than one script batch (200) and a second platform, with one location taken over.
      const ids = Array.from({ length: 450 }, (_, i) => 20_000 + i);
      const owned = ids.map((u) => loc(ia, u, 1 + (u % 2)));
      for (const l of owned.slice(0, 300)) await fx.a.register(l, 400);
      const newer = loc(ib, ids[7]!, owned[7]!.platform);
      await fx.b.register(newer, 10_000);
      await fx.a.refresh(owned, 10_000);
      await sleep(700);
      const found = await fx.b.lookup(ids);
      for (const [i, u] of ids.entries()) assert.deepEqual(found.get(u), [i === 7 ? newer : owned[i]], `user ${u}`);
    });

    it('announces every login to the watchers of every handle (location cache invalidation)', async () => {
      const wa = fx.a.watchLocations!();
      const wb = fx.b.watchLocations!();
      await waitFor('the watches to be live', () => wa.live && wb.live, 5_000);
      const heardA: (number | null)[] = [];
      const heardB: (number | null)[] = [];
      const offA = wa.add((u) => heardA.push(u));
      wb.add((u) => heardB.push(u));
      await fx.b.register(loc(ib, 1501), 10_000);
      await fx.a.register(loc(ia, 1502, 2), 10_000);
      await waitFor('both announcements on both handles', () => heardA.length >= 2 && heardB.length >= 2, 5_000);
      assert.deepEqual(heardA.filter((u) => u !== null), [1501, 1502]);
      assert.deepEqual(heardB.filter((u) => u !== null), [1501, 1502]);
      offA();
      await fx.b.register(loc(ib, 1503), 10_000);
      await waitFor('the third announcement', () => heardB.includes(1503), 5_000);
      assert.ok(!heardA.includes(1503), 'a removed listener hears nothing');
    });

    it('instance registry: heartbeat, expiry, removal', async () => {
      const infoA = { instanceId: ia, advertise: '127.0.0.1:9090', pid: 1, startedAt: Date.now(), users: 3 };
      const infoB = { instanceId: ib, advertise: '127.0.0.1:9091', pid: 2, startedAt: Date.now(), users: 0 };
      await fx.a.heartbeatInstance(infoA, 300);
      await fx.b.heartbeatInstance(infoB, 10_000);
      const mine = async () => (await fx.a.instances()).filter((i) => i.instanceId === ia || i.instanceId === ib)
        .sort((x, y) => x.instanceId.localeCompare(y.instanceId));
      assert.deepEqual(await mine(), [infoA, infoB]);
      await waitFor('instance a to expire', async () => (await mine()).length === 1, 3_000, 50);
      assert.deepEqual(await mine(), [infoB]);
      await fx.b.heartbeatInstance({ ...infoB, users: 7 }, 10_000);
      assert.equal((await mine())[0]?.users, 7);
      await fx.b.removeInstance(ib);
      assert.deepEqual(await mine(), []);
    });

    it('rejects invalid input with a TypeError naming the field', async () => {
      await assert.rejects(fx.a.register({ userId: 1.5, platform: 1, instanceId: ia, connId: 'c' }, 1_000), /userId/);
      await assert.rejects(fx.a.register({ userId: 1, platform: 1, instanceId: 'bad id', connId: 'c' }, 1_000), /instanceId/);
      await assert.rejects(fx.a.register(loc(ia, 1), 0), /ttlMs/);
      await assert.rejects(fx.a.lookup([Number.NaN]), /userId/);
      await assert.rejects(fx.a.heartbeatInstance({ instanceId: 'x|y', advertise: '', pid: 0, startedAt: 0, users: 0 }, 1_000), TypeError);
    });

    it('rejects with a BackendError after close', async () => {
      await fx.a.close();
      await assert.rejects(fx.a.lookup([1]), (err: unknown) => err instanceof BackendError);
      assert.equal((await fx.b.lookup([1])).size, 0, 'the other handle still works');
    });
  });
}
