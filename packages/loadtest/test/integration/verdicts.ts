/** What every smoke run asserts: the history checker at 0/0/0/0/0 and a passing run. */
import { strict as assert } from 'node:assert';
import type { RunResult } from '../../src';

/** Lost, duplicates, reordered, unexpected and gaps are all 0, and the run passed. */
export function assertClean(r: RunResult): void {
  const h = r.history;
  assert.deepEqual({ lost: h.lost, duplicates: h.duplicates, reordered: h.reordered, unexpected: h.unexpected, gaps: h.gaps },
    { lost: 0, duplicates: 0, reordered: 0, unexpected: 0, gaps: 0 }, h.examples.join('\n'));
  assert.equal(r.pass, true, JSON.stringify({ notes: r.notes, errors: r.errors, figures: r.figures }));
}

/** A clean 1:1 run (chat, cross) where every message was acked and every acked message delivered once. */
export function assertChatClean(r: RunResult): void {
  assertClean(r);
  assert.ok(r.history.acked > 0);
  assert.equal(r.history.unacked, 0);
  assert.equal(r.history.delivered, r.history.acked);
}

/** A clean group run of `members` members: every acked message reached every other member. */
export function assertGroupClean(r: RunResult, members: number): void {
  assertClean(r);
  const h = r.history;
  assert.equal(r.connections.connected, members);
  assert.ok(h.acked > 0);
  assert.equal(h.unacked, 0);
  const others = (r.options.groupSize - 1);
  assert.equal(h.delivered, h.acked * others, 'each acked message is delivered once to each other member');
  assert.ok(r.latency.lastMember!.count > 0);
  assert.equal(r.errors.SETUP_NOTICES_MISSING, undefined);
}
