/**
 * Bad input gets a typed error frame and only the offending connection is closed
 * (seed.md §1.6 and §9.8: the seed buffered without limit and never closed).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageType } from '@hxim/im-common';
import type { ImServer } from '../src';
import { RawClient } from './helpers/raw-client';
import { startTestServer } from './helpers/server';

let srv: ImServer;
before(async () => { srv = await startTestServer({ auth: 'open', loginTimeoutMs: 500, idleTimeoutMs: 800, heartbeatMs: 300 }); });
after(async () => { await srv.stop(); });

function header(len: number, type: number): Buffer {
  const h = Buffer.alloc(8);
  h.writeInt32BE(len, 0);
  h.writeInt32BE(type, 4);
  return h;
}

const CASES: Array<[string, Buffer, string]> = [
  ['huge length, header only', header(0x7fffffff, 2), 'FRAME_TOO_LARGE'],
  ['max + 1', header(64 * 1024 + 1, 2), 'FRAME_TOO_LARGE'],
  ['negative length', header(-1, 2), 'NEGATIVE_LENGTH'],
  ['unknown type', header(0, 77), 'UNKNOWN_TYPE'],
  ['undecodable body', Buffer.concat([header(3, 2), Buffer.from([0x0a, 0xff, 0xff])]), 'BAD_BODY'],
  ['server-only type', header(0, MessageType.LOGIN_ACK), 'BAD_REQUEST'],
];

for (const [name, bytes, code] of CASES) {
  test(`${name} → ${code}, only that connection closes`, async () => {
    const good = await RawClient.connect(srv.port);
    good.seedLogin(4242);
    const bad = await RawClient.connect(srv.port);
    bad.sendRaw(bytes);
    const err = await bad.next(MessageType.ERROR);
    assert.equal(err.code, code);
    if (code !== 'BAD_REQUEST') {
      assert.equal(err.fatal, true);
      await bad.waitClosed(1000);
    }
    good.send(MessageType.HEARTBEAT, { id: 'alive' });
    assert.equal((await good.next(MessageType.HEARTBEAT)).id, 'alive');
    bad.destroy();
    good.destroy();
  });
}

test('random bytes close the connection with an error frame', async () => {
  const bad = await RawClient.connect(srv.port);
  bad.sendRaw(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
  const err = await bad.next(MessageType.ERROR);
  assert.ok(['FRAME_TOO_LARGE', 'UNKNOWN_TYPE', 'NEGATIVE_LENGTH'].includes(err.code), err.code);
  await bad.waitClosed(1000);
});

test('a connection that never logs in is closed at the login deadline', async () => {
  const c = await RawClient.connect(srv.port);
  const err = await c.next(MessageType.ERROR, () => true, 3000);
  assert.equal(err.code, 'LOGIN_TIMEOUT');
  await c.waitClosed(1000);
});

test('a silent logged-in connection is closed at the idle timeout; heartbeats keep it open', async () => {
  const quiet = await RawClient.connect(srv.port);
  quiet.seedLogin(5151);
  const chatty = await RawClient.connect(srv.port);
  chatty.seedLogin(5152);
  const hb = setInterval(() => chatty.send(MessageType.HEARTBEAT, {}), 200);
  try {
    await quiet.waitClosed(3000);
    assert.equal(chatty.closed, false);
  } finally {
    clearInterval(hb);
    chatty.destroy();
  }
});
