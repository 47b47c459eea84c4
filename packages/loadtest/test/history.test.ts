/**
 * The history checker: each count from a hand-built history, and a clean history at 0/0/0/0.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { HistoryRecorder, mergeReports, type Stamp } from '../src';

const RUN = 77;
const CONV = 'p:10:11';
const stamp = (sender: number, msgNo: number, runId = RUN): Stamp => ({ runId, sender, msgNo, intendedUs: 1000 + msgNo });

/** One sender (0) → receiver (0); sends n messages, all acked with seq = msgNo + 1. */
function acked(n: number, appOrdered = false): HistoryRecorder {
  const h = new HistoryRecorder(RUN, appOrdered);
  h.addSender(0, 0);
  for (let i = 0; i < n; i++) {
    h.sent(0, i, 1000 + i);
    assert.equal(h.acked(0, i, CONV, i + 1), true);
  }
  return h;
}

describe('HistoryRecorder', () => {
  it('a clean run: everything acked and delivered once, in order → 0/0/0/0, ok', () => {
    const h = acked(5);
    for (let i = 0; i < 5; i++) assert.equal(h.delivered(0, CONV, i + 1, stamp(0, i)), 'new');
    assert.equal(h.outstanding, 0);
    assert.equal(h.ackedUndelivered, 0);
    const r = h.check();
    assert.deepEqual([r.lost, r.duplicates, r.reordered, r.unexpected, r.gaps], [0, 0, 0, 0, 0]);
    assert.equal(r.ok, true);
    assert.equal(r.delivered, 5);
    assert.deepEqual(r.examples, []);
  });

  it('lost: acked but never delivered (and the missing seq is a gap)', () => {
    const h = acked(3);
    h.delivered(0, CONV, 1, stamp(0, 0));
    h.delivered(0, CONV, 3, stamp(0, 2));
    assert.equal(h.ackedUndelivered, 1);
    const r = h.check();
    assert.equal(r.lost, 1);
    assert.equal(r.gaps, 1);
    assert.equal(r.ok, false);
    assert.match(r.examples.join('\n'), /lost: sender 0 message 1 acked as seq 2/);
  });

  it('unacked sends are reported, not lost; delivered ones are counted apart', () => {
    const h = new HistoryRecorder(RUN);
    h.addSender(0, 0);
    h.sent(0, 0, 1);
    h.sent(0, 1, 2);
    h.sent(0, 2, 3);
    h.acked(0, 0, CONV, 1);
    h.delivered(0, CONV, 1, stamp(0, 0));
    h.delivered(0, CONV, 2, stamp(0, 1)); // stored, ack lost
    h.refused(0, 2);
    const r = h.check();
    assert.equal(r.lost, 0);
    assert.equal(r.unacked, 1);
    assert.equal(r.unackedDelivered, 1);
    assert.equal(r.refused, 1);
    assert.equal(r.ok, true);
  });

  it('the same (convId, seq) twice is a transport duplicate (the library drops it), not a failure', () => {
    const h = acked(2);
    h.delivered(0, CONV, 1, stamp(0, 0));
    assert.equal(h.delivered(0, CONV, 1, stamp(0, 0)), 'transport-duplicate');
    h.delivered(0, CONV, 2, stamp(0, 1));
    const r = h.check();
    assert.equal(r.transportDuplicates, 1);
    assert.equal(r.duplicates, 0);
    assert.equal(r.ok, true);
  });

  it('app-visible duplicate: one message delivered under two seqs (stored twice)', () => {
    const h = acked(2);
    h.delivered(0, CONV, 1, stamp(0, 0));
    h.delivered(0, CONV, 2, stamp(0, 1));
    assert.equal(h.delivered(0, CONV, 3, stamp(0, 1)), 'duplicate');
    const r = h.check();
    assert.equal(r.duplicates, 1);
    assert.equal(r.ok, false);
    assert.match(r.examples[0]!, /duplicate: sender 0 message 1 delivered as seq 2 and again as seq 3/);
  });

  it('reordered: the seq order disagrees with the send order', () => {
    const h = new HistoryRecorder(RUN);
    h.addSender(0, 0);
    for (let i = 0; i < 3; i++) h.sent(0, i, i);
    // message 1 got a lower seq than message 0
    h.acked(0, 0, CONV, 2);
    h.acked(0, 1, CONV, 1);
    h.acked(0, 2, CONV, 3);
    h.delivered(0, CONV, 1, stamp(0, 1));
    h.delivered(0, CONV, 2, stamp(0, 0));
    h.delivered(0, CONV, 3, stamp(0, 2));
    const r = h.check();
    assert.equal(r.reordered, 1);
    assert.equal(r.ok, false);
  });

  it('out-of-order arrival is informational for raw receivers, reordered for the library', () => {
    for (const appOrdered of [false, true]) {
      const h = acked(2, appOrdered);
      h.delivered(0, CONV, 2, stamp(0, 1));
      h.delivered(0, CONV, 1, stamp(0, 0));
      const r = h.check();
      assert.equal(r.outOfOrderArrivals, 1);
      assert.equal(r.reordered, appOrdered ? 1 : 0, `appOrdered=${appOrdered}`);
    }
  });

  it('unexpected: another run, an unknown sender, a number never sent, the wrong receiver, no stamp', () => {
    const h = acked(1);
    h.addSender(5, 5);
    assert.equal(h.delivered(0, CONV, 1, stamp(0, 0)), 'new');
    assert.equal(h.delivered(0, CONV, 2, stamp(0, 0, RUN + 1)), 'unexpected');
    assert.equal(h.delivered(0, CONV, 3, stamp(9, 0)), 'unexpected');
    assert.equal(h.delivered(0, CONV, 4, stamp(0, 7)), 'unexpected');
    assert.equal(h.delivered(3, 'p:1:2', 1, stamp(0, 0)), 'unexpected');
    assert.equal(h.delivered(0, CONV, 5, null), 'unexpected');
    const r = h.check();
    assert.equal(r.unexpected, 5);
    assert.equal(r.ok, false);
  });

  it('gaps: a seq never delivered nor acked between known seqs', () => {
    const h = acked(2);
    h.delivered(0, CONV, 1, stamp(0, 0));
    h.delivered(0, CONV, 3, stamp(0, 1)); // acked as 2, delivered as 3: mismatch, and seq 2 missing
    const r = h.check();
    assert.equal(r.seqMismatch, 1);
    assert.equal(r.gaps, 1);
  });

  it('a late ack after the delivery still balances ackedUndelivered', () => {
    const h = new HistoryRecorder(RUN);
    h.addSender(0, 0);
    h.sent(0, 0, 1);
    h.delivered(0, CONV, 1, stamp(0, 0));
    assert.equal(h.outstanding, 1);
    h.acked(0, 0, CONV, 1);
    assert.equal(h.outstanding, 0);
    assert.equal(h.ackedUndelivered, 0);
    assert.equal(h.check().ok, true);
  });

  it('refuses out-of-order message numbers from the driver (a bug, not a finding)', () => {
    const h = new HistoryRecorder(RUN);
    h.addSender(0, 0);
    assert.throws(() => h.sent(0, 1, 0), /expected 0/);
  });

  it('mergeReports adds the counts of several workers and keeps ok only if all are clean', () => {
    const a = acked(1);
    a.delivered(0, CONV, 1, stamp(0, 0));
    const b = acked(2);
    b.delivered(0, CONV, 1, stamp(0, 0));
    const m = mergeReports([a.check(), b.check()]);
    assert.equal(m.sent, 3);
    assert.equal(m.lost, 1);
    assert.equal(m.ok, false);
    assert.equal(mergeReports([a.check(), a.check()]).ok, true);
  });
});
