/**
 * Accounts and sessions in the default "password" auth mode.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageType } from '@hxim/im-common';
import type { ImServer } from '../src';
import { RawClient } from './helpers/raw-client';
import { login, register, uname } from './helpers/modern';
import { startTestServer } from './helpers/server';

let srv: ImServer;
before(async () => { srv = await startTestServer(); });
after(async () => { await srv.stop(); });

test('register, password login returns a token, token re-login is accepted', async () => {
  const name = uname('alice');
  const id = await register(srv.port, name);
  assert.ok(id > 0);
  const { c, ack } = await login(srv.port, { userName: name, password: 'secret-pw' });
  assert.equal(ack.userId, id);
  assert.ok(ack.token.length >= 32);
  assert.equal(ack.heartbeatMs, 5000);
  c.destroy();
  const again = await login(srv.port, { token: ack.token });
  assert.equal(again.ack.userId, id);
  again.c.destroy();
});

test('duplicate user name, bad password and bad token are refused with their codes', async () => {
  const name = uname('bob');
  await register(srv.port, name);
  const c = await RawClient.connect(srv.port);
  c.send(MessageType.REGISTER, { requestId: 'dup', userName: name, password: 'whatever1' });
  assert.equal((await c.next(MessageType.ERROR)).code, 'USER_EXISTS');
  c.send(MessageType.REGISTER, { requestId: 'short', userName: uname('carol'), password: 'x' });
  assert.equal((await c.next(MessageType.ERROR)).code, 'BAD_PASSWORD');
  c.destroy();

  for (const [cred, code] of [[{ userName: name, password: 'wrong-pw' }, 'BAD_CREDENTIALS'], [{ token: 'nope' }, 'BAD_TOKEN'],
    [{ userId: 5 }, 'AUTH_REQUIRED']] as const) {
    const x = await RawClient.connect(srv.port);
    x.send(MessageType.ONLINE, { protocolVersion: 1, ...cred });
    const err = await x.next(MessageType.ERROR);
    assert.equal(err.code, code);
    assert.equal(err.fatal, true);
    await x.waitClosed();
  }
});

test('before login only login, heartbeat and register are accepted', async () => {
  const c = await RawClient.connect(srv.port);
  c.send(MessageType.HEARTBEAT, { id: 'pre' });
  await c.next(MessageType.HEARTBEAT);
  c.send(MessageType.CHAT, { id: 'early', receiveId: 1, msgBody: Buffer.from('x') });
  const err = await c.next(MessageType.ERROR);
  assert.equal(err.code, 'NOT_LOGGED_IN');
  assert.equal(err.requestId, 'early');
  c.destroy();
});

test('a second login on the same platform replaces the first; another platform coexists', async () => {
  const name = uname('dave');
  await register(srv.port, name);
  const first = await login(srv.port, { userName: name, password: 'secret-pw' }, { platform: 1 });
  const other = await login(srv.port, { token: first.ack.token }, { platform: 2 });
  const second = await login(srv.port, { token: first.ack.token }, { platform: 1 });
  const kicked = await first.c.next(MessageType.ERROR);
  assert.equal(kicked.code, 'SESSION_REPLACED');
  await first.c.waitClosed();
  // The old connection's close must not remove the new session: a message still arrives.
  const peerName = uname('erin');
  await register(srv.port, peerName);
  const peer = await login(srv.port, { userName: peerName, password: 'secret-pw' });
  peer.c.send(MessageType.CHAT, { id: 'to-dave', receiveId: first.ack.userId, msgBody: Buffer.from('hello') });
  for (const c of [second.c, other.c]) {
    const m = await c.next(MessageType.CHAT);
    assert.equal(Buffer.from(m.msgBody).toString(), 'hello');
  }
  for (const c of [second.c, other.c, peer.c]) c.destroy();
});

test('identity is the connection: spoofed sender, unknown recipient and oversize body are refused', async () => {
  const name = uname('frank');
  await register(srv.port, name);
  const { c, ack } = await login(srv.port, { userName: name, password: 'secret-pw' });
  c.send(MessageType.CHAT, { id: 's1', userId: ack.userId + 1, receiveId: ack.userId + 2, msgBody: Buffer.from('x') });
  assert.equal((await c.next(MessageType.ERROR, (e) => e.requestId === 's1')).code, 'FORBIDDEN_SENDER');
  c.send(MessageType.CHAT, { id: 's2', receiveId: 987654321, msgBody: Buffer.from('x') });
  assert.equal((await c.next(MessageType.ERROR, (e) => e.requestId === 's2')).code, 'UNKNOWN_USER');
  c.send(MessageType.CHAT, { id: 's3', receiveId: ack.userId + 1, msgBody: Buffer.alloc(20_000) });
  assert.equal((await c.next(MessageType.ERROR, (e) => e.requestId === 's3')).code, 'BODY_TOO_LARGE');
  c.send(MessageType.HEARTBEAT, {});
  await c.next(MessageType.HEARTBEAT);
  c.destroy();
});

test('a seed client refused at login gets a seed-readable notice (never a type above 5)', async () => {
  const c = await RawClient.connect(srv.port);
  c.seedLogin(1001);
  const notice = await c.next(MessageType.BUSINESS);
  assert.match(notice.msgBody, /^AUTH_REQUIRED:/);
  await c.waitClosed();
  assert.deepEqual(c.types().filter((t) => t > 5), []);
});
