/**
 * CI-sized smoke runs of the load tool against the real server (embedded SQLite store): idle with
 * a few hundred connections, chat open loop for 10 s, group fan-out for 10 s, soak with reconnect
 * churn for 15 s, login-storm in password mode. These are correctness checks (every run passes,
 * the history checker reports 0/0/0/0/0): no speed asserts. Cluster runs: smoke-cluster.test.ts.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { parseOptions, runLoad, type RunResult } from '../../src';
import { startServer, type RunningServer } from './server';
import { assertChatClean, assertClean, assertGroupClean } from './verdicts';

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
    assertChatClean(r);
    assert.ok(r.latency.delivery!.count > 0);
  });

  it('group: 4 groups of 75 over two workers, fan-out for 10 s, every member got every acked message once', async () => {
    const r = await runLoad(opts('group', { groups: 4, groupSize: 75, groupSenders: 2, rate: 40, warmupS: 1, durationS: 10, workers: 2 }), 'smoke group');
    assertGroupClean(r, 4 * 75);
  });

  it('soak: 15 s of chat while 10 % of the connections drop every 2 s; receivers catch up by seq, nothing lost', async () => {
    const r = await runLoad(opts('soak', { pairs: 100, rate: 200, warmupS: 1, durationS: 15, churnPct: 10, churnIntervalS: 2 }), 'smoke soak');
    assertClean(r);
    assert.ok((r.figures['churned connections'] as number) >= 100, `churned ${r.figures['churned connections']}`);
    assert.ok((r.figures.reconnects as number) > 0);
    assert.equal(r.history.delivered, r.history.acked);
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
