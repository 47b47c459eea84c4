/**
 * The group contract on a real MariaDB (mysql://root@127.0.0.1:3306 unless HXIM_TEST_MYSQL_URL
 * is set), plus a race between two store instances on one group's size limit. The file creates
 * its own database, hxim_g_<pid>_<random>, and drops it at the end; never skipped.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runGroupContract } from '../contract/groups-contract';
import { freshUser } from '../contract/friends-contract';
import { useMysqlTestDb } from '../helpers/mysql-db';

const db = useMysqlTestDb('g');
const open = db.open;

runGroupContract('MysqlStore (MariaDB)', () => open());

describe('MysqlStore groups with two instances', () => {
  it('concurrent invites on two instances never exceed the size limit, and seqs stay gap-free', async () => {
    const s1 = await open();
    const s2 = await open();
    const owner = freshUser();
    const { group: g } = await s1.groups.create(owner, 'race', [], 11);
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) =>
      (i % 2 ? s1 : s2).groups.invite(owner, g.groupId, [freshUser()])));
    const ok = results.filter((r) => r.status === 'fulfilled').length;
    assert.equal(ok, 10);
    for (const r of results) if (r.status === 'rejected') assert.equal((r.reason as { code?: string }).code, 'GROUP_FULL');
    assert.equal((await s1.groups.memberIds(g.groupId)).length, 11);
    assert.equal((await s2.groups.get(g.groupId))!.memberCount, 11);
    const seqs = (await s1.chats.readAfter(`g:${g.groupId}`, 0, 100)).map((m) => m.seq);
    assert.deepEqual(seqs, Array.from({ length: 11 }, (_, i) => i + 1));
  });
});
