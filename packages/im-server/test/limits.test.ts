/**
 * Every configurable limit of issue 7 against a real server: the frame size at the header
 * (0, 1, -1, 2^31-1, max, max+1), the partial-frame deadline, the login deadline, the
 * connection cap (SERVER_FULL), the connection rate, the frame rate per connection (pause,
 * then RATE_LIMITED) and the failed-login throttle. Runs over TLS too (HXIM_TEST_TLS=1).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AckKind, encodeFrame, MessageType } from '@hxim/im-common';
import type { ImServer, ServerOptions } from '../src';
import { RawClient } from './helpers/raw-client';
import { startTestServer } from './helpers/server';
import { login, register, uname } from './helpers/modern';

function header(len: number, type: number): Buffer {
  const h = Buffer.alloc(8);
  h.writeInt32BE(len | 0, 0);
  h.writeInt32BE(type, 4);
  return h;
}

async function withServer(over: Partial<ServerOptions>, fn: (srv: ImServer) => Promise<void>): Promise<void> {
  const srv = await startTestServer(over);
  try {
    await fn(srv);
  } finally {
    await srv.stop();
  }
}

/** Waits for the server to close `c`; returns how long it took from `since`. */
async function closedAfter(c: RawClient, since: number, ms = 3000): Promise<number> {
  await c.waitClosed(ms);
  return Date.now() - since;
}

test('frame size is checked at the header: 0 and max pass; 1 (bad body), -1, max+1 and 2^31-1 close within 1 s', async () => {
  const max = 1024;
  await withServer({ auth: 'open', maxFrameBytes: max, maxBodyBytes: 512 }, async (srv) => {
    // Length 0: a heartbeat with every field at its default, answered.
    const zero = await RawClient.connect(srv.port);
    zero.sendRaw(header(0, MessageType.HEARTBEAT));
    await zero.next(MessageType.HEARTBEAT);
    // Exactly max: a heartbeat whose body is max bytes (id field: tag, 2-byte varint length, string).
    const exact = await RawClient.connect(srv.port);
    const frame = encodeFrame(MessageType.HEARTBEAT, { id: 'x'.repeat(max - 3) });
    assert.equal(frame.length - 8, max);
    exact.sendRaw(frame);
    assert.equal((await exact.next(MessageType.HEARTBEAT)).id.length, max - 3);
    for (const [name, bytes, code] of [
      ['length 1 (an invalid body byte)', Buffer.concat([header(1, MessageType.HEARTBEAT), Buffer.from([0x00])]), 'BAD_BODY'],
      ['length -1', header(-1, MessageType.CHAT), 'NEGATIVE_LENGTH'],
      ['length max+1', header(max + 1, MessageType.CHAT), 'FRAME_TOO_LARGE'],
      ['length 2^31-1', header(0x7fffffff, MessageType.CHAT), 'FRAME_TOO_LARGE'],
    ] as const) {
      const c = await RawClient.connect(srv.port);
      const t0 = Date.now();
      c.sendRaw(bytes);
      const err = await c.next(MessageType.ERROR);
      assert.deepEqual([err.code, err.fatal], [code, true], name);
      assert.ok(await closedAfter(c, t0) < 1000, `${name}: closed within 1 s`);
    }
    // Nothing of the huge frames was buffered.
    assert.ok([...srv.connections].every((c) => c.partialBytes < max), 'no connection buffers more than a frame');
    zero.destroy();
    exact.destroy();
  });
});

test('a partial frame must complete in time, even if it trickles in byte by byte', async () => {
  await withServer({ auth: 'open', partialFrameTimeoutMs: 400, idleTimeoutMs: 5000, heartbeatMs: 1000 }, async (srv) => {
    const c = await RawClient.connect(srv.port);
    c.seedLogin(7001);
    await new Promise((r) => setTimeout(r, 50));
    const frame = encodeFrame(MessageType.HEARTBEAT, { id: 'slowloris-slowloris' });
    const t0 = Date.now();
    let i = 0;
    const drip = setInterval(() => { if (i < frame.length - 1 && !c.closed) c.sendRaw(frame.subarray(i, ++i)); }, 50);
    try {
      const err = await c.next(MessageType.BUSINESS, (m) => m.msgBody.toString().startsWith('PARTIAL_FRAME_TIMEOUT'), 3000);
      assert.ok(err, 'seed clients get the error as a BusinessMessage');
      const took = await closedAfter(c, t0);
      assert.ok(took >= 400 && took < 1400, `closed after ${took} ms`);
    } finally {
      clearInterval(drip);
    }
  });
});

