/**
 * `--auth open` seed mode: the seed's own frames (seed.md §1.4) are enough to log in, chat,
 * heartbeat and log out, and a seed client only ever receives frame types 1-5.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { AckKind, MessageType, OnlineKind } from '@hxim/im-common';
import type { ImServer } from '../src';
import { RawClient } from './helpers/raw-client';
import { startTestServer } from './helpers/server';

let srv: ImServer;
before(async () => { srv = await startTestServer({ auth: 'open' }); });
after(async () => { await srv.stop(); });

/** The golden login frame of seed.md §1.5, user 1001. */
const GOLDEN_LOGIN_1001 = Buffer.from('00000017000000040a0b746573742d6f6e6c696e6510e90730c8e5fa91bb30', 'hex');

test('golden seed login + heartbeat echo + chat both ways + logout', async () => {
  const a = await RawClient.connect(srv.port);
  const b = await RawClient.connect(srv.port);
  a.sendRaw(GOLDEN_LOGIN_1001);
  b.seedLogin(1002);
  // Heartbeats are answered with a heartbeat (seed clients close after 10 s of silence).
  a.send(MessageType.HEARTBEAT, { id: 'test', userId: 1001, timeStamp: 1 });
  const hb = await a.next(MessageType.HEARTBEAT);
  assert.equal(hb.id, 'test');
  assert.equal(hb.userId, 1001);

  a.send(MessageType.CHAT, { id: 'test-chat', userId: 1001, receiveId: 1002, timeStamp: 1665142797000, msgBody: Buffer.from('hi 你好') });
  const got = await b.next(MessageType.CHAT);
  assert.equal(Buffer.from(got.msgBody).toString(), 'hi 你好');
  assert.equal(got.userId, 1001);
  assert.equal(got.receiveId, 1002);
  assert.equal(got.seq, 1);
  assert.equal(got.convId, 'p:1001:1002');
  const ack = await a.next(MessageType.ACK);
  assert.equal(ack.kind, AckKind.STORED);
  assert.equal(ack.seq, 1);
  assert.equal(ack.clientMsgId, 'test-chat');

  // The seed's constant id "test-chat" with a new timestamp is a new message, not a resend.
  b.send(MessageType.CHAT, { id: 'test-chat', userId: 1002, receiveId: 1001, timeStamp: 1665142797001, msgBody: Buffer.from('back') });
  b.send(MessageType.CHAT, { id: 'test-chat', userId: 1002, receiveId: 1001, timeStamp: 1665142797002, msgBody: Buffer.from('again') });
  const r1 = await a.next(MessageType.CHAT);
  const r2 = await a.next(MessageType.CHAT);
  assert.deepEqual([Buffer.from(r1.msgBody).toString(), r1.seq], ['back', 2]);
  assert.deepEqual([Buffer.from(r2.msgBody).toString(), r2.seq], ['again', 3]);

  // The seed's automatic peer ack is relayed to the original sender.
  b.send(MessageType.ACK, { id: 'ack', userId: 1002, receiveId: 1001 });
  const peer = await a.next(MessageType.ACK, (m) => m.kind === AckKind.PEER);
  assert.equal(peer.userId, 1002);

  a.send(MessageType.ONLINE, { id: 'test-offline', userId: 1001, msgType: OnlineKind.OFFLINE, timeStamp: 1 });
  await a.waitClosed();
  for (const c of [a, b]) for (const t of c.types()) assert.ok(t <= 5, `seed client received type ${t}`);
  b.destroy();
});

test('a chat to a user who never logged in is delivered at first login, in order', async () => {
  const a = await RawClient.connect(srv.port);
  a.seedLogin(2001);
  for (let i = 1; i <= 5; i++) {
    a.send(MessageType.CHAT, { id: `m${i}`, userId: 2001, receiveId: 2002, timeStamp: i, msgBody: Buffer.from(`n${i}`) });
  }
  for (let i = 1; i <= 5; i++) await a.next(MessageType.ACK, (m) => m.seq === i);
  const b = await RawClient.connect(srv.port);
  b.seedLogin(2002);
  for (let i = 1; i <= 5; i++) {
    const m = await b.next(MessageType.CHAT);
    assert.equal(m.seq, i);
    assert.equal(Buffer.from(m.msgBody).toString(), `n${i}`);
  }
  // Written to a seed client counts as delivered: a second login gets nothing again.
  b.destroy();
  await new Promise((r) => setTimeout(r, 100));
  const b2 = await RawClient.connect(srv.port);
  b2.seedLogin(2002);
  b2.send(MessageType.HEARTBEAT, { id: 'probe' });
  await b2.next(MessageType.HEARTBEAT);
  assert.deepEqual(b2.types().filter((t) => t === MessageType.CHAT), []);
  a.destroy();
  b2.destroy();
});

test('a frame claiming another sender is refused with a seed-readable notice', async () => {
  const a = await RawClient.connect(srv.port);
  a.seedLogin(3001);
  a.send(MessageType.CHAT, { id: 'x', userId: 9999, receiveId: 3002, msgBody: Buffer.from('spoof') });
  const notice = await a.next(MessageType.BUSINESS);
  assert.match(notice.msgBody, /^FORBIDDEN_SENDER:/);
  assert.equal(notice.businessType, 931);
  // The connection stays usable.
  a.send(MessageType.HEARTBEAT, { id: 'still' });
  await a.next(MessageType.HEARTBEAT);
  a.destroy();
});
