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
