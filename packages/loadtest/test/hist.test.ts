/**
 * Histograms: summaries, clamping, and merging across workers through the IPC encoding.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { decodeHistogram, encodeHistogram, mergeHistograms, newHistogram, recordUs, summarize } from '../src';

describe('histograms', () => {
  it('summarizes in ms, null when empty', () => {
    assert.equal(summarize(newHistogram()).p99Ms, null);
    const h = newHistogram();
    for (let v = 1; v <= 1000; v++) recordUs(h, v * 10); // 10 µs .. 10 ms
    const s = summarize(h);
    assert.equal(s.count, 1000);
    assert.ok(Math.abs(s.p50Ms! - 5) < 0.01, String(s.p50Ms));
    assert.ok(Math.abs(s.p99Ms! - 9.9) < 0.01, String(s.p99Ms));
    assert.ok(Math.abs(s.maxMs! - 10) < 0.01);
  });

  it('clamps values outside [1 µs, 1 h] instead of throwing', () => {
    const h = newHistogram();
    recordUs(h, -5);
    recordUs(h, 1e13);
    assert.equal(h.totalCount, 2);
  });

  it('merging encoded worker histograms equals recording everything in one', () => {
    const parts = [newHistogram(), newHistogram(), newHistogram()];
    const all = newHistogram();
    let x = 12345;
    for (let i = 0; i < 30_000; i++) {
      x = (x * 1103515245 + 12345) % 2147483648;
      const v = 50 + (x % 200_000);
      recordUs(parts[i % 3]!, v);
      recordUs(all, v);
    }
    const merged = mergeHistograms(parts.map(encodeHistogram));
    assert.equal(merged.totalCount, all.totalCount);
    for (const p of [50, 90, 99, 99.9, 100]) assert.equal(merged.getValueAtPercentile(p), all.getValueAtPercentile(p), `p${p}`);
    assert.equal(decodeHistogram(encodeHistogram(all)).getValueAtPercentile(100), all.getValueAtPercentile(100));
    assert.equal(mergeHistograms([]).totalCount, 0);
  });
});