test('the login deadline holds even for a client that keeps sending heartbeats', async () => {
  await withServer({ loginTimeoutMs: 400 }, async (srv) => {
    const c = await RawClient.connect(srv.port);
    const t0 = Date.now();
    const hb = setInterval(() => c.send(MessageType.HEARTBEAT, {}), 50);
    try {
      const err = await c.next(MessageType.ERROR, (m) => m.code === 'LOGIN_TIMEOUT', 3000);
      assert.equal(err.fatal, true);
      const took = await closedAfter(c, t0);
      assert.ok(took >= 400 && took < 1400, `closed after ${took} ms`);
    } finally {
      clearInterval(hb);
    }
  });
});

test('past maxConnections a new client gets SERVER_FULL and is closed; a freed slot is reusable', async () => {
  await withServer({ auth: 'open', maxConnections: 3 }, async (srv) => {
    const held = await Promise.all([1, 2, 3].map(() => RawClient.connect(srv.port)));
    await new Promise((r) => setTimeout(r, 50));
    const extra = await RawClient.connect(srv.port);
    const t0 = Date.now();
    const err = await extra.next(MessageType.ERROR);
    assert.deepEqual([err.code, err.fatal], ['SERVER_FULL', true]);
    assert.ok(await closedAfter(extra, t0) < 1000);
    assert.equal(srv.stats.rejectedFull, 1);
    held[0]!.destroy();
    while (srv.connections.size > 2) await new Promise((r) => setTimeout(r, 10));
    const next = await RawClient.connect(srv.port);
    next.seedLogin(7002);
    next.send(MessageType.HEARTBEAT, { id: 'in' });
    assert.equal((await next.next(MessageType.HEARTBEAT)).id, 'in');
    for (const c of [...held, next]) c.destroy();
  });
});

test('new connections per second: excess get RATE_LIMITED with a retry hint; later ones get in', async () => {
  await withServer({ auth: 'open', connectRate: 5, connectBurst: 5 }, async (srv) => {
    const clients = await Promise.all(Array.from({ length: 10 }, () => RawClient.connect(srv.port).catch(() => null)));
    await new Promise((r) => setTimeout(r, 200));
    const refused = clients.filter((c) => c === null || c.closed);
    assert.ok(refused.length >= 4, `${refused.length} of 10 refused`);
    assert.ok(srv.stats.rejectedRate >= 4);
    if (!srv.tls) {
      // Plain TCP: the refusal is an error frame (TLS closes before the handshake, without one).
      const err = await refused.find((c) => c !== null)!.next(MessageType.ERROR);
      assert.equal(err.code, 'RATE_LIMITED');
      assert.ok(err.retryAfterMs > 0 && err.retryAfterMs <= 200, `retryAfterMs ${err.retryAfterMs}`);
    }
    await new Promise((r) => setTimeout(r, 250));
    const later = await RawClient.connect(srv.port);
    later.seedLogin(7003);
    later.send(MessageType.HEARTBEAT, { id: 'ok' });
    assert.equal((await later.next(MessageType.HEARTBEAT)).id, 'ok');
    for (const c of [...clients, later]) c?.destroy();
  });
});

test('frames per second: a burst over the rate is paused, not dropped; a flood that persists gets RATE_LIMITED', async () => {
  await withServer({ auth: 'open', msgRate: 1000, msgBurst: 100, rateLimitGraceMs: 1500 }, async (srv) => {
    const good = await RawClient.connect(srv.port);
    good.seedLogin(7010);
    // 600 heartbeats of 1 KiB at once (many reads): all answered, but spread over about
    // (600 - 100) / 1000 s, less the frames of the last read.
    const burst = await RawClient.connect(srv.port);
    burst.seedLogin(7011);
    const t0 = Date.now();
    burst.sendRaw(Buffer.concat(Array.from({ length: 600 }, (_, i) => encodeFrame(MessageType.HEARTBEAT, { id: `b${i}`.padEnd(1024, '.') }))));
    await burst.next(MessageType.HEARTBEAT, (m) => m.id.startsWith('b599.'), 5000);
    const took = Date.now() - t0;
    assert.ok(took >= 350, `600 frames at 1000/s (burst 100) took only ${took} ms`);
    assert.equal(burst.closed, false);
    assert.ok(srv.stats.ratePauses > 0);
    // A flood that never lets up: paused first, then told RATE_LIMITED and closed.
    const flood = await RawClient.connect(srv.port);
    flood.seedLogin(7012);
    const chunk = Buffer.concat(Array.from({ length: 200 }, () => encodeFrame(MessageType.HEARTBEAT, {})));
    const pump = setInterval(() => { if (!flood.closed) flood.sendRaw(chunk); }, 20);
    try {
      // Seed-mode clients get errors as BusinessMessage; its body starts with the code.
      await flood.next(MessageType.BUSINESS, (m) => m.msgBody.toString().startsWith('RATE_LIMITED'), 8000);
      await flood.waitClosed(2000);
    } finally {
      clearInterval(pump);
    }
    assert.equal(srv.stats.errors.get('RATE_LIMITED'), 1);
    // The well-behaved connection was never affected.
    good.send(MessageType.HEARTBEAT, { id: 'still-here' });
    assert.equal((await good.next(MessageType.HEARTBEAT, (m) => m.id === 'still-here')).id, 'still-here');
    for (const c of [good, burst, flood]) c.destroy();
  });
});

