/**
 * End to end with the real client library against the real server process: two users chat both
 * ways; the server is killed with SIGKILL mid-stream and started again on the same data
 * directory; both clients reconnect by themselves; nothing acked is lost or duplicated, and each
 * conversation arrives in seq order. Also: SIGTERM drains and exits 0.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ImClient } from '@hxim/im-client';
import type { ChatMessage } from '@hxim/im-common';
import { freePort, kill, spawnServer } from './helpers/process';
import { tempDir } from './helpers/server';

const N = 600;

test('kill -9 the server mid-stream: clients reconnect, nothing acked is lost or duplicated', async () => {
  const port = await freePort();
  const dataDir = tempDir('hxim-crash');
  const flags = ['--host', '127.0.0.1', '--port', String(port), '--data-dir', dataDir, '--scrypt-log-n', '10', '--log-level', 'warn',
    '--stranger-policy', 'anyone'];
  let server = await spawnServer(flags);
  const servers = [{ host: '127.0.0.1', port }];
  const fast = { reconnectDelay: () => 100, heartbeatMs: 500, idleTimeoutMs: 2000 };
  try {
    const [a, b] = [`alice${process.pid}`, `bob${process.pid}`];
    const aid = (await ImClient.register(servers[0]!, a, 'secret-pw')).userId;
    const bid = (await ImClient.register(servers[0]!, b, 'secret-pw')).userId;
    const ca = new ImClient({ servers, auth: { userName: a, password: 'secret-pw' }, ...fast });
    const cb = new ImClient({ servers, auth: { userName: b, password: 'secret-pw' }, ...fast });
    const got: Record<string, ChatMessage[]> = { a: [], b: [] };
    ca.on('message', (m) => got.a!.push(m));
    cb.on('message', (m) => got.b!.push(m));
    await ca.connect();
    await cb.connect();

    const acked: Array<Promise<unknown>> = [];
    const ackedIds = { a: new Set<string>(), b: new Set<string>() };
    const sendBoth = (i: number): void => {
      acked.push(ca.send(bid, `a${i}`, { clientMsgId: `a-${i}` }).then(() => ackedIds.a.add(`a${i}`), () => undefined));
      acked.push(cb.send(aid, `b${i}`, { clientMsgId: `b-${i}` }).then(() => ackedIds.b.add(`b${i}`), () => undefined));
    };
    // Send at a steady pace; crash the server a third of the way in, with sends in flight, and
    // restart it while the senders keep going (their sends queue until the reconnect).
    let i = 0;
    const pacer = setInterval(() => { for (let k = 0; k < 5 && i < N; k++) sendBoth(i++); }, 2);
    while (i < N / 3) await new Promise((r) => setTimeout(r, 1));
    await kill(server, 'SIGKILL');
    assert.ok(ackedIds.a.size > 0 && ackedIds.a.size < N, 'the crash must fall mid-stream');
    server = await spawnServer(flags);
    while (i < N) await new Promise((r) => setTimeout(r, 5));
    clearInterval(pacer);
    await Promise.all(acked);
    // Everything sent was eventually acked (unacked sends were retried with the same id).
    assert.equal(ackedIds.a.size, N);
    assert.equal(ackedIds.b.size, N);
    const deadline = Date.now() + 15_000;
    while ((got.a!.length < N || got.b!.length < N) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    for (const [who, from] of [['b', ackedIds.a], ['a', ackedIds.b]] as const) {
      const bodies = got[who]!.map((m) => Buffer.from(m.msgBody).toString());
      assert.equal(new Set(bodies).size, bodies.length, `${who} saw duplicates`);
      for (const body of from) assert.ok(bodies.includes(body), `${who} lost ${body}`);
      const seqs = got[who]!.map((m) => m.seq);
      assert.deepEqual(seqs, [...seqs].sort((x, y) => x - y), `${who} saw seqs out of order`);
    }
    ca.close();
    cb.close();
    // SIGTERM: graceful drain, exit code 0.
    assert.equal(await kill(server, 'SIGTERM'), 0);
  } finally {
    await kill(server, 'SIGKILL');
  }
});
