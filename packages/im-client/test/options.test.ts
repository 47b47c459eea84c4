/** Options parsing, the backoff policy and the loss policy. */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import {
  ClientError, ServerError, defaultReconnectDelay, parseOptions, parseServerList, RECONNECT_CAP_MS, RECONNECT_MIN_MS,
  type ClientOptions,
} from '../src';
import { afterLoss, heartbeatFor, idleTimeoutFor } from '../src/policy';

const base: ClientOptions = { servers: [{ host: '127.0.0.1', port: 9090 }], auth: { userId: 1 } };

describe('defaultReconnectDelay', () => {
  it('stays within [100 ms, 5 s] for every attempt and random value', () => {
    for (let attempt = 0; attempt <= 64; attempt++) {
      for (const r of [0, 0.001, 0.25, 0.5, 0.999999]) {
        const d = defaultReconnectDelay(attempt, () => r);
        assert.ok(d >= RECONNECT_MIN_MS && d <= RECONNECT_CAP_MS, `attempt ${attempt}, random ${r}: ${d}`);
      }
    }
  });

  it('grows exponentially from 200 ms × 2^attempt until the cap', () => {
    const top = (attempt: number): number => defaultReconnectDelay(attempt, () => 0.999999);
    assert.equal(top(1), 399);
    assert.equal(top(2), 799);
    assert.equal(top(3), 1599);
    assert.equal(top(4), 3199);
    assert.equal(top(5), 4999);
    assert.equal(top(1000), 4999);
  });

  it('uses full jitter: the low end is the 100 ms floor', () => {
    assert.equal(defaultReconnectDelay(10, () => 0), 100);
    const spread = new Set(Array.from({ length: 50 }, () => defaultReconnectDelay(6)));
    assert.ok(spread.size > 10, 'random delays differ');
  });
});

describe('parseOptions', () => {
  it('fills in the defaults', () => {
    const o = parseOptions(base);
    assert.equal(o.platform, 1);
    assert.equal(o.heartbeatMs, undefined);
    assert.equal(o.connectTimeoutMs, 10_000);
    assert.equal(o.ackTimeoutMs, 10_000);
    assert.equal(o.reconnect, true);
    assert.equal(o.tls, undefined);
    assert.deepEqual(parseOptions({ ...base, tls: true }).tls, {});
  });

  it('names the bad field', () => {
    const bad = (o: unknown, field: RegExp): void => {
      assert.throws(() => parseOptions(o as ClientOptions), (e: unknown) => e instanceof ClientError && e.code === 'BAD_OPTION' && field.test(e.message));
    };
    bad({ ...base, servers: [] }, /"servers"/);
    bad({ ...base, servers: [{ host: 'x', port: 0 }] }, /"servers\[0\]\.port"/);
    bad({ ...base, auth: {} }, /"auth"/);
    bad({ ...base, auth: { userName: '', password: 'x' } }, /"auth\.userName"/);
    bad({ ...base, auth: { userId: -1 } }, /"auth\.userId"/);
    bad({ ...base, heartbeatMs: 1.5 }, /"heartbeatMs"/);
    bad({ ...base, maxInflight: 0 }, /"maxInflight"/);
    bad({ ...base, reconnectDelay: 5 }, /"reconnectDelay"/);
    bad({ ...base, lastSeqs: [{ convId: 'p:1:2', seq: -1 }] }, /"lastSeqs\[0\]\.seq"/);
  });

  it('parses host:port lists, IPv6 included', () => {
    assert.deepEqual(parseServerList('a:1, b:2,[::1]:3'), [{ host: 'a', port: 1 }, { host: 'b', port: 2 }, { host: '::1', port: 3 }]);
    assert.throws(() => parseServerList('a'), /host:port/);
    assert.throws(() => parseServerList('a:70000'), /1-65535/);
  });
});

describe('policy', () => {
  const err = (code: string, fatal = true, retryAfterMs = 0): ServerError => new ServerError({ requestId: '', code, message: code, fatal, refType: 0, retryAfterMs });

  it('heartbeat: explicit, capped by the server; else the server; else 5 s', () => {
    assert.equal(heartbeatFor(parseOptions(base), 0), 5000);
    assert.equal(heartbeatFor(parseOptions(base), 3000), 3000);
    assert.equal(heartbeatFor(parseOptions({ ...base, heartbeatMs: 1000 }), 3000), 1000);
    assert.equal(heartbeatFor(parseOptions({ ...base, heartbeatMs: 9000 }), 3000), 3000);
    assert.equal(idleTimeoutFor(parseOptions(base), 10_000), 30_000);
    assert.equal(idleTimeoutFor(parseOptions(base), 5_000), 15_000);
  });

  it('decides what follows a loss', () => {
    const o = parseOptions(base);
    assert.deepEqual(afterLoss(err('SESSION_REPLACED'), o, true).kind, 'kicked');
    assert.deepEqual(afterLoss(err('SERVER_DRAINING'), o, true), { kind: 'reconnect', immediate: true, dropToken: false, nextServer: true, minDelayMs: 0 });
    assert.deepEqual(afterLoss(new Error('gone'), o, true), { kind: 'reconnect', immediate: false, dropToken: false, nextServer: true, minDelayMs: 0 });
    // The server's retryAfterMs is a floor under the backoff.
    assert.deepEqual(afterLoss(err('RATE_LIMITED', true, 1500), o, true), { kind: 'reconnect', immediate: false, dropToken: false, nextServer: true, minDelayMs: 1500 });
    assert.deepEqual(afterLoss(err('LOGIN_THROTTLED', true, 30_000), o, true), { kind: 'reconnect', immediate: false, dropToken: false, nextServer: true, minDelayMs: 30_000 });
    assert.deepEqual(afterLoss(err('BAD_TOKEN'), o, true), { kind: 'reconnect', immediate: true, dropToken: true, nextServer: false, minDelayMs: 0 });
    assert.equal(afterLoss(err('BAD_TOKEN'), parseOptions({ ...base, auth: { token: 't' } }), false).kind, 'close');
    assert.equal(afterLoss(err('BAD_CREDENTIALS'), o, false).kind, 'close');
    assert.equal(afterLoss(new Error('gone'), parseOptions({ ...base, reconnect: false }), true).kind, 'close');
  });
});
