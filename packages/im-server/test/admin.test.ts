/**
 * The HTTP admin port: /healthz (liveness + readiness with each backend), /livez, and /metrics
 * (prom-client text) whose counters move with traffic; readiness turns 503 when the store does
 * not answer and while draining.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageType } from '@hxim/im-common';
import { openStore, type Store } from '@hxim/business';
import { adminGet, metric } from './helpers/admin';
import { login, register, uname } from './helpers/modern';
import { RawClient } from './helpers/raw-client';
import { startTestServer, tempDir } from './helpers/server';

test('/metrics counters move with a chat; /healthz is 200 with every backend up', async () => {
  const srv = await startTestServer({ adminPort: 0 });
  try {
    assert.ok(srv.adminPort > 0);
    const h = await adminGet(srv.adminPort, '/healthz');
    assert.equal(h.status, 200);
    const report = JSON.parse(h.body);
    assert.deepEqual([report.status, report.live, report.ready], ['ok', true, true]);
    assert.deepEqual([report.backends.store.status, report.backends.presence.status, report.backends.bus.status], ['up', 'up', 'up']);
    assert.equal(typeof report.backends.store.latencyMs, 'number');

    const before = await adminGet(srv.adminPort, '/metrics');
    assert.equal(before.status, 200);
    assert.match(before.type, /text\/plain/);
    for (const name of ['hxim_connections', 'hxim_store_queue_depth', 'hxim_bus_unconfirmed', 'nodejs_eventloop_lag_p99_seconds',
      'process_resident_memory_bytes', 'hxim_cursor_queue_depth', 'hxim_store_max_batch_seconds']) {
      assert.ok(!Number.isNaN(metric(before.body, name)), `${name} is exported`);
    }

    const [an, bn] = [uname('ma'), uname('mb')];
    await register(srv.port, an);
    const bid = await register(srv.port, bn);
    const a = await login(srv.port, { userName: an, password: 'secret-pw' });
    const b = await login(srv.port, { userName: bn, password: 'secret-pw' });
    for (let i = 0; i < 3; i++) a.c.send(MessageType.CHAT, { id: `m${i}`, receiveId: bid, msgBody: Buffer.from('hi') });
    for (let i = 0; i < 3; i++) await b.c.next(MessageType.CHAT);
    await a.c.next(MessageType.ACK, (m) => m.clientMsgId === 'm2');
    a.c.send(MessageType.CHAT, { id: 'self', receiveId: a.ack.userId, msgBody: Buffer.from('x') });
    await a.c.next(MessageType.ERROR);

    const after = (await adminGet(srv.adminPort, '/metrics')).body;
    const moved = (name: string, labels = '', by = 1): void => {
      const d = metric(after, name, labels) - (Number.isNaN(metric(before.body, name, labels)) ? 0 : metric(before.body, name, labels));
      assert.ok(d >= by, `${name}{${labels}} moved by ${d}, expected >= ${by}`);
    };
    moved('hxim_chats_received_total', '', 4);
    moved('hxim_chats_stored_total', '', 3);
    moved('hxim_acks_sent_total', '', 3);
    moved('hxim_logins_total', '', 2);
    moved('hxim_connections_opened_total', '', 4);
    moved('hxim_frames_in_total', 'type="chat"', 4);
    moved('hxim_frames_in_total', 'type="online"', 2);
    moved('hxim_frames_out_total', 'type="chat"', 3);
    moved('hxim_frames_out_total', 'type="ack"', 3);
    moved('hxim_frames_out_total', 'type="login_ack"', 2);
    moved('hxim_errors_total', 'code="BAD_REQUEST"', 1);
    moved('hxim_bytes_in_total', '', 100);
    moved('hxim_store_batches_total', '', 1);
    moved('hxim_store_rows_total', '', 3);
    moved('hxim_store_batch_duration_seconds_count', '', 1);
    moved('hxim_store_batch_rows_sum', '', 3);
    assert.equal(metric(after, 'hxim_sessions'), 2);
    assert.equal(metric(after, 'hxim_backend_up', 'backend="store"'), 1);

    assert.equal((await adminGet(srv.adminPort, '/livez')).status, 200);
    assert.equal((await adminGet(srv.adminPort, '/nope')).status, 404);
    assert.equal((await adminGet(srv.adminPort, '/metrics', 'POST')).status, 405);
    const head = await adminGet(srv.adminPort, '/healthz', 'HEAD');
    assert.deepEqual([head.status, head.body], [200, '']);
    a.c.destroy();
    b.c.destroy();
  } finally {
    await srv.stop();
  }
});

test('/healthz is 503 with the store down, and 503 "draining" during a graceful stop', async () => {
  const real = await openStore({ kind: 'sqlite', dataDir: tempDir() });
  let down = false;
  const store: Store = Object.assign(Object.create(real) as Store, {
    ping: () => (down ? Promise.reject(new Error('connection refused')) : real.ping()),
  });
  const srv = await startTestServer({ adminPort: 0, auth: 'open' }, { store });
  try {
    down = true;
    const h = await adminGet(srv.adminPort, '/healthz');
    assert.equal(h.status, 503);
    const report = JSON.parse(h.body);
    assert.deepEqual([report.status, report.ready, report.live], ['degraded', false, true]);
    assert.equal(report.backends.store.status, 'down');
    assert.match(report.backends.store.error, /connection refused/);
    assert.equal(metric((await adminGet(srv.adminPort, '/metrics')).body, 'hxim_backend_up', 'backend="store"'), 0);
    assert.equal((await adminGet(srv.adminPort, '/livez')).status, 200, 'still alive: a restart would not help');
    down = false;
    assert.equal((await adminGet(srv.adminPort, '/healthz')).status, 200);

    // A client that does not read keeps the drain busy for a moment: /healthz says so.
    const c = await RawClient.connect(srv.port);
    c.seedLogin(9001);
    c.send(MessageType.HEARTBEAT, {});
    await c.next(MessageType.HEARTBEAT);
    c.socket.pause();
    const stopping = srv.stop();
    const d = await adminGet(srv.adminPort, '/healthz');
    assert.equal(d.status, 503);
    assert.equal(JSON.parse(d.body).status, 'draining');
    await stopping;
    c.destroy();
  } finally {
    await srv.stop();
    await real.close();
  }
});
