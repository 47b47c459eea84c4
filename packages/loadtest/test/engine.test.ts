/**
 * Whole runs (parent, forked workers, engines, checker) against the in-memory fake server: the
 * clean paths pass with 0/0/0/0, and each server misbehaviour is caught by the count it belongs to.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { parseOptions, runLoad, type RunResult } from '../src';
import { FakeImServer } from './fake-server';

let fake: FakeImServer;
before(async () => { fake = await FakeImServer.start(); });
after(() => fake.close());

function run(scenario: string, extra: Record<string, unknown> = {}): Promise<RunResult> {
  const opts = parseOptions({
    scenario, servers: `127.0.0.1:${fake.port}`, progress: false, warmupS: 0.3, durationS: 1.5, drainS: 5,
    pairs: 10, rate: 400, connections: 40, settleS: 0.2, catchupS: 10, ...extra,
  });
  return runLoad(opts, `test ${scenario}`);
}

function assertClean(r: RunResult): void {
  const h = r.history;
  assert.deepEqual({ lost: h.lost, duplicates: h.duplicates, reordered: h.reordered, unexpected: h.unexpected, gaps: h.gaps },
    { lost: 0, duplicates: 0, reordered: 0, unexpected: 0, gaps: 0 }, JSON.stringify(h.examples));
  assert.equal(r.pass, true, JSON.stringify({ notes: r.notes, errors: r.errors }));
  assert.equal(r.exitCode, 0);
}

describe('chat against the fake server', { concurrency: false }, () => {
  it('open loop, raw frames: every message acked and delivered, latency measured', async () => {
    const r = await run('chat');
    assertClean(r);
    assert.equal(r.history.sent, r.history.acked);
    assert.equal(r.history.delivered, r.history.sent);
    assert.ok(r.history.sent >= 400 * 1.6, `sent ${r.history.sent}`);
    assert.ok(r.latency.delivery!.count > 0 && r.latency.delivery!.p99Ms! > 0);
    assert.ok(r.latency.ack!.count > 0);
    assert.equal(r.figures['server CPU-µs/msg'], null);
  });

  it('closed loop with two workers, and the im-client engine', async () => {
    assertClean(await run('chat', { mode: 'closed', window: 4, workers: 2 }));
    const lib = await run('chat', { client: 'lib', rate: 200 });
    assertClean(lib);
    assert.equal(lib.history.delivered, lib.history.sent);
  });

  it('password mode: registers, logs in, re-logs in by token for the catch-up', async () => {
    const before = fake.logins;
    const r = await run('chat', { auth: 'password', pairs: 4, rate: 100 });
    assertClean(r);
    assert.ok(fake.logins - before >= 12, 'senders + receivers + catch-up logins');
  });

  it('connections that stay silent heartbeat, as a client must (drain, catch-up)', async () => {
    const before = fake.heartbeats;
    const r = await run('chat', { heartbeatMs: 200, pairs: 4, rate: 20, durationS: 1 });
    assertClean(r);
    assert.ok(fake.heartbeats - before > 0, 'no heartbeat reached the server');
  });

  it('--max-messages bounds the run', async () => {
    const r = await run('chat', { maxMessages: 50, mode: 'closed' });
    assertClean(r);
    assert.equal(r.history.sent, 50);
  });

  it('pushes the server dropped arrive in the catch-up: still clean', async () => {
    fake.faults.dropPushEvery = 7;
    try {
      const r = await run('chat', { drainS: 0.5 });
      assertClean(r);
      assert.equal(r.history.delivered, r.history.acked);
    } finally {
      fake.faults.dropPushEvery = 0;
    }
  });

  it('the same frame pushed twice is a transport duplicate, not a failure', async () => {
    fake.faults.pushTwiceEvery = 5;
    try {
      const r = await run('chat');
      assertClean(r);
      assert.ok(r.history.transportDuplicates > 0);
    } finally {
      fake.faults.pushTwiceEvery = 0;
    }
  });

  it('acked but never stored: lost > 0, the run fails', async () => {
    fake.faults.forgetEvery = 50;
    try {
      const r = await run('chat', { drainS: 0.5 });
      assert.ok(r.history.lost > 0);
      assert.equal(r.pass, false);
      assert.equal(r.exitCode, 1);
      assert.match(r.history.examples.join('\n'), /lost: sender/);
      assert.equal(r.history.gaps, r.history.lost, 'each forgotten seq is also a gap');
    } finally {
      fake.faults.forgetEvery = 0;
    }
  });

  it('stored twice: app-visible duplicates > 0, the run fails', async () => {
    fake.faults.storeTwiceEvery = 40;
    try {
      const r = await run('chat');
      assert.ok(r.history.duplicates > 0);
      assert.equal(r.pass, false);
    } finally {
      fake.faults.storeTwiceEvery = 0;
    }
  });
});

describe('other scenarios against the fake server', { concurrency: false }, () => {
  it('idle holds its connections and heartbeats', async () => {
    const r = await run('idle', { steps: '20', durationS: 1.2 });
    assert.equal(r.connections.connected, 40);
    assert.equal(r.figures['lost during hold'], 0);
    assert.equal(r.figures['heartbeat interval ms'], 5000);
    assert.equal(r.pass, true);
  });

  it('login-storm in password mode: a password storm, then a token storm', async () => {
    const r = await run('login-storm', { auth: 'password' });
    assert.equal(r.pass, true, JSON.stringify(r.errors));
    assert.equal(r.figures['password logins ok'], 40);
    assert.equal(r.figures['token re-logins failed'], 0);
    assert.ok(r.latency.tokenLogin!.count === 40);
  });

  it('soak: churn drops and reconnects connections, and nothing is lost', async () => {
    const r = await run('soak', { durationS: 3, churnPct: 20, churnIntervalS: 0.5, rate: 300 });
    assertClean(r);
    assert.ok((r.figures['churned connections'] as number) > 0);
    assert.ok((r.figures.reconnects as number) > 0);
  });
});
