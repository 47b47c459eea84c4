/**
 * The functional flows over TLS (--tls-cert/--tls-key): every helper of this file connects with
 * TLS (HXIM_TEST_TLS=1 is set below, see helpers/tls.ts), so login, chat, acks, offline
 * delivery and error frames run through tls.createServer with the same connection handling.
 * Also: the im-client library and its CLI (--ca) work against the server, and a plain-TCP
 * client on the TLS port is refused without harm. (Any other test file runs over TLS with
 * HXIM_TEST_TLS=1 in the environment.)
 */
process.env.HXIM_TEST_TLS = '1';

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { ImClient } from '@hxim/im-client';
import { encodeFrame, MessageType, privateConvId, type ChatMessage } from '@hxim/im-common';
import type { ImServer } from '../src';
import { login, register, uname } from './helpers/modern';
import { RawClient } from './helpers/raw-client';
import { startTestServer } from './helpers/server';
import { testCa, TEST_TLS } from './helpers/tls';

let srv: ImServer;
before(async () => { srv = await startTestServer({ maxFrameBytes: 4096, maxBodyBytes: 1024 }); });
after(async () => { await srv.stop(); });

test('the server listens with TLS', () => {
  assert.equal(srv.tls, true);
});

test('register, login, chat both ways with acks, over TLS', async () => {
  const [an, bn] = [uname('ta'), uname('tb')];
  const aid = await register(srv.port, an);
  const bid = await register(srv.port, bn);
  const a = await login(srv.port, { userName: an, password: 'secret-pw' });
  const b = await login(srv.port, { userName: bn, password: 'secret-pw' });
  assert.equal(a.ack.userId, aid);
  a.c.send(MessageType.CHAT, { id: 'a1', receiveId: bid, msgBody: Buffer.from('hello over tls') });
  const ack = await a.c.next(MessageType.ACK, (m) => m.clientMsgId === 'a1');
  assert.deepEqual([ack.seq, ack.convId], [1, privateConvId(aid, bid)]);
  const got = await b.c.next(MessageType.CHAT);
  assert.deepEqual([got.userId, Buffer.from(got.msgBody).toString()], [aid, 'hello over tls']);
  b.c.send(MessageType.CHAT, { id: 'b1', receiveId: aid, msgBody: Buffer.from('and back') });
  assert.equal((await a.c.next(MessageType.CHAT)).seq, 2);
  a.c.destroy();
  b.c.destroy();
});

test('offline messages arrive at the next login, over TLS', async () => {
  const [an, bn] = [uname('ta'), uname('tb')];
  await register(srv.port, an);
  const bid = await register(srv.port, bn);
  const a = await login(srv.port, { userName: an, password: 'secret-pw' });
  for (let i = 1; i <= 5; i++) a.c.send(MessageType.CHAT, { id: `o${i}`, receiveId: bid, msgBody: Buffer.from(`m${i}`) });
  await a.c.next(MessageType.ACK, (m) => m.clientMsgId === 'o5');
  const b = await login(srv.port, { userName: bn, password: 'secret-pw' });
  assert.deepEqual(b.ack.messages.map((m) => Buffer.from(m.msgBody).toString()), ['m1', 'm2', 'm3', 'm4', 'm5']);
  // Token login works too.
  b.c.destroy();
  const again = await login(srv.port, { token: b.ack.token });
  assert.equal(again.ack.userId, bid);
  again.c.destroy();
  a.c.destroy();
});

test('error frames over TLS: a request error keeps the connection, a framing error closes it', async () => {
  const un = uname('te');
  await register(srv.port, un);
  const a = await login(srv.port, { userName: un, password: 'secret-pw' });
  a.c.send(MessageType.CHAT, { id: 'big', receiveId: 999_999, msgBody: Buffer.alloc(2000) });
  const tooBig = await a.c.next(MessageType.ERROR);
  assert.deepEqual([tooBig.code, tooBig.fatal, tooBig.requestId], ['BODY_TOO_LARGE', false, 'big']);
  a.c.send(MessageType.HEARTBEAT, { id: 'alive' });
  await a.c.next(MessageType.HEARTBEAT, (m) => m.id === 'alive');
  const h = Buffer.alloc(8);
  h.writeInt32BE(5000, 0);
  h.writeInt32BE(MessageType.CHAT, 4);
  a.c.sendRaw(h);
  const fatal = await a.c.next(MessageType.ERROR);
  assert.deepEqual([fatal.code, fatal.fatal], ['FRAME_TOO_LARGE', true]);
  await a.c.waitClosed(1000);
  const early = await RawClient.connect(srv.port);
  early.sendRaw(encodeFrame(MessageType.CHAT, { id: 'x', receiveId: 1 }));
  assert.equal((await early.next(MessageType.ERROR)).code, 'NOT_LOGGED_IN');
  early.destroy();
});