test('failed logins are throttled per account and per address, with retryAfterMs, before any scrypt', async () => {
  await withServer({ loginFailuresPerAccount: 3, loginFailuresPerAddress: 6, loginFailureWindowMs: 60_000 }, async (srv) => {
    const [victim, other] = [uname('victim'), uname('other')];
    await register(srv.port, victim);
    await register(srv.port, other);
    const attempt = async (userName: string, password: string) => {
      const c = await RawClient.connect(srv.port);
      c.send(MessageType.ONLINE, { id: 'l', protocolVersion: 1, userName, password, userPlatformId: 1 });
      const got = await Promise.race([c.next(MessageType.ERROR), c.next(MessageType.LOGIN_ACK).then(() => null)]);
      c.destroy();
      return got;
    };
    for (let i = 0; i < 3; i++) assert.equal((await attempt(victim, 'wrong-password'))?.code, 'BAD_CREDENTIALS');
    const throttled = await attempt(victim, 'secret-pw');
    assert.equal(throttled?.code, 'LOGIN_THROTTLED', 'even the right password waits');
    assert.ok(throttled!.retryAfterMs > 15_000 && throttled!.retryAfterMs <= 20_000, `retryAfterMs ${throttled!.retryAfterMs}`);
    assert.equal(await attempt(other, 'secret-pw'), null, 'another account from the same address logs in');
    // The address: 3 failures so far; 3 more (on unknown names) use it up.
    for (let i = 0; i < 3; i++) assert.equal((await attempt(uname('nobody'), 'whatever-pw'))?.code, 'BAD_CREDENTIALS');
    assert.equal((await attempt(other, 'secret-pw'))?.code, 'LOGIN_THROTTLED');
    // Token logins are throttled by address too.
    const c = await RawClient.connect(srv.port);
    c.send(MessageType.ONLINE, { id: 'l', protocolVersion: 1, token: 'not-a-token', userPlatformId: 1 });
    assert.equal((await c.next(MessageType.ERROR)).code, 'LOGIN_THROTTLED');
    c.destroy();
    assert.equal(srv.stats.loginsThrottled, 3);
  });
});

test('server-wide in-flight bound: submitting connections pause at it and resume; every chat is stored and acked', async () => {
  await withServer({ auth: 'open', maxServerInflight: 4 }, async (srv) => {
    const N = 150;
    const peers = [await login(srv.port, { userId: 8101 }), await login(srv.port, { userId: 8102 })];
    // Both write every chat at once, far past the bound of 4 requests in flight server-wide.
    peers.forEach(({ c }, i) => {
      const to = 8102 - i;
      c.sendRaw(Buffer.concat(Array.from({ length: N }, (_, k) =>
        encodeFrame(MessageType.CHAT, { id: `gate-${i}-${k}`, receiveId: to, msgBody: Buffer.from(`m${k}`) }))));
    });
    for (const [i, { c }] of peers.entries()) {
      const seqs: number[] = [];
      for (let k = 0; k < N; k++) {
        const ack = await c.next(MessageType.ACK, (a) => a.kind === AckKind.STORED, 10_000);
        assert.equal(ack.clientMsgId, `gate-${i}-${k}`, 'acks in send order');
        seqs.push(ack.seq);
      }
      assert.equal(new Set(seqs).size, N);
    }
    assert.ok(srv.gate.pauses > 0, 'the bound was reached and paused a sender');
    assert.equal(srv.gate.inflight, 0);
    assert.equal(srv.gate.pausedConnections, 0, 'every paused connection was resumed');
    for (const { c } of peers) c.destroy();
  });
});
