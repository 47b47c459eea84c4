/**
 * Database down (issue 7, delivery contract 4): with the MySQL store behind a TCP proxy that
 * the test cuts (the shared MariaDB keeps running), a send gets an explicit STORE_UNAVAILABLE
 * or STORE_TIMEOUT error within 2 s and is never acked (nor stored, nor delivered); /healthz
 * reports the store down; once the database is back, writes resume and a resend of the failed
 * chat is stored exactly once.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as mysql from 'mysql2/promise';
import { MessageType } from '@hxim/im-common';
import type { ImServer } from '../src';
import { adminGet } from './helpers/admin';
import { login } from './helpers/modern';
import { startTestServer } from './helpers/server';
import { TcpProxy, type ProxyMode } from './helpers/tcp-proxy';

const DB = `hxim_fault_${process.pid}`;
let proxy: TcpProxy;
let srv: ImServer;
let direct: mysql.Connection;

before(async () => {
  direct = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root' }).catch((err: unknown) => {
    throw new Error(`MariaDB must run on 127.0.0.1:3306 (scripts/services.sh mariadb): ${String(err)}`);
  });
  proxy = await TcpProxy.start({ host: '127.0.0.1', port: 3306 });
  srv = await startTestServer({ store: 'mysql', mysqlUrl: `mysql://root@127.0.0.1:${proxy.port}/${DB}`, auth: 'open', adminPort: 0 });
});

after(async () => {
  await srv.stop();
  await proxy.close();
  await direct.query(`DROP DATABASE IF EXISTS ${DB}`);
  await direct.end();
});

async function storedCount(senderId: number, clientMsgId: string): Promise<number> {
  const [rows] = await direct.query(`SELECT COUNT(*) AS n FROM ${DB}.chat_message WHERE sender_id = ? AND client_msg_id = ?`, [senderId, clientMsgId]);
  return Number((rows as Array<{ n: number }>)[0]!.n);
}

for (const [mode, a, b] of [['refuse', 61001, 61002], ['blackhole', 62001, 62002]] as Array<[ProxyMode, number, number]>) {
  test(`database ${mode === 'refuse' ? 'down (connections refused)' : 'hung (black hole)'}: an explicit error within 2 s, never an ack; writes resume`, async () => {
    const sender = await login(srv.port, { userId: a });
    const recipient = await login(srv.port, { userId: b });
    const hb = setInterval(() => { sender.c.send(MessageType.HEARTBEAT, {}); recipient.c.send(MessageType.HEARTBEAT, {}); }, 1000);
    try {
      sender.c.send(MessageType.CHAT, { id: 'before', receiveId: b, msgBody: Buffer.from('before') });
      await sender.c.next(MessageType.ACK, (m) => m.clientMsgId === 'before');
      await recipient.c.next(MessageType.CHAT, (m) => m.id === 'before');

      proxy.set(mode);
      const t0 = Date.now();
      sender.c.send(MessageType.CHAT, { id: 'during', receiveId: b, msgBody: Buffer.from('during') });
      const err = await sender.c.next(MessageType.ERROR, (m) => m.requestId === 'during', 3000);
      const took = Date.now() - t0;
      assert.ok(['STORE_UNAVAILABLE', 'STORE_TIMEOUT'].includes(err.code), err.code);
      assert.equal(err.fatal, false, 'the connection stays up');
      assert.ok(took <= 2050, `error after ${took} ms`);
      const health = await adminGet(srv.adminPort, '/healthz');
      assert.equal(health.status, 503);
      assert.equal(JSON.parse(health.body).backends.store.status, 'down');
      await new Promise((r) => setTimeout(r, 1000));
      assert.equal(sender.c.frames.some((f) => f.type === MessageType.ACK), false, 'never acked');
      assert.equal(recipient.c.frames.some((f) => f.type === MessageType.CHAT), false, 'never delivered');

      proxy.set('pass');
      // Writes resume: retry a fresh chat until it is acked (the pool reconnects).
      const back = Date.now();
      for (let i = 0; ; i++) {
        sender.c.send(MessageType.CHAT, { id: `after-${i}`, receiveId: b, msgBody: Buffer.from('after') });
        const r = await Promise.race([
          sender.c.next(MessageType.ACK, (m) => m.clientMsgId === `after-${i}`, 2500).then(() => 'ack'),
          sender.c.next(MessageType.ERROR, (m) => m.requestId === `after-${i}`, 2500).then(() => 'error'),
        ]);
        if (r === 'ack') break;
        assert.ok(Date.now() - back < 10_000, 'writes did not resume within 10 s');
        await new Promise((res) => setTimeout(res, 200));
      }
      assert.equal(await storedCount(a, 'during'), 0, 'the failed chat was not stored');
      sender.c.send(MessageType.CHAT, { id: 'during', receiveId: b, msgBody: Buffer.from('during') });
      const ack = await sender.c.next(MessageType.ACK, (m) => m.clientMsgId === 'during');
      assert.equal(ack.duplicate, false);
      await recipient.c.next(MessageType.CHAT, (m) => m.id === 'during');
      assert.equal(await storedCount(a, 'during'), 1);
      assert.equal((await adminGet(srv.adminPort, '/healthz')).status, 200);
    } finally {
      clearInterval(hb);
      proxy.set('pass');
      sender.c.destroy();
      recipient.c.destroy();
    }
  });
}
