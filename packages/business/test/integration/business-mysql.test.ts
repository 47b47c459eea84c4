/**
 * Friends, notices and conversation lists on a real MariaDB (mysql://root@127.0.0.1:3306 unless
 * HXIM_TEST_MYSQL_URL is set): the contracts, and races between two store instances (two pools,
 * as two server instances would have). The file creates its own database,
 * hxim_b_<pid>_<random>, and drops it at the end. If MariaDB is not reachable the file fails
 * with a message saying so: it is never skipped (STYLE.md).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RequestError } from '@hxim/im-common';
import { parseMysqlOptions, type FriendChange } from '../../src/index';
import { runConversationContract } from '../contract/conversations-contract';
import { freshUser, runFriendContract } from '../contract/friends-contract';
import { runNoticeBoundContract } from '../contract/notice-bound-contract';
import { useMysqlTestDb } from '../helpers/mysql-db';

const db = useMysqlTestDb('b');
const { admin } = db;
const DB = db.name;
const open = db.open;

runFriendContract('MysqlStore (MariaDB)', () => open());
runConversationContract('MysqlStore (MariaDB)', () => open());
runNoticeBoundContract('MysqlStore (MariaDB)', {
  open: (extra) => open(extra as { maxNoticesPerUser?: number }),
  parse: (extra) => parseMysqlOptions({ url: db.url, ...extra as { maxNoticesPerUser?: number } }).maxNoticesPerUser,
  field: 'mysql.maxNoticesPerUser',
});

describe('MysqlStore friends with two instances', () => {
  async function count(table: string, where: string, values: unknown[]): Promise<number> {
    const c = await admin();
    try {
      const [rows] = await c.query(`SELECT COUNT(*) AS n FROM \`${DB}\`.${table} WHERE ${where}`, values);
      return Number((rows as Array<{ n: number }>)[0]!.n);
    } finally {
      await c.end();
    }
  }

  it('racing accepts on two instances leave exactly one friendship (many rounds)', async () => {
    const [s1, s2] = [await open(), await open()];
    for (let round = 0; round < 30; round++) {
      const a = freshUser(), b = freshUser();
      await s1.friends.apply(a, b, '');
      const results = await Promise.allSettled([s1.friends.decide(b, a, true), s2.friends.decide(b, a, true),
        s1.friends.decide(b, a, true), s2.friends.decide(b, a, true)]);
      const won = results.filter((r): r is PromiseFulfilledResult<FriendChange> => r.status === 'fulfilled');
      assert.equal(won.length, 1, `round ${round}: exactly one accept wins`);
      for (const r of results) if (r.status === 'rejected') assert.equal((r.reason as RequestError).code, 'ALREADY_FRIENDS');
      assert.equal(await count('friendship', '(user_id = ? AND friend_id = ?) OR (user_id = ? AND friend_id = ?)', [a, b, b, a]), 2);
      assert.equal(await count('user_notice', 'user_id = ?', [a]), 1, 'the applicant is told once');
    }
  });

  it('crossing applications on two instances become one friendship and one application', async () => {
    const [s1, s2] = [await open(), await open()];
    for (let round = 0; round < 30; round++) {
      const a = freshUser(), b = freshUser();
      const res = await Promise.all([s1.friends.apply(a, b, 'hi'), s2.friends.apply(b, a, 'hey')]);
      assert.deepEqual(res.map((r) => r.outcome).sort(), ['accepted', 'applied'], `round ${round}`);
      assert.equal(await count('friend_apply', '(applicant_id = ? AND target_id = ?) OR (applicant_id = ? AND target_id = ?)', [a, b, b, a]), 1);
      assert.equal((await s2.friends.relation(a, b)).friends, true);
    }
  });

  it('duplicate applications racing on two instances file one', async () => {
    const [s1, s2] = [await open(), await open()];
    for (let round = 0; round < 20; round++) {
      const a = freshUser(), b = freshUser();
      const res = await Promise.allSettled([s1.friends.apply(a, b, ''), s2.friends.apply(a, b, ''), s1.friends.apply(a, b, '')]);
      assert.equal(res.filter((r) => r.status === 'fulfilled').length, 1);
      for (const r of res) if (r.status === 'rejected') assert.equal((r.reason as RequestError).code, 'APPLY_PENDING');
      assert.equal(await count('friend_apply', 'applicant_id = ? AND target_id = ? AND apply_status = 0', [a, b]), 1);
    }
  });
});
