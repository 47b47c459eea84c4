/**
 * ImClient against the fake server over loopback TCP: login and catch-up, sends and their acks,
 * dedup and ordering, DELIVERED acks, heartbeats. Reconnect behaviour is in reconnect.test.ts.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { AckKind, MessageType } from '@hxim/im-common';
import { ClientError, ImClient, ServerError } from '../src';
import { FakeServer, testTls, within } from './fake-server';
import { clientFor, useFixtures, collect, sleep, text, until } from './helpers';

const { cleanups, setup, track } = useFixtures();

describe('login and catch-up', () => {
  it('pages through hasMore with SyncRequest{acked} and resolves after the last page', async () => {
    const fake = await setup({ pageSize: 3 });
    for (let i = 1; i <= 5; i++) fake.storeChat(1, 2, `a${i}`);
    for (let i = 1; i <= 3; i++) fake.storeChat(3, 2, `b${i}`);
    const client = track(clientFor(fake, { auth: { userId: 2 } }));
    const got = collect(client);
    const info = await within(client.connect(), 3000, 'connect');
    assert.equal(info.userId, 2);
    assert.equal(info.caughtUp, 8);
    assert.equal(client.state, 'online');
    assert.deepEqual(got.map((m) => `${m.convId}#${m.seq}:${text(m)}`), [
      'p:1:2#1:a1', 'p:1:2#2:a2', 'p:1:2#3:a3', 'p:1:2#4:a4', 'p:1:2#5:a5', 'p:2:3#1:b1', 'p:2:3#2:b2', 'p:2:3#3:b3',
    ]);
    const syncs = fake.framesOf(MessageType.SYNC);
    assert.equal(syncs.length, 2, 'LoginAck + 2 SyncResponse pages of 3');
    assert.deepEqual(syncs[0]!.acked.map((c) => [c.convId, c.seq]), [['p:1:2', 3]]);
    assert.deepEqual(syncs[1]!.acked.map((c) => [c.convId, c.seq]).sort(), [['p:1:2', 5], ['p:2:3', 1]]);
    const online = fake.framesOf(MessageType.ONLINE)[0]!;
    assert.equal(online.protocolVersion, 1);
    assert.equal(online.userId, 2);
    assert.equal(online.userPlatformId, 1);
  });

  it('holds live pushes that arrive during catch-up until the catch-up is complete', async () => {
    const fake = await setup({ pageSize: 2 });
    fake.storeChat(1, 2, 'a1');
    fake.storeChat(1, 2, 'a2');
    fake.storeChat(3, 2, 'b1');
    fake.storeChat(3, 2, 'b2');
    fake.hook = (conn, f) => {
      // Right behind the LoginAck (page a1, a2), a live b3 arrives, before b1 and b2 are paged in.
      if (f.type === MessageType.ONLINE) setImmediate(() => conn.send(MessageType.CHAT, fake.storeChat(3, 2, 'b3')));
    };
    const client = track(clientFor(fake, { auth: { userId: 2 } }));
    const got = collect(client);
    await within(client.connect(), 3000, 'connect');
    await until(() => got.length >= 5, 2000, 'five messages');
    await sleep(30);
    assert.deepEqual(got.map(text), ['a1', 'a2', 'b1', 'b2', 'b3']);
  });

  it('logs in with a password and remembers the token', async () => {
    const fake = await setup();
    fake.users.set('bob', { userId: 7, password: 's3cret' });
    const client = track(clientFor(fake, { auth: { userName: 'bob', password: 's3cret' } }));
    const info = await client.connect();
    assert.equal(info.userId, 7);
    assert.equal(client.userId, 7);
    assert.match(client.token, /^tok-7-/);
    assert.equal(fake.framesOf(MessageType.ONLINE)[0]!.password, 's3cret');
  });

  it('rejects connect() with the server code for bad credentials and closes', async () => {
    const fake = await setup();
    fake.users.set('bob', { userId: 7, password: 's3cret' });
    const client = track(clientFor(fake, { auth: { userName: 'bob', password: 'nope' } }));
    await assert.rejects(client.connect(), (e: unknown) => e instanceof ServerError && e.code === 'BAD_CREDENTIALS');
    assert.equal(client.state, 'closed');
  });

  it('decodes frames trickled 3 bytes at a time', async () => {
    const fake = await setup({ trickle: true, pageSize: 2 });
    for (let i = 1; i <= 3; i++) fake.storeChat(1, 2, `t${i}`);
    const client = track(clientFor(fake, { auth: { userId: 2 } }));
    const got = collect(client);
    await within(client.connect(), 3000, 'connect');
    assert.deepEqual(got.map(text), ['t1', 't2', 't3']);
  });
});

describe('send', () => {
  it('resolves with the STORED ack', async () => {
    const fake = await setup();
    const client = track(clientFor(fake));
    await client.connect();
    const acks: unknown[] = [];
    client.on('ack', (a) => acks.push(a));
    const ack = await within(client.send(2, 'hello'), 2000, 'ack');
    assert.equal(ack.seq, 1);
    assert.equal(ack.convId, 'p:1:2');
    assert.equal(ack.duplicate, false);
    assert.ok(ack.serverMsgId > 0);
    const chat = fake.framesOf(MessageType.CHAT)[0]!;
    assert.equal(chat.id, ack.clientMsgId);
    assert.match(chat.id, /^[A-Za-z0-9]{16}$/);
    assert.equal(chat.receiveId, 2);
    assert.equal(Buffer.from(chat.msgBody).toString(), 'hello');
    assert.equal(acks.length, 1);
  });

  it('uses a given clientMsgId and gets the original ack back for a resend', async () => {
    const fake = await setup();
    const client = track(clientFor(fake));
    await client.connect();
    const first = await client.send(2, 'once', { clientMsgId: 'fixed-id-000001' });
    const again = await client.send(2, 'once', { clientMsgId: 'fixed-id-000001' });
    assert.equal(again.duplicate, true);
    assert.equal(again.seq, first.seq);
    assert.equal(again.serverMsgId, first.serverMsgId);
  });

  it('rejects with the ErrorMessage code and stays usable', async () => {
    const fake = await setup({ unknownUsers: new Set([999]) });
    const client = track(clientFor(fake));
    await client.connect();
    await assert.rejects(client.send(999, 'x'), (e: unknown) => e instanceof ServerError && e.code === 'UNKNOWN_USER' && !e.fatal);
    assert.equal(client.state, 'online');
    assert.equal((await client.send(2, 'y')).seq, 1);
  });

  it('rejects with ACK_TIMEOUT when no ack comes', async () => {
    const fake = await setup({ autoAck: false });
    const client = track(clientFor(fake, { ackTimeoutMs: 150 }));
    await client.connect();
    await assert.rejects(within(client.send(2, 'x'), 2000, 'timeout'), (e: unknown) => e instanceof ClientError && e.code === 'ACK_TIMEOUT');
    assert.equal(client.stats.pendingSends, 0);
  });

  it('queues sends made before connect() and writes them after login', async () => {
    const fake = await setup();
    const client = track(clientFor(fake));
    const p = client.send(2, 'early');
    await client.connect();
    assert.equal((await within(p, 2000, 'ack')).seq, 1);
  });

  it('keeps at most maxInflight sends unanswered on the wire', async () => {
    const fake = await setup({ autoAck: false });
    const client = track(clientFor(fake, { maxInflight: 2 }));
    await client.connect();
    const sends = [1, 2, 3, 4].map((i) => client.send(2, `m${i}`));
    await sleep(50);
    assert.equal(fake.framesOf(MessageType.CHAT).length, 2);
    fake.opts.autoAck = true;
    // Answer the two in flight; the window then lets the other two out.
    for (const r of fake.received.filter((x) => x.frame.type === MessageType.CHAT)) {
      const m = r.frame.msg as { id: string };
      const stored = fake.store.get('p:1:2')!.find((s) => s.id === m.id)!;
      r.conn.send(MessageType.ACK, { kind: AckKind.STORED, clientMsgId: m.id, seq: stored.seq, convId: stored.convId, serverMsgId: stored.serverMsgId });
    }
    const acks = await within(Promise.all(sends), 2000, 'all acks');
    assert.deepEqual(acks.map((a) => a.seq), [1, 2, 3, 4]);
  });

  it('rejects a recipient that is not a user id', async () => {
    const fake = await setup();
    const client = track(clientFor(fake));
    await assert.rejects(client.send(0, 'x'), (e: unknown) => e instanceof ClientError && e.code === 'BAD_ARGUMENT');
  });
});

describe('receive: dedup, order, acks', () => {
  it('delivers a repeated seq once', async () => {
    const fake = await setup();
    const client = track(clientFor(fake, { auth: { userId: 2 } }));
    const got = collect(client);
    await client.connect();
    const a = fake.storeChat(1, 2, 'a');
    const b = fake.storeChat(1, 2, 'b');
    fake.push(a);
    fake.push(a);
    fake.push(b);
    fake.push(a);
    await until(() => got.length >= 2, 2000, 'two messages');
    await sleep(30);
    assert.deepEqual(got.map(text), ['a', 'b']);
    assert.ok(client.stats.duplicates >= 2);
  });

  it('holds a message after a gap, fills it with SyncRequest{convId, afterSeq}, releases in order', async () => {
    const fake = await setup();
    const client = track(clientFor(fake, { auth: { userId: 2 } }));
    const got = collect(client);
    await client.connect();
    const m1 = fake.storeChat(1, 2, 'one');
    fake.storeChat(1, 2, 'two'); // never pushed: lost in transit
    const m3 = fake.storeChat(1, 2, 'three');
    fake.push(m1);
    fake.push(m3);
    const sync = await fake.waitFor((r) => r.frame.type === MessageType.SYNC, 2000, 'gap SyncRequest');
    const req = sync.frame.msg as { convId: string; afterSeq: number };
    assert.equal(req.convId, 'p:1:2');
    assert.equal(req.afterSeq, 1);
    await until(() => got.length === 3, 2000, 'three messages');
    assert.deepEqual(got.map((m) => m.seq), [1, 2, 3]);
    assert.deepEqual(got.map(text), ['one', 'two', 'three']);
  });

  it("does not sync for a gap that is our own send's seq", async () => {
    const fake = await setup();
    const client = track(clientFor(fake, { auth: { userId: 2 } }));
    const got = collect(client);
    await client.connect();
    const m1 = fake.storeChat(1, 2, 'hi');
    fake.push(m1);
    await until(() => got.length === 1, 2000, 'first');
    await client.send(1, 'mine'); // seq 2, ours
    fake.push(fake.storeChat(1, 2, 'after')); // seq 3
    await until(() => got.length === 2, 2000, 'second');
    await sleep(40);
    assert.deepEqual(got.map((m) => m.seq), [1, 3]);
    assert.equal(fake.framesOf(MessageType.SYNC).length, 0);
  });

  it('sends coalesced DELIVERED acks with the highest contiguous seq', async () => {
    const fake = await setup();
    const client = track(clientFor(fake, { auth: { userId: 2 }, ackDelayMs: 30 }));
    const got = collect(client);
    await client.connect();
    for (let i = 1; i <= 5; i++) fake.push(fake.storeChat(1, 2, `m${i}`));
    await until(() => got.length === 5, 2000, 'five messages');
    const ack = await fake.waitFor((r) => r.frame.type === MessageType.ACK && (r.frame.msg as { seq: number }).seq === 5, 2000, 'DELIVERED 5');
    const msg = ack.frame.msg as { kind: number; convId: string };
    assert.equal(msg.kind, AckKind.DELIVERED);
    assert.equal(msg.convId, 'p:1:2');
    const delivered = fake.framesOf(MessageType.ACK).filter((a) => a.kind === AckKind.DELIVERED);
    assert.ok(delivered.length < 5, `acks are coalesced (got ${delivered.length})`);
    assert.equal(fake.delivered.get('2|p:1:2'), 5);
  });

  it('emits notices and non-fatal errors without a request id', async () => {
    const fake = await setup();
    const client = track(clientFor(fake));
    await client.connect();
    const errors: Error[] = [];
    client.on('error', (e) => errors.push(e));
    const notices: string[] = [];
    client.on('notice', (n) => notices.push(n.msgBody));
    const conn = fake.online(1)[0]!;
    conn.send(MessageType.BUSINESS, { msgBody: 'maintenance at noon', businessType: 1 });
    conn.send(MessageType.ERROR, { code: 'RATE_LIMITED', message: 'slow down', retryAfterMs: 100 });
    await until(() => notices.length === 1 && errors.length === 1, 2000, 'notice and error');
    assert.equal((errors[0] as ServerError).code, 'RATE_LIMITED');
    assert.equal((errors[0] as ServerError).retryAfterMs, 100);
    assert.equal(client.state, 'online');
  });

  it('waits at least the retryAfterMs of a fatal RATE_LIMITED before reconnecting', async () => {
    const fake = await setup();
    const client = track(clientFor(fake, { reconnectDelay: () => 10 }));
    await client.connect();
    const offline: number[] = [];
    client.on('state', (s) => { if (s.state === 'offline') offline.push(s.delayMs ?? -1); });
    const t0 = Date.now();
    fake.online(1)[0]!.send(MessageType.ERROR, { code: 'RATE_LIMITED', message: 'slow down', retryAfterMs: 400, fatal: true });
    await until(() => offline.length === 1, 2000, 'offline');
    assert.equal(offline[0], 400, 'the delay is the server hint, not the 10 ms backoff');
    await until(() => client.state === 'online', 3000, 'back online');
    assert.ok(Date.now() - t0 >= 390, `reconnected after ${Date.now() - t0} ms`);
  });

  it('sync(convId, afterSeq) fetches every page and emits only new messages', async () => {
    const fake = await setup({ pageSize: 2 });
    const client = track(clientFor(fake, { auth: { userId: 2 } }));
    const got = collect(client);
    for (let i = 1; i <= 3; i++) fake.storeChat(1, 2, `h${i}`);
    await client.connect();
    assert.equal(got.length, 3);
    const fetched = await client.sync('p:1:2', 0);
    assert.deepEqual(fetched.map((m) => m.seq), [1, 2, 3]);
    assert.equal(got.length, 3, 'nothing new to emit');
  });
});

describe('heartbeat', () => {
  it('sends a HeartbeatMessage after heartbeatMs without writing', async () => {
    const fake = await setup();
    const client = track(clientFor(fake, { heartbeatMs: 80, idleTimeoutMs: 2000 }));
    await client.connect();
    await fake.waitFor((r) => r.frame.type === MessageType.HEARTBEAT, 2000, 'a heartbeat');
    assert.equal(client.state, 'online');
  });

  it("uses the LoginAck's heartbeatMs when none is configured", async () => {
    const fake = await setup({ heartbeatMs: 60 });
    const client = track(clientFor(fake, { idleTimeoutMs: 2000 }));
    const info = await client.connect();
    assert.equal(info.heartbeatMs, 60);
    await fake.waitFor((r) => r.frame.type === MessageType.HEARTBEAT, 2000, 'a heartbeat');
  });
});

describe('tls', () => {
  it('logs in over TLS with a trusted CA, and refuses an untrusted server', async () => {
    const t = testTls();
    const fake = await FakeServer.start({}, { key: t.key, cert: t.cert });
    cleanups.push(() => fake.close());
    const client = track(clientFor(fake, { tls: { ca: t.ca } }));
    assert.equal((await within(client.connect(), 3000, 'tls connect')).userId, 1);
    assert.equal((await client.send(2, 'secret')).seq, 1);
    const untrusting = track(clientFor(fake, { tls: true }));
    await assert.rejects(untrusting.connect(), (e: unknown) => e instanceof ClientError && e.code === 'CONNECT_FAILED' && /certificate/.test(e.message));
  });
});

describe('register', () => {
  it('creates an account, and reports USER_EXISTS for a taken name', async () => {
    const fake = await setup();
    const res = await ImClient.register(fake.address, 'carol', 'pw');
    assert.equal(res.userName, 'carol');
    assert.equal(res.userId, 100);
    await assert.rejects(ImClient.register(fake.address, 'carol', 'pw'), (e: unknown) => e instanceof ServerError && e.code === 'USER_EXISTS');
  });
});
