/**
 * Slow readers (issue 7; DESIGN.md "Slow consumers are evicted"): a client that stops reading
 * while a peer floods it is closed once its unsent output passes maxOutboundBytes (default
 * 1 MiB) or has not drained for drainTimeoutMs; the server's memory for it stays bounded, and
 * the flooding peer (and everyone else) is unaffected.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageType } from '@hxim/im-common';
import type { ImServer, ServerOptions } from '../src';
import { DEFAULT_MAX_OUTBOUND_BYTES } from '../src/config';
import { RawClient } from './helpers/raw-client';
import { login } from './helpers/modern';
import { startTestServer } from './helpers/server';

const BODY = Buffer.alloc(8 * 1024, 0x61);

/**
 * Floods `reader` (who stopped reading) from `flooder`, with every tenth chat going to `bystander`
 * instead, until the server evicts the reader. Returns the largest unsent output seen on any
 * connection, the number of chats sent to each, and whether every chat was acked.
 */
async function flood(srv: ImServer, flooder: RawClient, readerId: number, bystanderId: number) {
  let maxOutbound = 0;
  const sample = setInterval(() => {
    for (const c of srv.connections) maxOutbound = Math.max(maxOutbound, c.outboundBytes);
  }, 2);
  let sent = 0, acked = 0, toBystander = 0;
  const errors: string[] = [];
  try {
    while (!srv.stats.errors.get('SLOW_CONSUMER') && sent < 8000) {
      const batch = [];
      for (let k = 0; k < 50; k++, sent++) {
        const to = sent % 10 === 9 ? bystanderId : readerId;
        if (to === bystanderId) toBystander++;
        const id = `f${sent}`;
        flooder.send(MessageType.CHAT, { id, receiveId: to, msgBody: BODY });
        batch.push(flooder.next(MessageType.ACK, (m) => m.clientMsgId === id, 10_000).then(() => { acked++; }));
      }
      const err = flooder.frames.find((f) => f.type === MessageType.ERROR);
      if (err) errors.push(JSON.stringify(err.msg));
      await Promise.all(batch);
    }
  } finally {
    clearInterval(sample);
  }
  return { maxOutbound, sent, acked, toBystander, errors };
}

async function scenario(over: Partial<ServerOptions>, limit: number): Promise<void> {
  const srv = await startTestServer({ auth: 'open', ...over });
  try {
    const reader = (await login(srv.port, { userId: 8001 })).c;
    const flooder = (await login(srv.port, { userId: 8002 })).c;
    const bystander = (await login(srv.port, { userId: 8003 })).c;
    reader.socket.pause(); // stops reading: the kernel buffers fill, then the server's
    const r = await flood(srv, flooder, 8001, 8003);
    assert.equal(srv.stats.errors.get('SLOW_CONSUMER'), 1, `not evicted after ${r.sent} chats`);
    assert.deepEqual(r.errors, [], 'the flooder got no errors');
    assert.equal(r.acked, r.sent, 'every chat of the flooder was acked');
    assert.ok(r.maxOutbound <= limit + 16 * 1024, `unsent output reached ${r.maxOutbound} bytes (limit ${limit})`);
    for (let i = 0; i < 100 && srv.sessions.get(8001).length > 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(srv.sessions.get(8001).length, 0, 'the slow reader is gone');
    // The bystander got every chat meant for it; the flooder still gets answers at once.
    for (let i = 9; i < r.sent; i += 10) await bystander.next(MessageType.CHAT, (m) => m.id === `f${i}`, 5000);
    const h0 = Date.now();
    flooder.send(MessageType.HEARTBEAT, { id: 'after' });
    await flooder.next(MessageType.HEARTBEAT, (m) => m.id === 'after');
    assert.ok(Date.now() - h0 < 500, 'the flooder is served promptly');
    // The reader, reading again, finds its connection closed.
    reader.socket.resume();
    await reader.waitClosed(5000);
    // Nothing was lost for the reader: it catches up by seq on its next login.
    const again = await login(srv.port, { userId: 8001 });
    assert.ok(again.ack.messages.length > 0 || again.ack.hasMore, 'missed chats are offered at the next login');
    for (const c of [again.c, flooder, bystander]) c.destroy();
  } finally {
    await srv.stop();
  }
}

test('a reader that stops reading is closed past maxOutboundBytes (default 1 MiB); the flooder is unaffected', async () => {
  await scenario({}, DEFAULT_MAX_OUTBOUND_BYTES);
});

test('a reader whose output has not drained for drainTimeoutMs is closed, even under a large buffer limit', async () => {
  const limit = 256 * 1024 * 1024;
  await scenario({ drainTimeoutMs: 400, maxOutboundBytes: limit }, limit);
});

test('a large offline backlog is replayed in byte-bounded pages, never tripping the slow-consumer limit', async () => {
  const srv = await startTestServer({ auth: 'open', maxOutboundBytes: 256 * 1024 });
  try {
    const sender = (await login(srv.port, { userId: 8101 })).c;
    const N = 300; // 300 x 8 KiB = 2.4 MB, ten times the outbound limit
    for (let i = 0; i < N; i++) sender.send(MessageType.CHAT, { id: `o${i}`, receiveId: 8102, msgBody: BODY });
    await sender.next(MessageType.ACK, (m) => m.clientMsgId === `o${N - 1}`, 10_000);
    // A modern client: LoginAck carries a page that fits, and says there is more.
    const modern = await login(srv.port, { userId: 8102 });
    assert.ok(modern.ack.messages.length < N && modern.ack.hasMore, `page of ${modern.ack.messages.length}`);
    modern.c.destroy();
    // A seed client (no paging in its protocol): everything is pushed, paced by the socket.
    const seed = await RawClient.connect(srv.port);
    seed.seedLogin(8102);
    for (let i = 0; i < N; i++) await seed.next(MessageType.CHAT, (m) => m.id === `o${i}`, 10_000);
    assert.equal(srv.stats.errors.get('SLOW_CONSUMER') ?? 0, 0);
    seed.destroy();
    sender.destroy();
  } finally {
    await srv.stop();
  }
});
