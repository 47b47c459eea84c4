/**
 * MysqlStore against a real MariaDB (mysql://root@127.0.0.1:3306 unless HXIM_TEST_MYSQL_URL is
 * set): the Store contract, several instances writing at once, and a dead database. The file
 * creates its own database, hxim_t_<pid>_<random>, and drops it at the end. If MariaDB is not
 * reachable the file fails with a message saying so: it is never skipped (STYLE.md).
 */
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { describe, it } from 'node:test';
import { BackendError, groupConvId, privateConvId } from '@hxim/im-common';
import { MysqlStore, openMysqlStore, openStore, type NewChat } from '../../src/index';
import type { MysqlDb } from '../../src/mysql/db';
import { chat, runStoreContract } from '../contract/store-contract';
import { useMysqlTestDb } from '../helpers/mysql-db';

const db = useMysqlTestDb('t');
const { admin } = db;
const DB = db.name;
const open = db.open;

runStoreContract('MysqlStore (MariaDB)', () => open());

describe('MysqlStore with several instances', () => {
  it('creates the database and applies the schema idempotently', async () => {
    const a = await open();
    const b = await open(); // applies schema.sql a second time
    await a.ping();
    await b.ping();
    const c = await admin();
    const [rows] = await c.query('SELECT table_name AS t FROM information_schema.tables WHERE table_schema = ?', [DB]);
    await c.end();
    assert.deepEqual((rows as Array<{ t: string }>).map((r) => r.t).sort(),
      ['chat_message', 'conversation', 'conversation_member', 'friend_apply', 'friend_pair', 'friendship', 'group_member',
        'im_group', 'session_token', 'user_account', 'user_block', 'user_notice']);
  });

  it('adds the columns of a later version to an existing database at open (conversation.member_seq)', async () => {
    const c = await admin();
    const old = `${DB}_old`;
    try {
      await c.query(`CREATE DATABASE \`${old}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
      // conversation as it was before member_seq
      await c.query(`CREATE TABLE \`${old}\`.conversation (conv_id VARCHAR(64) NOT NULL, conv_type TINYINT NOT NULL DEFAULT 0,
        last_seq BIGINT NOT NULL DEFAULT 0, last_msg_id BIGINT NOT NULL DEFAULT 0, last_sender_id BIGINT NOT NULL DEFAULT 0,
        last_time BIGINT NOT NULL DEFAULT 0, created_at BIGINT NOT NULL, PRIMARY KEY (conv_id)) ENGINE=InnoDB DEFAULT CHARSET=ascii COLLATE=ascii_bin`);
      await c.query(`INSERT INTO \`${old}\`.conversation (conv_id, conv_type, last_seq, created_at) VALUES ('g:1', 1, 7, 0)`);
      const url = db.url.replace(/\/[^/]+$/, `/${old}`);
      for (let i = 0; i < 2; i++) await (await openMysqlStore({ url })).close(); // the second open finds it done
      const [cols] = await c.query(`SELECT column_name AS n FROM information_schema.columns WHERE table_schema = ? AND table_name = 'conversation'
        ORDER BY ordinal_position`, [old]);
      assert.equal((cols as Array<{ n: string }>).map((r) => r.n).at(-1), 'member_seq');
      const [rows] = await c.query(`SELECT last_seq, member_seq FROM \`${old}\`.conversation`);
      assert.deepEqual((rows as Array<Record<string, unknown>>).map((r) => [Number(r.last_seq), Number(r.member_seq)]), [[7, 0]]);
    } finally {
      await c.query(`DROP DATABASE IF EXISTS \`${old}\``);
      await c.end();
    }
  });

  it('gives gap-free unique seqs when two instances append to the same conversations', async () => {
    const [s1, s2] = [await open(), await open()];
    const base = 5_000_000 + Math.floor(Math.random() * 1_000_000) * 10;
    const convUsers: Array<[number, number]> = Array.from({ length: 6 }, (_, i) => [base + 2 * i, base + 2 * i + 1]);
    const batchesFor = (inst: number): NewChat[][] => Array.from({ length: 15 }, (_, k) =>
      Array.from({ length: 30 }, (_, j) => {
        // Each batch spans several conversations, in a different order per instance.
        const [a, b] = convUsers[(inst === 1 ? j : convUsers.length * 30 - j) % convUsers.length];
        return chat(j % 2 ? a : b, j % 2 ? b : a, `i${inst}_${k}_${j}`);
      }));
    const run = (s: MysqlStore, inst: number) => Promise.all(batchesFor(inst).map((batch) => s.chats.appendBatch(batch)));
    const results = (await Promise.all([run(s1, 1), run(s2, 2)])).flat(2);
    assert.equal(results.length, 2 * 15 * 30);
    for (const [a, b] of convUsers) {
      const conv = privateConvId(a, b);
      const seqs = results.filter((r) => r.convId === conv).map((r) => r.seq).sort((x, y) => x - y);
      assert.deepEqual(seqs, Array.from({ length: seqs.length }, (_, i) => i + 1), `seqs of ${conv}`);
      const stored = await s1.chats.readAfter(conv, 0, 10_000);
      assert.equal(stored.length, seqs.length);
      const cur = await s2.chats.cursors(a, [conv]);
      assert.equal(cur[0].lastSeq, seqs.length);
    }
    assert.equal(new Set(results.map((r) => r.serverMsgId)).size, results.length);
  });

  it('stores a resend racing on two instances once', async () => {
    const [s1, s2] = [await open(), await open()];
    const a = 7_000_000 + Math.floor(Math.random() * 1_000_000) * 2;
    for (let round = 0; round < 5; round++) {
      const msgs = Array.from({ length: 20 }, (_, j) => chat(a, a + 1, `race${round}_${j}`));
      const [r1, r2] = await Promise.all([s1.chats.appendBatch(msgs), s2.chats.appendBatch(msgs)]);
      for (let j = 0; j < msgs.length; j++) {
        assert.equal(r1[j].serverMsgId, r2[j].serverMsgId);
        assert.equal(r1[j].seq, r2[j].seq);
        assert.equal(Number(r1[j].duplicate) + Number(r2[j].duplicate), 1, 'exactly one instance stored it');
      }
    }
    assert.equal((await s1.chats.readAfter(privateConvId(a, a + 1), 0, 1000)).length, 100);
  });

  it('reads ids back when the server may interleave auto-increment ids (lock mode 2)', async () => {
    const s = await open();
    // MySQL 8 defaults to innodb_autoinc_lock_mode = 2; MariaDB here uses 1. Force the other path.
    (s as unknown as { db: { vars: unknown } }).db.vars = { autoincLockMode: 2, autoincIncrement: 1 };
    const a = 8_000_000 + Math.floor(Math.random() * 1_000_000) * 2;
    const res = await s.chats.appendBatch(Array.from({ length: 5 }, (_, j) => chat(a, a + 1, `lm${j}`)));
    const stored = await s.chats.readAfter(privateConvId(a, a + 1), 0, 10);
    assert.deepEqual(res.map((r) => r.serverMsgId), stored.map((m) => m.serverMsgId));
    for (const r of res) assert.equal(typeof r.serverMsgId, 'number');
  });

  it('retries a deadlocked transaction on the same connection, within the deadline', async () => {
    const s = await open({ maxRetries: 2 });
    const db = (s as unknown as { db: MysqlDb }).db;
    let attempts = 0;
    const got = await db.transaction('deadlock-test', async (c) => {
      attempts++;
      await c.query('START TRANSACTION');
      if (attempts < 3) throw Object.assign(new Error('Deadlock found when trying to get lock'), { errno: 1213 });
      await c.query('COMMIT');
      return 'done';
    }, (e) => (e as { errno?: number }).errno === 1213);
    assert.deepEqual([got, attempts, db.stats.retries], ['done', 3, 2]);
    await assert.rejects(db.transaction('deadlock-test', async () => {
      throw Object.assign(new Error('Deadlock found when trying to get lock'), { errno: 1213 });
    }, () => true), (e: unknown) => e instanceof BackendError && e.code === 'STORE_UNAVAILABLE' && /deadlock-test/.test(e.message));
  });

  async function lastMsgId(conv: string): Promise<number> {
    const c = await admin();
    const [rows] = await c.query(`SELECT last_msg_id FROM \`${DB}\`.conversation WHERE conv_id = ?`, [conv]);
    await c.end();
    return Number((rows as Array<{ last_msg_id: number }>)[0].last_msg_id);
  }

  it('appends in one round trip while its seq hints hold, and redoes a batch with locks when they do not', async () => {
    const [s1, s2] = [await open(), await open()];
    const a = 9_000_000 + Math.floor(Math.random() * 1_000_000) * 2;
    const conv = privateConvId(a, a + 1);
    const seqOf = async (s: MysqlStore, id: string) => (await s.chats.appendBatch([chat(a, a + 1, id)]))[0];
    assert.equal((await seqOf(s1, 'h1')).seq, 1); // no hint yet: locking path
    assert.equal((await seqOf(s1, 'h2')).seq, 2); // hinted: fast path
    assert.deepEqual(s1.chats.appendStats, { fast: 1, fastMisses: 0, locked: 1 });
    assert.equal((await seqOf(s2, 'h3')).seq, 3); // the other instance: s1's hint is now stale
    const fourth = await seqOf(s1, 'h4'); // fast attempt refused by the database, redone with locks
    assert.equal(fourth.seq, 4);
    assert.deepEqual(s1.chats.appendStats, { fast: 1, fastMisses: 1, locked: 2 });
    assert.equal(await lastMsgId(conv), fourth.serverMsgId, 'the locking path sets last_msg_id too');
    const fifth = await seqOf(s1, 'h5');
    assert.deepEqual([fifth.seq, fifth.duplicate], [5, false]);
    // A resend reaching the fast path fails on the client-id key and gets the original back.
    const again = await seqOf(s1, 'h5');
    assert.deepEqual([again.seq, again.serverMsgId, again.duplicate], [5, fifth.serverMsgId, true]);
    assert.deepEqual(s1.chats.appendStats, { fast: 2, fastMisses: 2, locked: 3 });
    const stored = await s2.chats.readAfter(conv, 0, 100);
    assert.deepEqual(stored.map((m) => [m.seq, m.clientMsgId]), [[1, 'h1'], [2, 'h2'], [3, 'h3'], [4, 'h4'], [5, 'h5']]);
    assert.equal(stored[4].serverMsgId, fifth.serverMsgId);
    const [sender] = await s2.chats.cursors(a, [conv]);
    assert.deepEqual([sender.lastSeq, sender.readSeq], [5, 5]);
    assert.equal(await lastMsgId(conv), fifth.serverMsgId);
  });

  it('refuses a chat to a group that does not exist without leaving a conversation row behind', async () => {
    const s = await open();
    const sender = 13_000_000 + Math.floor(Math.random() * 1_000_000);
    const groupId = 900_000_000 + Math.floor(Math.random() * 1_000_000); // never created
    const conv = groupConvId(groupId);
    const p2p = chat(sender, sender + 1, 'p2p-beside');
    const [ghost, ok] = await s.chats.appendBatch([{ ...chat(sender, sender + 2, 'ghost'), convId: conv, memberIds: [sender], recipientId: 0, groupId }, p2p]);
    assert.equal(ghost.refused?.code, 'NOT_A_MEMBER');
    assert.equal(ok.seq, 1, 'the 1:1 chat of the same batch is stored');
    const c = await admin();
    const [rows] = await c.query(`SELECT conv_id FROM \`${DB}\`.conversation WHERE conv_id IN (?, ?)`, [conv, p2p.convId]);
    await c.end();
    assert.deepEqual((rows as Array<{ conv_id: string }>).map((r) => r.conv_id), [p2p.convId], 'only the 1:1 conversation row exists');
  });

  it('moves more cursors than fit one statement in one transaction, clamped to last_seq', async () => {
    const s = await open();
    const a = 11_000_000 + Math.floor(Math.random() * 100_000) * 2_000;
    const n = 1_100; // three cursor statements
    await s.chats.appendBatch(Array.from({ length: n }, (_, i) => chat(a, a + 1 + i, `cur${i}`)));
    await s.chats.advanceAck(Array.from({ length: n }, (_, i) => ({ userId: a + 1 + i, convId: privateConvId(a, a + 1 + i), seq: 1 + (i % 2) })));
    for (const i of [0, 1, 499, 500, 501, 999, 1000, n - 1]) {
      const [cur] = await s.chats.cursors(a + 1 + i, [privateConvId(a, a + 1 + i)]);
      assert.deepEqual([cur.lastSeq, cur.ackSeq, cur.readSeq], [1, 1, 0], `cursor ${i}`);
    }
  });

  it('is what openStore({kind: "mysql"}) returns', async () => {
    const s = await openStore({ kind: 'mysql', url: db.url });
    db.track(s as MysqlStore);
    assert.equal(s.kind, 'mysql');
    await s.ping();
  });
});

