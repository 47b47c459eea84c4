/**
 * The limit policies on their own, with an explicit clock: the token bucket, the failed-login
 * throttle (its bound and its expiry), and the validation of the new options.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseOptions } from '../src';
import { TokenBucket } from '../src/limits/token-bucket';
import { LoginThrottle } from '../src/limits/login-throttle';
import { RetryLaterError } from '../src/limits/retry-later';
import { InflightGate } from '../src/limits/inflight-gate';

test('token bucket: burst at once, then the rate; debt is paid back before more is allowed', () => {
  const b = new TokenBucket(100, 10, 0);
  for (let i = 0; i < 10; i++) assert.equal(b.tryTake(0), 0);
  assert.equal(b.tryTake(0), 10, '1 token at 100/s takes 10 ms');
  assert.equal(b.tryTake(10), 0);
  assert.equal(b.take(10, 30), -30, 'take() may go into debt');
  assert.equal(b.waitMs(10), 300);
  assert.equal(b.level(310), 0);
  assert.equal(b.full(10_000), true);
  assert.equal(b.level(10_000), 10, 'never above the burst');
  assert.throws(() => new TokenBucket(0, 1), RangeError);
});

test('login throttle: per account and per address, with a retry hint', () => {
  const t = new LoginThrottle({ perAccount: 3, perAddress: 5, windowMs: 60_000 });
  for (let i = 0; i < 3; i++) {
    t.check('alice', '10.0.0.1', 0);
    t.fail('alice', '10.0.0.1', 0);
  }
  const err = (() => { try { t.check('Alice', '10.0.0.9', 0); } catch (e) { return e; } return null; })();
  assert.ok(err instanceof RetryLaterError, 'the account is throttled from any address, case-insensitively');
  assert.equal(err.code, 'LOGIN_THROTTLED');
  assert.equal(err.fatal, true);
  assert.equal(err.retryAfterMs, 20_000, 'one failure comes back every window/limit');
  t.check('bob', '10.0.0.1', 0); // the address has 2 failures left
  t.fail('bob', '10.0.0.1', 0);
  t.fail('carol', '10.0.0.1', 0);
  assert.throws(() => t.check('dave', '10.0.0.1', 0), /from your address/);
  t.check('', '10.0.0.2', 0); // token logins: address only
  t.check('alice', '10.0.0.1', 60_000); // a whole window later, both are clear
});

test('login throttle: idle entries expire and the maps are bounded', () => {
  const t = new LoginThrottle({ perAccount: 2, perAddress: 2, windowMs: 1000, maxEntries: 100 });
  for (let i = 0; i < 1000; i++) t.fail(`user${i}`, `10.0.${i >> 8}.${i & 255}`, 0);
  assert.deepEqual(t.entries, { accounts: 100, addresses: 100 });
  // The most recent failures are the ones kept.
  t.fail('user999', '10.0.3.231', 0);
  assert.throws(() => t.check('user999', '1.1.1.1', 0), /LOGIN_THROTTLED|too many/);
  t.sweep(999);
  assert.deepEqual(t.entries, { accounts: 1, addresses: 1 }, 'only the key with two failures is not whole again');
  t.sweep(1000);
  assert.deepEqual(t.entries, { accounts: 0, addresses: 0 });
  const off = new LoginThrottle({ perAccount: 0, perAddress: 0, windowMs: 1000 });
  for (let i = 0; i < 100; i++) off.fail('x', 'y', 0);
  off.check('x', 'y', 0);
  assert.deepEqual(off.entries, { accounts: 0, addresses: 0 });
});

test('the new options are validated and named', () => {
  const o = parseOptions({});
  assert.deepEqual([o.msgRate, o.msgBurst, o.connectRate, o.adminPort, o.adminHost, o.tlsCert], [2000, 4000, 5000, -1, '127.0.0.1', '']);
  assert.equal(parseOptions({ adminPort: 'off' as unknown as number }).adminPort, -1);
  assert.equal(parseOptions({ adminPort: '0' as unknown as number }).adminPort, 0);
  assert.throws(() => parseOptions({ msgRate: -1 }), /option "msgRate"/);
  assert.throws(() => parseOptions({ msgBurst: 0 }), /option "msgBurst"/);
  assert.throws(() => parseOptions({ connectRate: '' as unknown as number }), /option "connectRate"/);
  assert.throws(() => parseOptions({ adminPort: -2 }), /option "adminPort"/);
  assert.throws(() => parseOptions({ adminPort: 9090, port: 9090 }), /"adminPort" \(9090\) must differ/);
  assert.throws(() => parseOptions({ tlsCert: 'a.pem' }), /"tlsCert" and "tlsKey" go together/);
  assert.throws(() => parseOptions({ loginFailureWindowMs: 10 }), /option "loginFailureWindowMs"/);
  assert.throws(() => parseOptions({ shutdownGraceMs: 0 }), /option "shutdownGraceMs"/);
});

test('maxNoticesPerUser: default 500, a string from a flag is a number, 0 / fractions / past 100000 are refused', () => {
  assert.equal(parseOptions({}).maxNoticesPerUser, 500);
  assert.equal(parseOptions({ maxNoticesPerUser: '20' as unknown as number }).maxNoticesPerUser, 20);
  assert.equal(parseOptions({ maxNoticesPerUser: 100_000 }).maxNoticesPerUser, 100_000);
  for (const bad of [0, -1, 2.5, 100_001, 'many']) {
    assert.throws(() => parseOptions({ maxNoticesPerUser: bad as number }), /option "maxNoticesPerUser" must be an integer from 1 to 100000/);
  }
});

test('in-flight gate: pauses each submitting connection at the bound, resumes all below three quarters', () => {
  const PAUSE = 32;
  const conn = (name: string) => {
    const c = { name, paused: 0, pauseReading: (r: number) => { c.paused |= r; }, resumeReading: (r: number) => { c.paused &= ~r; } };
    return c;
  };
  const g = new InflightGate(8, PAUSE);
  const [a, b] = [conn('a'), conn('b')];
  for (let i = 0; i < 7; i++) g.enter(a);
  assert.equal(a.paused, 0, 'below the bound nobody pauses');
  g.enter(a);
  g.enter(b);
  assert.equal(a.paused, PAUSE);
  assert.equal(b.paused, PAUSE);
  assert.equal(g.pausedConnections, 2);
  for (let i = 0; i < 3; i++) g.leave(); // 6 in flight: not below 6
  assert.equal(a.paused, PAUSE, 'hysteresis: still paused at three quarters');
  g.leave(); // 5
  assert.deepEqual([a.paused, b.paused, g.pausedConnections, g.pauses], [0, 0, 0, 2]);
  g.enter(a);
  g.enter(a);
  g.enter(a); // 8 again
  g.forget(a);
  assert.equal(g.pausedConnections, 0, 'a closed connection is not kept');
  assert.equal(new InflightGate(0, PAUSE).limit, 0);
  const off = new InflightGate(0, PAUSE);
  for (let i = 0; i < 100; i++) off.enter(b);
  assert.equal(off.pausedConnections, 0, '0 disables the gate');
});
