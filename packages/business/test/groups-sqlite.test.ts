/** The group contract on the embedded store, then GroupService's member cache. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GroupService, SqliteStore } from '../src/index';
import { runGroupContract } from './contract/groups-contract';
import { freshUser, rejectsCode } from './contract/friends-contract';
import { tempDir } from './helpers/temp-dir';

runGroupContract('SqliteStore', async () => new SqliteStore({ dataDir: tempDir(), synchronous: 'NORMAL' }));

describe('GroupService', () => {
  it('caches members, invalidates on its own changes, refreshes after the TTL for other instances', async () => {
    const store = new SqliteStore({ dataDir: tempDir(), synchronous: 'NORMAL' });
    let clock = 1000;
    const svc = new GroupService(store, { memberTtlMs: 100, now: () => clock });
    const other = new GroupService(store, { memberTtlMs: 100, now: () => clock });
    const [o, a, b] = [freshUser(), freshUser(), freshUser()];
    const { group: g } = await svc.create(o, 'c', [a]);
    assert.equal(g.maxMembers, 10_000);
    assert.deepEqual([...(await svc.checkSend(g.groupId, a)).ids], [o, a].sort((x, y) => x - y));
    await other.checkSend(g.groupId, a); // cached on "the other instance"
    await svc.kick(o, g.groupId, [a]);
    await rejectsCode(svc.checkSend(g.groupId, a), 'NOT_A_MEMBER');
    assert.ok((await other.members(g.groupId)).set.has(a), 'stale within the TTL');
    clock += 101;
    await rejectsCode(other.checkSend(g.groupId, a), 'NOT_A_MEMBER');
    await rejectsCode(svc.checkSend(g.groupId, b), 'NOT_A_MEMBER');
    await rejectsCode(svc.memberPage(o, g.groupId, 0, 1001), 'PAGE_TOO_LARGE');
    const p = await svc.memberPage(o, g.groupId, 0, 0);
    assert.equal(p.members.length, 1);
    assert.equal((await svc.create(o, 'x', [], 50_000)).group.maxMembers, 10_000, 'capped by the service');
    await store.close();
  });
});

describe('GroupService member lists and member_seq', () => {
  it('a list older than the asked member_seq is reloaded, cached or in flight; concurrent reloads share one read', async () => {
    const store = new SqliteStore({ dataDir: tempDir(), synchronous: 'NORMAL' });
    // "Another instance": its invalidations never arrive and its TTL never runs out. Its reads
    // take the snapshot at once but resolve only when `hold` does, so a read can be in flight
    // across a change made meanwhile.
    let reads = 0;
    let hold: Promise<void> = Promise.resolve();
    const groups = Object.create(store.groups) as typeof store.groups;
    groups.memberList = async (groupId: number) => {
      reads++;
      const list = await store.groups.memberList(groupId);
      await hold;
      return list;
    };
    const other = new GroupService(Object.assign(Object.create(store) as SqliteStore, { groups }), { memberTtlMs: 1e9 });
    const svc = new GroupService(store);
    const [o, a, b] = [freshUser(), freshUser(), freshUser()];
    const { group: g } = await svc.create(o, 'm', [a, b]);
    const first = await other.members(g.groupId);
    assert.deepEqual([first.ids, first.memberSeq], [[o, a, b].sort((x, y) => x - y), 1]);

    const kick = await svc.kick(o, g.groupId, [a]);
    const k = kick.system!.seq;
    assert.equal(await other.members(g.groupId), first, 'without a member_seq the stale list is still served (no invalidation arrived)');
    assert.equal(await other.members(g.groupId, 1), first, 'and for a message sent before the kick');
    reads = 0;
    const fresh = await other.members(g.groupId, k);
    assert.deepEqual([fresh.ids, fresh.memberSeq, reads], [[o, b].sort((x, y) => x - y), k, 1], 'reloaded once');
    assert.equal(await other.members(g.groupId), fresh, 'and cached');

    // A read that started before the next change is in flight when a send asks for that change.
    let release!: () => void;
    hold = new Promise((r) => { release = r; });
    other.invalidate(g.groupId);
    reads = 0;
    const inFlight = other.members(g.groupId);
    const join = await svc.invite(o, g.groupId, [a]);
    const j = join.system!.seq;
    const asked = [other.members(g.groupId, j), other.members(g.groupId, j)];
    release();
    assert.deepEqual((await inFlight).memberSeq, k, 'the early read saw the old list');
    for (const p of asked) {
      const l = await p;
      assert.deepEqual([l.ids, l.memberSeq], [[o, a, b].sort((x, y) => x - y), j]);
    }
    assert.equal(reads, 2, 'the early read, then one shared reload');
    await store.close();
  });
});