describe('MysqlStore with the database down', () => {
  const isBackend = (e: unknown) => e instanceof BackendError && (e.code === 'STORE_UNAVAILABLE' || e.code === 'STORE_TIMEOUT');

  async function within(ms: number, p: Promise<unknown>): Promise<void> {
    const t0 = Date.now();
    await assert.rejects(p, isBackend);
    assert.ok(Date.now() - t0 < ms, `answered after ${Date.now() - t0} ms, expected under ${ms} ms`);
  }

  it('rejects with BackendError within 2.5 s when nothing listens (closed port)', async () => {
    const s = new MysqlStore({ url: 'mysql://root@127.0.0.1:1/hxim_down', applySchema: false });
    db.track(s);
    await within(2500, s.chats.appendBatch([chat(1, 2, 'down')]));
    await within(2500, s.ping());
    await within(2500, openMysqlStore({ url: 'mysql://root@127.0.0.1:1/hxim_down' }));
  });

  it('rejects with STORE_TIMEOUT within 2.5 s when the server accepts but never answers', async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((sock) => { sockets.push(sock); }); // a hung database
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const s = new MysqlStore({ url: `mysql://root@127.0.0.1:${port}/hxim_hung`, applySchema: false });
      db.track(s);
      const t0 = Date.now();
      await assert.rejects(s.chats.appendBatch([chat(1, 2, 'hung')]), (e: unknown) => e instanceof BackendError && e.code === 'STORE_TIMEOUT');
      assert.ok(Date.now() - t0 < 2500);
      await within(2500, s.chats.lagging(1));
    } finally {
      for (const sock of sockets) sock.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});