test('a plain-TCP client on the TLS port is dropped at the handshake; the server carries on', async () => {
  const before = srv.stats.tlsErrors;
  const plain = net.connect({ port: srv.port, host: '127.0.0.1' });
  plain.on('error', () => undefined);
  plain.on('connect', () => plain.write(encodeFrame(MessageType.ONLINE, { id: 'x', userId: 1 })));
  await new Promise((r) => plain.on('close', r));
  assert.ok(srv.stats.tlsErrors > before);
  const ok = await RawClient.connect(srv.port);
  ok.send(MessageType.HEARTBEAT, { id: 'fine' });
  await ok.next(MessageType.HEARTBEAT);
  ok.destroy();
});

test('the im-client library connects with tls: { ca }', async () => {
  const servers = [{ host: '127.0.0.1', port: srv.port }];
  const tls = { ca: testCa() };
  const [an, bn] = [uname('la'), uname('lb')];
  await ImClient.register(servers[0]!, an, 'secret-pw', { tls });
  const bid = (await ImClient.register(servers[0]!, bn, 'secret-pw', { tls })).userId;
  const ca = new ImClient({ servers, auth: { userName: an, password: 'secret-pw' }, tls });
  const cb = new ImClient({ servers, auth: { userName: bn, password: 'secret-pw' }, tls });
  const got = new Promise<ChatMessage>((resolve) => cb.on('message', resolve));
  await ca.connect();
  await cb.connect();
  const ack = await ca.send(bid, 'via the library');
  assert.ok(ack.seq >= 1);
  assert.equal(Buffer.from((await got).msgBody).toString(), 'via the library');
  ca.close();
  cb.close();
  // Without the CA the certificate is not trusted: the connection fails, it is not downgraded.
  await assert.rejects(ImClient.register(servers[0]!, uname('lc'), 'secret-pw', { tls: true }));
});

/** Runs the im-client CLI; resolves with its exit code and output. */
function imClient(args: string[], input = ''): Promise<{ code: number | null; out: string }> {
  const cli = path.resolve(__dirname, '..', '..', '..', 'im-client', 'dist', 'src', 'cli.js');
  assert.ok(fs.existsSync(cli), `${cli} (build im-client first)`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { env: { ...process.env, HXIM_PASSWORD: 'secret-pw' } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    child.stdin.end(input);
    const t = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('exit', (code) => { clearTimeout(t); resolve({ code, out }); });
  });
}

test('the im-client CLI registers and chats with --ca against the TLS server', async () => {
  const server = `127.0.0.1:${srv.port}`;
  const [an, bn] = [uname('ca'), uname('cb')];
  const reg = await imClient(['register', '--server', server, '--user', an, '--ca', TEST_TLS.ca]);
  assert.equal(reg.code, 0, reg.out);
  const bid = await register(srv.port, bn);
  const b = await login(srv.port, { userName: bn, password: 'secret-pw' });
  const chat = await imClient(['chat', '--server', server, '--user', an, '--ca', TEST_TLS.ca], `@${bid} typed in the CLI\n`);
  assert.equal(chat.code, 0, chat.out);
  assert.equal(Buffer.from((await b.c.next(MessageType.CHAT)).msgBody).toString(), 'typed in the CLI');
  b.c.destroy();
  const untrusted = await imClient(['register', '--server', server, '--user', uname('cc'), '--tls']);
  assert.notEqual(untrusted.code, 0, 'the system CAs do not trust the test certificate');
});
