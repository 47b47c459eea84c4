/**
 * CI-sized smoke runs of the load tool against the real server (embedded SQLite store): idle with
 * a few hundred connections, chat open loop for 10 s, login-storm in password mode. These are
 * correctness checks (every run passes, the history checker reports 0/0/0/0): no speed asserts.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { parseOptions, runLoad, type RunResult } from '../../src';
import { startServer, type RunningServer } from './server';

function assertClean(r: RunResult): void {
  const h = r.history;
  assert.deepEqual({ lost: h.lost, duplicates: h.duplicates, reordered: h.reordered, unexpected: h.unexpected, gaps: h.gaps },
    { lost: 0, duplicates: 0, reordered: 0, unexpected: 0, gaps: 0 }, h.examples.join('\n'));
  assert.equal(r.pass, true, JSON.stringify({ notes: r.notes, errors: r.errors, figures: r.figures }));
}

describe('smoke: open-mode server', { concurrency: false }, () => {
  let srv: RunningServer;
  before(async () => { srv = await startServer(['--auth', 'open']); });
  after(() => srv?.stop());

  const opts = (scenario: string, extra: Record<string, unknown>) => parseOptions({
    scenario, servers: `127.0.0.1:${srv.port}`, serverPids: String(srv.pid), progress: false, ...extra,
  });

  it('idle: 300 connections log in, heartbeat and stay; RSS per connection is reported', async () => {
    const r = await runLoad(opts('idle', { connections: 300, settleS: 1, durationS: 3 }), 'smoke idle');
    assertClean(r);
    assert.equal(r.connections.connected, 300);
    assert.equal(r.figures['lost during hold'], 0);
    assert.equal(typeof r.figures['server KiB/conn'], 'number');
  });

  it('chat: open loop for 10 s, every acked message delivered exactly once, in order', async () => {
    const r = await runLoad(opts('chat', { pairs: 50, rate: 500, warmupS: 1, durationS: 10 }), 'smoke chat');
    assertClean(r);
    assert.ok(r.history.acked > 0);
    assert.equal(r.history.unacked, 0);
    assert.equal(r.history.delivered, r.history.acked);
    assert.ok(r.latency.delivery!.count > 0);
  });
});

describe('smoke: password server', { concurrency: false }, () => {
  let srv: RunningServer;
  before(async () => { srv = await startServer(['--auth', 'password', '--scrypt-log-n', '10']); });
  after(() => srv?.stop());

  it('login-storm: 200 users register, log in with the password, then with the token', async () => {
    const o = parseOptions({ scenario: 'login-storm', auth: 'password', connections: 200, servers: `127.0.0.1:${srv.port}`, progress: false });
    const r = await runLoad(o, 'smoke login-storm');
    assertClean(r);
    assert.equal(r.figures['password logins ok'], 200);
    assert.equal(r.figures['token re-logins failed'], 0);
  });
});
