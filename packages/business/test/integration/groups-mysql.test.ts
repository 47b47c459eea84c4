/**
 * The group contract on a real MariaDB (mysql://root@127.0.0.1:3306 unless HXIM_TEST_MYSQL_URL
 * is set), plus a race between two store instances on one group's size limit. The file creates
 * its own database, hxim_g_<pid>_<random>, and drops it at the end; never skipped.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import * as mysql from 'mysql2/promise';
import { MysqlStore, openMysqlStore } from '../../src/index';
import { runGroupContract } from '../contract/groups-contract';
import { freshUser } from '../contract/friends-contract';

const BASE = (process.env.HXIM_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306').replace(/\/+$/, '');
const DB = `hxim_g_${process.pid}_${randomBytes(4).toString('hex')}`;
const opened: MysqlStore[] = [];

async function admin(): Promise<mysql.Connection> {
  const u = new URL(BASE);
  return mysql.createConnection({
    host: u.hostname, port: Number(u.port || 3306), user: decodeURIComponent(u.username) || 'root',
    password: decodeURIComponent(u.password), connectTimeout: 3000,
  });
}

async function open(): Promise<MysqlStore> {
  const s = await openMysqlStore({ url: `${BASE}/${DB}` });
  opened.push(s);
  return s;
}

before(async () => {
  let c: mysql.Connection;
  try {
    c = await admin();
  } catch (err) {
    throw new Error(`MariaDB is not reachable at ${BASE} (${(err as Error).message}). `
      + 'Start it with `bash scripts/services.sh mariadb`, or point HXIM_TEST_MYSQL_URL at a server.');
  }
  await c.end();
});

after(async () => {
  for (const s of opened) await s.close().catch(() => undefined);
  const c = await admin();
  await c.query(`DROP DATABASE IF EXISTS \`${DB}\``);
  await c.end();
});

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
