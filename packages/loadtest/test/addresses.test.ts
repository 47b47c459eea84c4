/**
 * Source-address ranges and their rotation.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { MAX_SOURCE_ADDRS, parseSourceAddrs, sourceAddressFor } from '../src';

describe('parseSourceAddrs', () => {
  it('expands ranges, last-octet shorthand and lists, without repeats', () => {
    assert.deepEqual(parseSourceAddrs('127.0.0.2-127.0.0.4'), ['127.0.0.2', '127.0.0.3', '127.0.0.4']);
    assert.deepEqual(parseSourceAddrs('127.0.0.9-10,127.0.1.1'), ['127.0.0.9', '127.0.0.10', '127.0.1.1']);
    assert.deepEqual(parseSourceAddrs('127.0.0.255-127.0.1.1'), ['127.0.0.255', '127.0.1.0', '127.0.1.1']);
    assert.deepEqual(parseSourceAddrs('127.0.0.2,127.0.0.2'), ['127.0.0.2']);
    assert.equal(parseSourceAddrs('127.0.0.2-127.0.0.20').length, 19);
  });

  it('refuses non-loopback, backwards, malformed and oversized ranges', () => {
    assert.throws(() => parseSourceAddrs('10.0.0.1'), /not loopback/);
    assert.throws(() => parseSourceAddrs('127.255.255.255-128.0.0.1'), /128\.0\.0\.0 is not loopback/);
    assert.throws(() => parseSourceAddrs('127.0.0.9-127.0.0.2'), /backwards/);
    assert.throws(() => parseSourceAddrs('127.0.0.x'), /not an IPv4/);
    assert.throws(() => parseSourceAddrs(''), /at least one/);
    assert.throws(() => parseSourceAddrs('127.0.0.1-127.0.2.1'), new RegExp(`more than ${MAX_SOURCE_ADDRS}`));
  });
});

describe('sourceAddressFor', () => {
  it('rotates round-robin by connection number, so every address gets an even share', () => {
    const addrs = parseSourceAddrs('127.0.0.2-127.0.0.4');
    const counts = new Map<string, number>();
    for (let k = 0; k < 300; k++) {
      const a = sourceAddressFor(addrs, k)!;
      counts.set(a, (counts.get(a) ?? 0) + 1);
    }
    assert.deepEqual([...counts.values()], [100, 100, 100]);
    assert.equal(sourceAddressFor(addrs, 0), '127.0.0.2');
    assert.equal(sourceAddressFor(addrs, 4), '127.0.0.3');
    assert.equal(sourceAddressFor([], 4), undefined);
  });

  it('keeps 39,000 sockets under ~28k ephemeral ports per address with the default range', () => {
    const addrs = parseSourceAddrs('127.0.0.2-127.0.0.20');
    const per = new Map<string, number>();
    for (let k = 0; k < 39_000; k++) per.set(sourceAddressFor(addrs, k)!, (per.get(sourceAddressFor(addrs, k)!) ?? 0) + 1);
    assert.ok(Math.max(...per.values()) < 28_000);
  });
});
