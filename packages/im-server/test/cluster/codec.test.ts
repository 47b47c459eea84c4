/**
 * keys.ts and envelope.ts: the names every backend uses, and the bus wire format (round trip,
 * truncation at every byte, and a seeded fuzz loop: an envelope or an EnvelopeError, nothing else).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ClusterKeys, decodeEnvelope, encodeEnvelope, EnvelopeError, parseLocationValue, encodeLocationValue,
  checkInstanceId, type Envelope, amqpReconnectDelay, redisReconnectDelay,
} from '../../src/cluster';

describe('ClusterKeys', () => {
  it('builds namespaced names', () => {
    const k = new ClusterKeys();
    assert.equal(k.location(1001), 'hxim:loc:1001');
    assert.equal(k.location(-1), 'hxim:loc:-1');
    assert.equal(k.platformField(2), '2');
    assert.equal(k.instance('node-1'), 'hxim:inst:node-1');
    assert.equal(k.instanceIndex, 'hxim:insts');
    assert.equal(k.exchange, 'hxim.direct');
    assert.equal(k.queue('node-1'), 'hxim.inst.node-1');
    assert.equal(k.routingKey('node-1'), 'node-1');
    assert.equal(new ClusterKeys('test_1').location(5), 'test_1:loc:5');
    assert.equal(k.redisPattern(), 'hxim:*');
  });

  it('refuses anything that could escape its slot', () => {
    const k = new ClusterKeys();
    for (const bad of ['', 'a b', 'a:b', 'a|b', 'a*', 'é', 'x'.repeat(129), '../x']) {
      assert.throws(() => k.instance(bad), TypeError, bad);
      assert.throws(() => k.queue(bad), /instanceId/, bad);
    }
    for (const bad of [1.5, Number.NaN, Infinity, 2 ** 53, '1' as unknown as number]) {
      assert.throws(() => k.location(bad), /userId/);
    }
    assert.throws(() => new ClusterKeys('a:b'), /prefix/);
    assert.throws(() => new ClusterKeys(''), /prefix/);
    assert.equal(checkInstanceId('A.z_0-9'), 'A.z_0-9');
  });

  it('location values round trip, and malformed ones parse to null', () => {
    const v = { expiresAt: 1_700_000_000_123, instanceId: 'n-1', connId: 'c|with|bars' };
    assert.deepEqual(parseLocationValue(encodeLocationValue(v)), v);
    for (const bad of ['', '1|n', '|n|c', 'x|n|c', '1||c', '1|n|', '1|bad id|c']) assert.equal(parseLocationValue(bad), null, bad);
  });
});

describe('envelope codec', () => {
  const samples: Envelope[] = [
    { kind: 'deliver', origin: 'node-1', userIds: [1, -1, 2 ** 53 - 1], exceptConnId: 'node-1#5', frame: Buffer.from('00000000000000030a', 'hex') },
    { kind: 'deliver', origin: 'n', userIds: [], exceptConnId: '', frame: Buffer.alloc(0) },
    { kind: 'kick', origin: 'node.2', userId: 9, platform: 3, connId: 'node-1#7', reason: 'logged in elsewhere' },
  ];

  it('round trips', () => {
    for (const env of samples) assert.deepEqual(decodeEnvelope(encodeEnvelope(env)), env);
  });

  it('rejects every truncation with an EnvelopeError', () => {
    for (const env of samples) {
      const buf = encodeEnvelope(env);
      const minimal = env.kind === 'deliver' ? buf.length - env.frame.length : buf.length;
      for (let cut = 0; cut < minimal; cut++) {
        assert.throws(() => decodeEnvelope(buf.subarray(0, cut)), EnvelopeError, `cut at ${cut}`);
      }
    }
  });

  it('refuses invalid envelopes to encode', () => {
    assert.throws(() => encodeEnvelope({ ...samples[0]!, origin: 'a b' } as Envelope), EnvelopeError);
    assert.throws(() => encodeEnvelope({ ...samples[0]!, userIds: [0.5] } as Envelope), EnvelopeError);
    assert.throws(() => encodeEnvelope({ kind: 'other', origin: 'a' } as unknown as Envelope), EnvelopeError);
  });

  it('fuzz: random bytes decode or throw EnvelopeError, never anything else', () => {
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const base = samples.map((s) => encodeEnvelope(s));
    for (let i = 0; i < 20_000; i++) {
      const src = base[i % base.length]!;
      const buf = Buffer.from(src);
      const flips = 1 + Math.floor(rnd() * 4);
      for (let f = 0; f < flips; f++) buf[Math.floor(rnd() * buf.length)] = Math.floor(rnd() * 256);
      try {
        decodeEnvelope(buf);
      } catch (err) {
        assert.ok(err instanceof EnvelopeError, `iteration ${i}: ${String(err)}`);
      }
    }
  });
});

describe('reconnect policies', () => {
  it('grow and stay under their caps (2 s Redis, 5 s RabbitMQ)', () => {
    for (let a = 1; a < 60; a++) {
      assert.ok(redisReconnectDelay(a) <= 2_000);
      assert.ok(amqpReconnectDelay(a) <= 5_000);
      assert.ok(amqpReconnectDelay(a) >= 0);
    }
    assert.ok(amqpReconnectDelay(1) < 200);
    assert.ok(amqpReconnectDelay(30) >= 4_000);
  });
});
