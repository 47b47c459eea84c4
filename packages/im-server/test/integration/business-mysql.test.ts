/**
 * Friends and unread counts with two server instances on one real MariaDB (each with its own
 * pool, sharing an in-process hub for presence and the bus): racing accepts from connections on
 * different instances make one friendship, crossing applications one accept, and unread counts
 * and receipts agree across the instances. The file uses its own database,
 * hxim_sb_<pid>_<random>, dropped at the end; without MariaDB it fails, never skips.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as mysql from 'mysql2/promise';
import { FriendListKind, FriendOp, FriendResult, MessageType, NoticeKind, privateConvId } from '@hxim/im-common';
import { MemoryBusHub } from '../../src/cluster';
import type { ImServer } from '../../src';
import { ErrorAnswer, friendOp, newUser, nextNotice, relogin, request } from '../helpers/business';
import { startTestServer } from '../helpers/server';

const BASE = (process.env.HXIM_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306').replace(/\/+$/, '');
const DB = `hxim_sb_${process.pid}_${randomBytes(4).toString('hex')}`;
let s1: ImServer;
let s2: ImServer;

async function admin(): Promise<mysql.Connection> {
  const u = new URL(BASE);
  return mysql.createConnection({
    host: u.hostname, port: Number(u.port || 3306), user: decodeURIComponent(u.username) || 'root',
    password: decodeURIComponent(u.password), connectTimeout: 3000,
  });
}

before(async () => {
  try {
    await (await admin()).end();
  } catch (err) {
    throw new Error(`MariaDB is not reachable at ${BASE} (${(err as Error).message}). Start it with \`bash scripts/services.sh mariadb\`.`);
  }
  const hub = new MemoryBusHub();
  const common = { store: 'mysql' as const, mysqlUrl: `${BASE}/${DB}`, strangerPolicy: 'friends' as const };
  s1 = await startTestServer({ ...common, instanceId: `sb1-${process.pid}` }, { hub });
  s2 = await startTestServer({ ...common, instanceId: `sb2-${process.pid}` }, { hub });
});

after(async () => {
  await s2?.stop();
  await s1?.stop();
  const c = await admin();
  await c.query(`DROP DATABASE IF EXISTS \`${DB}\``);
  await c.end();
});

test('racing accepts from two instances leave exactly one friendship (many rounds)', async () => {
  for (let round = 0; round < 20; round++) {
    const a = await newUser(s1.port, `ma${round}`);
    const b1 = await newUser(s1.port, `mb${round}`);
    const b2 = await relogin(s2.port, b1, 2);
    await friendOp(a.c, FriendOp.APPLY, b1.id);
    const results = await Promise.allSettled([friendOp(b1.c, FriendOp.ACCEPT, a.id), friendOp(b2.c, FriendOp.ACCEPT, a.id)]);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, `round ${round}`);
    const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    assert.equal((lost.reason as ErrorAnswer).code, 'ALREADY_FRIENDS');
    const list = await request(a.c, MessageType.FRIEND_LIST_REQUEST, { kind: FriendListKind.FRIENDS }, MessageType.FRIEND_LIST);
    assert.deepEqual(list.friends.map((f) => f.userId), [b1.id]);
    for (const c of [a.c, b1.c, b2.c]) c.destroy();
  }
  const c = await admin();
  const [rows] = await c.query(`SELECT user_id, friend_id, COUNT(*) AS n FROM \`${DB}\`.friendship GROUP BY user_id, friend_id HAVING n > 1`);
  await c.end();
  assert.deepEqual(rows, [], 'no duplicated friendship rows');
});

test('crossing applications on two instances become one friendship; counts and receipts cross instances', async () => {
  const a = await newUser(s1.port, 'xa');
  const b = await newUser(s2.port, 'xb');
  const [ra, rb] = await Promise.all([friendOp(a.c, FriendOp.APPLY, b.id), friendOp(b.c, FriendOp.APPLY, a.id)]);
  assert.deepEqual([ra.result, rb.result].sort(), [FriendResult.APPLIED, FriendResult.ACCEPTED]);
  for (let i = 1; i <= 3; i++) a.c.send(MessageType.CHAT, { id: `x${i}`, receiveId: b.id, msgBody: Buffer.from(`m${i}`) });
  for (let i = 1; i <= 3; i++) await a.c.next(MessageType.ACK, (m) => m.clientMsgId === `x${i}`);
  const b2 = await relogin(s1.port, b, 2);
  assert.equal(b2.ack.totalUnread, 3);
  const conv = privateConvId(a.id, b.id);
  const r = await request(b.c, MessageType.READ_REQUEST, { convId: conv, seq: 3 }, MessageType.READ_RESPONSE);
  assert.deepEqual([r.readSeq, r.totalUnread], [3, 0]);
  assert.equal((await nextNotice(a.c, NoticeKind.READ_RECEIPT)).seq, 3);
  assert.equal((await nextNotice(b2.c, NoticeKind.UNREAD_CHANGED)).unread, 0);
  const list = await request(a.c, MessageType.CONV_LIST_REQUEST, {}, MessageType.CONV_LIST);
  assert.deepEqual([list.convs[0]!.convId, list.convs[0]!.peerReadSeq, list.convs[0]!.preview], [conv, 3, 'm3']);
  for (const c of [a.c, b.c, b2.c]) c.destroy();
});
