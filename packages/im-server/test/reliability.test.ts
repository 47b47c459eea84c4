/**
 * The delivery contract on one instance (DESIGN.md): stored before ack, dedup by client id,
 * per-conversation seq, recipient acks, catch-up by seq, and persistence across a restart.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AckKind, MessageType, privateConvId } from '@hxim/im-common';
import { login, register, uname } from './helpers/modern';
import { startTestServer, tempDir } from './helpers/server';

test('a resend with the same client id gets the original ack and is stored once', async () => {
  const srv = await startTestServer();
  try {
    const [an, bn] = [uname('a'), uname('b')];
    const [aid, bid] = [await register(srv.port, an), await register(srv.port, bn)];
    const a = await login(srv.port, { userName: an, password: 'secret-pw' });
    const b = await login(srv.port, { userName: bn, password: 'secret-pw' });
    a.c.send(MessageType.CHAT, { id: 'same-id', receiveId: bid, msgBody: Buffer.from('once') });
    const ack1 = await a.c.next(MessageType.ACK, (m) => m.clientMsgId === 'same-id');
    a.c.send(MessageType.CHAT, { id: 'same-id', receiveId: bid, msgBody: Buffer.from('once') });
    const ack2 = await a.c.next(MessageType.ACK, (m) => m.clientMsgId === 'same-id');
    assert.equal(ack1.duplicate, false);
    assert.equal(ack2.duplicate, true);
    assert.deepEqual([ack2.serverMsgId, ack2.seq, ack2.convId], [ack1.serverMsgId, ack1.seq, privateConvId(aid, bid)]);
    const first = await b.c.next(MessageType.CHAT);
    // A resend may be pushed again (its first push may never have happened), but it is the
    // same stored message: same seq and server id, so the client library drops it.
    a.c.send(MessageType.HEARTBEAT, {});
    await a.c.next(MessageType.HEARTBEAT);
    await new Promise((r) => setTimeout(r, 50));
    for (const f of b.c.frames.filter((x) => x.type === MessageType.CHAT)) {
      const m = f.msg as typeof first;
      assert.deepEqual([m.seq, m.serverMsgId], [first.seq, first.serverMsgId]);
    }
    a.c.destroy();
    b.c.destroy();
  } finally {
    await srv.stop();
  }
});

test('offline messages arrive at login in seq order, paged, and acked ones are not resent; all survive a restart', async () => {
  const dataDir = tempDir();
  let srv = await startTestServer({ dataDir, syncPage: 7 });
  const [an, bn] = [uname('a'), uname('b')];
  await register(srv.port, an);
  const bid = await register(srv.port, bn);
  const a = await login(srv.port, { userName: an, password: 'secret-pw' });
  const N = 20;
  for (let i = 1; i <= N; i++) a.c.send(MessageType.CHAT, { id: `c${i}`, receiveId: bid, msgBody: Buffer.from(`m${i}`) });
  for (let i = 1; i <= N; i++) assert.equal((await a.c.next(MessageType.ACK, (m) => m.clientMsgId === `c${i}`)).seq, i);
  a.c.destroy();
  await srv.stop();

  // Everything acked survives a restart on the same data directory.
  srv = await startTestServer({ dataDir, syncPage: 7 });
  try {
    const b = await login(srv.port, { userName: bn, password: 'secret-pw' });
    const seqs = b.ack.messages.map((m) => m.seq);
    assert.deepEqual(seqs, [1, 2, 3, 4, 5, 6, 7]);
    assert.equal(b.ack.hasMore, true);
    const convId = b.ack.messages[0]!.convId;
    let last = 7;
    for (;;) {
      b.c.send(MessageType.SYNC, { requestId: `s${last}`, acked: [{ convId, seq: last }] });
      const page = await b.c.next(MessageType.SYNC_RESPONSE);
      for (const m of page.messages) assert.equal(m.seq, ++last);
      if (!page.hasMore) break;
    }
    assert.equal(last, N);
    // Ack everything delivered, then a new login gets nothing.
    b.c.send(MessageType.ACK, { kind: AckKind.DELIVERED, convId, seq: N });
    b.c.send(MessageType.HEARTBEAT, {});
    await b.c.next(MessageType.HEARTBEAT);
    await new Promise((r) => setTimeout(r, 50));
    b.c.destroy();
    const b2 = await login(srv.port, { userName: bn, password: 'secret-pw' });
    assert.deepEqual(b2.ack.messages, []);
    assert.equal(b2.ack.hasMore, false);
    // One conversation after a given seq (filling a gap).
    b2.c.send(MessageType.SYNC, { requestId: 'gap', convId, afterSeq: 17, limit: 2 });
    const gap = await b2.c.next(MessageType.SYNC_RESPONSE);
    assert.deepEqual(gap.messages.map((m) => m.seq), [18, 19]);
    assert.equal(gap.hasMore, true);
    b2.c.send(MessageType.SYNC, { requestId: 'big', convId, afterSeq: 0, limit: 100_000 });
    assert.equal((await b2.c.next(MessageType.ERROR)).code, 'PAGE_TOO_LARGE');
    b2.c.send(MessageType.SYNC, { requestId: 'other', convId: 'p:999998:999999', afterSeq: 0 });
    assert.equal((await b2.c.next(MessageType.ERROR)).code, 'NOT_A_MEMBER');
    b2.c.destroy();
  } finally {
    await srv.stop();
  }
});

test('client-reported lastSeqs at login skip what the client already has', async () => {
  const srv = await startTestServer();
  try {
    const [an, bn] = [uname('a'), uname('b')];
    const aid = await register(srv.port, an);
    const bid = await register(srv.port, bn);
    const a = await login(srv.port, { userName: an, password: 'secret-pw' });
    for (let i = 1; i <= 5; i++) a.c.send(MessageType.CHAT, { id: `k${i}`, receiveId: bid, msgBody: Buffer.from('x') });
    await a.c.next(MessageType.ACK, (m) => m.seq === 5);
    const b = await login(srv.port, { userName: bn, password: 'secret-pw' }, { lastSeqs: [{ convId: privateConvId(aid, bid), seq: 3 }] });
    assert.deepEqual(b.ack.messages.map((m) => m.seq), [4, 5]);
    a.c.destroy();
    b.c.destroy();
  } finally {
    await srv.stop();
  }
});
