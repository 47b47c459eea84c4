/**
 * Losing and regaining the connection: silence, resend with the same ids, token re-login with
 * lastSeqs, fail-over, kicks, draining, a malformed stream, logout.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { MessageType } from '@hxim/im-common';
import { ClientError, ServerError } from '../src';
import { FakeServer, closedPort, within } from './fake-server';
import { clientFor, useFixtures, collect, nextState, sleep, states, text, until } from './helpers';

const { cleanups, setup, track } = useFixtures();

describe('reconnect', () => {
  it('reconnects when the server goes silent past idleTimeoutMs', async () => {
    const fake = await setup({ echoHeartbeats: false });
    const client = track(clientFor(fake, { heartbeatMs: 50, idleTimeoutMs: 300 }));
    const seen = states(client);
    await client.connect();
    const offline = await nextState(client, (s) => s.state === 'offline', 3000);
    assert.match(offline.reason, /no data from the server/);
    assert.equal(offline.attempt, 1);
    await nextState(client, (s) => s.state === 'online', 3000);
    assert.equal(fake.framesOf(MessageType.ONLINE).length, 2);
    assert.deepEqual(seen.map((s) => s.state).slice(0, 5), ['connecting', 'online', 'offline', 'connecting', 'online']);
  });

  it('re-logs in with the token and lastSeqs and resends unacked sends with the same clientMsgId', async () => {
    const fake = await setup();
    fake.users.set('bob', { userId: 2, password: 'pw' });
    const client = track(clientFor(fake, { auth: { userName: 'bob', password: 'pw' } }));
    const got = collect(client);
    const logins: string[] = [];
    client.on('login', (i) => logins.push(i.token));
    await client.connect();
    fake.push(fake.storeChat(1, 2, 'one'));
    fake.push(fake.storeChat(1, 2, 'two'));
    await until(() => got.length === 2, 2000, 'two messages');

    fake.opts.autoAck = false; // stored, but the ack is "lost" with the connection
    const pending = client.send(1, 'survives');
    const first = await fake.waitFor((r) => r.frame.type === MessageType.CHAT, 2000, 'the chat');
    const id = (first.frame.msg as { id: string }).id;
    fake.opts.autoAck = true;
    first.conn.destroy();

    const ack = await within(pending, 3000, 'the resent chat to be acked');
    assert.equal(ack.clientMsgId, id);
    assert.equal(ack.duplicate, true, 'the server had stored it already');
    assert.equal(ack.seq, 3);

    const onlines = fake.framesOf(MessageType.ONLINE);
    assert.equal(onlines.length, 2);
    assert.equal(onlines[1]!.token, logins[0], 're-login uses the LoginAck token');
    assert.equal(onlines[1]!.password, '', 'no password on a token re-login');
    assert.deepEqual(onlines[1]!.lastSeqs.map((c) => [c.convId, c.seq]), [['p:1:2', 2]]);
    const chats = fake.framesOf(MessageType.CHAT).filter((c) => c.id === id);
    assert.equal(chats.length, 2, 'written once per connection, same id');
    await sleep(30);
    assert.deepEqual(got.map(text), ['one', 'two'], 'our own chat seen in catch-up is not delivered to us');
  });

  it('catches up what was missed while disconnected, without duplicates', async () => {
    const fake = await setup();
    const client = track(clientFor(fake, { auth: { userId: 2 } }));
    const got = collect(client);
    await client.connect();
    fake.push(fake.storeChat(1, 2, 'a'));
    await until(() => got.length === 1, 2000, 'a');
    fake.online(2)[0]!.destroy();
    fake.storeChat(1, 2, 'b'); // stored while the client is away
    await nextState(client, (s) => s.state === 'online', 3000);
    await until(() => got.length === 2, 2000, 'b');
    await sleep(30);
    assert.deepEqual(got.map(text), ['a', 'b']);
  });

  it('fails over to the next server when the first refuses connections', async () => {
    const fake = await setup();
    const dead = { host: '127.0.0.1', port: await closedPort() };
    const client = track(clientFor([dead, fake.address]));
    const info = await within(client.connect(), 3000, 'connect');
    assert.equal(info.server.port, fake.port);
    assert.equal(client.server.port, fake.port);
  });

  it('rejects connect() with CONNECT_FAILED when no server answers', async () => {
    const dead = { host: '127.0.0.1', port: await closedPort() };
    const client = track(clientFor([dead]));
    await assert.rejects(client.connect(), (e: unknown) => e instanceof ClientError && e.code === 'CONNECT_FAILED');
    assert.equal(client.state, 'closed');
    await assert.rejects(client.send(2, 'x'), (e: unknown) => e instanceof ClientError && e.code === 'CLOSED');
  });

  it('keeps retrying a restarted server on the same address', async () => {
    const fake = await setup();
    const client = track(clientFor(fake));
    await client.connect();
    const port = fake.port;
    await fake.close();
    await nextState(client, (s) => s.state === 'offline', 2000);
    await sleep(100); // a few refused attempts
    const again = await FakeServer.startOn(port);
    cleanups.push(() => again.close());
    for (const [t, u] of fake.tokens) again.tokens.set(t, u); // a restart keeps the token store
    await nextState(client, (s) => s.state === 'online', 5000);
    assert.equal(again.framesOf(MessageType.ONLINE).length, 1);
    assert.match(again.framesOf(MessageType.ONLINE)[0]!.token, /^tok-1-/);
  });

  it('SESSION_REPLACED: emits kicked, closes, never reconnects', async () => {
    const fake = await setup();
    const client = track(clientFor(fake));
    await client.connect();
    const kicked = new Promise<ServerError>((r) => client.once('kicked', r));
    fake.opts.autoAck = false;
    const pending = client.send(2, 'x');
    fake.online(1)[0]!.kick('SESSION_REPLACED', 'logged in on another device');
    const reason = await within(kicked, 2000, 'kicked');
    assert.equal(reason.code, 'SESSION_REPLACED');
    await until(() => client.state === 'closed', 2000, 'closed');
    await pending.catch(() => undefined);
    await sleep(150); // reconnectDelay is 20 ms: a reconnect would have happened by now
    assert.equal(fake.framesOf(MessageType.ONLINE).length, 1);
  });

  it('SERVER_DRAINING: reconnects at once to the next server', async () => {
    const a = await setup();
    const b = await setup();
    const client = track(clientFor([a.address, b.address], { reconnectDelay: () => 60_000 }));
    await client.connect();
    for (const [t, u] of a.tokens) b.tokens.set(t, u); // one cluster, one token store
    const offline = nextState(client, (s) => s.state === 'offline');
    a.online(1)[0]!.kick('SERVER_DRAINING', 'restarting');
    assert.equal((await offline).delayMs, 0);
    await nextState(client, (s) => s.state === 'online', 3000);
    assert.equal(client.server.port, b.port);
    assert.equal(b.framesOf(MessageType.ONLINE).length, 1);
  });

  it('a malformed stream from the server closes the connection and reconnects', async () => {
    const fake = await setup();
    const client = track(clientFor(fake));
    await client.connect();
    const offline = nextState(client, (s) => s.state === 'offline');
    const bad = Buffer.alloc(8);
    bad.writeInt32BE(-5, 0);
    bad.writeInt32BE(2, 4);
    fake.online(1)[0]!.sendRaw(bad);
    assert.match((await offline).reason, /NEGATIVE_LENGTH/);
    await nextState(client, (s) => s.state === 'online', 3000);
  });

  it('logout sends OFFLINE and does not reconnect', async () => {
    const fake = await setup();
    const client = track(clientFor(fake));
    await client.connect();
    await client.logout();
    assert.equal(client.state, 'closed');
    const off = await fake.waitFor((r) => r.frame.type === MessageType.ONLINE && (r.frame.msg as { msgType: number }).msgType === 1, 2000, 'OFFLINE');
    assert.ok(off);
    await sleep(100);
    assert.equal(fake.framesOf(MessageType.ONLINE).length, 2, 'ONLINE + OFFLINE, no re-login');
  });

  it('disconnect() keeps the token valid, logout() gives it up', async () => {
    const fake = await setup();
    fake.users.set('bob', { userId: 2, password: 'pw' });
    const first = track(clientFor(fake, { auth: { userName: 'bob', password: 'pw' } }));
    await first.connect();
    const token = first.token;
    await first.disconnect();
    assert.equal(first.state, 'closed');
    assert.equal(fake.framesOf(MessageType.ONLINE).filter((o) => o.msgType === 1).length, 0, 'no OFFLINE');

    const second = track(clientFor(fake, { auth: { token } }));
    assert.equal((await second.connect()).userId, 2);
    await second.logout();
    const third = track(clientFor(fake, { auth: { token } }));
    await assert.rejects(third.connect(), (e: unknown) => e instanceof ServerError && e.code === 'BAD_TOKEN');
  });

  it('with reconnect: false a lost connection closes the client', async () => {
    const fake = await setup();
    const client = track(clientFor(fake, { reconnect: false }));
    await client.connect();
    fake.online(1)[0]!.destroy();
    const closed = await nextState(client, (s) => s.state === 'closed');
    assert.ok(closed.reason.length > 0);
  });

  it('falls back to the open-mode user id when another server does not know the token', async () => {
    const a = await setup();
    const b = await setup();
    const client = track(clientFor([a.address, b.address]));
    await client.connect();
    a.online(1)[0]!.destroy();
    await nextState(client, (s) => s.state === 'online' && s.reason === 'reconnected', 3000);
    const onlines = b.framesOf(MessageType.ONLINE);
    assert.deepEqual(onlines.map((o) => [o.token !== '', o.userId]), [[true, 0], [false, 1]]);
  });

  it('falls back to the password when the token is refused', async () => {
    const fake = await setup();
    fake.users.set('bob', { userId: 2, password: 'pw' });
    const client = track(clientFor(fake, { auth: { userName: 'bob', password: 'pw' } }));
    await client.connect();
    fake.tokens.clear(); // the server forgot every token
    fake.online(2)[0]!.destroy();
    await nextState(client, (s) => s.state === 'online' && s.reason === 'reconnected', 3000);
    const onlines = fake.framesOf(MessageType.ONLINE);
    assert.ok(onlines.some((o) => o.token !== ''), 'tried the token');
    assert.equal(onlines[onlines.length - 1]!.password, 'pw');
  });
});
