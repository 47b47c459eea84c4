/**
 * Fair frame handling (src/scheduler.ts): clients that flood the server with 64 KiB reads of
 * small frames cannot make everyone else wait. Frames beyond a short per-phase budget wait in
 * their connection's backlog and are served round-robin, so a light client's round trip and a
 * new connection's first answer stay short while the flood is being worked through.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { encodeFrame, MessageType } from '@hxim/im-common';
import { RawClient } from './helpers/raw-client';
import { startTestServer } from './helpers/server';
import { testCa, testTls } from './helpers/tls';

/**
 * A client that writes `chunks` 64 KiB reads of empty server-only frames (each answered with a
 * BAD_REQUEST error: some real work per 8 bytes) and discards the answers.
 */
function flooder(port: number, chunks: number): Promise<void> {
  const chunk = Buffer.concat(Array.from({ length: 8192 }, () => encodeFrame(MessageType.LOGIN_ACK, {})));
  return new Promise((resolve) => {
    const s: net.Socket = testTls()
      ? tls.connect({ port, host: '127.0.0.1', ca: testCa(), servername: 'localhost' }, start)
      : net.connect({ port, host: '127.0.0.1' }, start);
    s.on('error', () => undefined);
    s.resume(); // read and drop the answers
    function start(): void {
      let n = 0;
      const more = (): void => {
        while (n < chunks) {
          n++;
          if (!s.write(chunk)) { s.once('drain', more); return; }
        }
        s.end(resolve);
      };
      more();
    }
  });
}

test('a flood of small frames from several clients does not stall a light client or a new connection', async () => {
  const srv = await startTestServer({ auth: 'open', msgRate: 0, idleTimeoutMs: 30_000 });
  try {
    const light = await RawClient.connect(srv.port);
    light.seedLogin(59_001);
    light.send(MessageType.HEARTBEAT, { id: 'warm' });
    await light.next(MessageType.HEARTBEAT, (m) => m.id === 'warm');
    const floods = Promise.all([1, 2, 3, 4, 5, 6].map(() => flooder(srv.port, 16)));
    const rtts: number[] = [];
    let done = false;
    void floods.then(() => { done = true; });
    let newcomer = -1;
    for (let i = 0; !done || i < 10; i++) {
      const t0 = Date.now();
      light.send(MessageType.HEARTBEAT, { id: `h${i}` });
      await light.next(MessageType.HEARTBEAT, (m) => m.id === `h${i}`, 5000);
      rtts.push(Date.now() - t0);
      if (i === 5) {
        const c0 = Date.now();
        const c = await RawClient.connect(srv.port);
        c.send(MessageType.HEARTBEAT, { id: 'new' });
        await c.next(MessageType.HEARTBEAT, (m) => m.id === 'new', 5000);
        newcomer = Date.now() - c0;
        c.destroy();
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    await floods;
    console.log(`# light client: ${rtts.length} round trips, max ${Math.max(...rtts)} ms; new connection answered after ${newcomer} ms`);
    assert.ok(Math.max(...rtts) < 150, `light client round trips up to ${Math.max(...rtts)} ms (${rtts.length} samples)`);
    assert.ok(newcomer >= 0 && newcomer < 500, `a new connection was answered after ${newcomer} ms`);
    assert.ok(srv.scheduler.deferred > 0, 'the flood was spread over several turns');
    light.destroy();
  } finally {
    await srv.stop();
  }
});
