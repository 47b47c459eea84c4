/**
 * The group history checker: each count from a hand-built two-worker history, and a clean one
 * at 0/0/0/0/0. Layout: groups of 4 (members 4g..4g+3), position 0 sends; group 0 is "g:500",
 * created with every member at seq 1; the sender's messages get seqs 2, 3, ...
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { GroupHistory, mergeLedgers, type GroupLayout, type Stamp } from '../src';

const RUN = 91;
const CONV = 'g:500';
const layout: GroupLayout = { groupOf: (m) => Math.floor(m / 4), isSender: (m) => m % 4 === 0 };
const stamp = (sender: number, msgNo: number, runId = RUN): Stamp => ({ runId, sender, msgNo, intendedUs: 1000 + msgNo });

/** Worker A holds members 0 (the sender) and 1, worker B members 2 and 3. */
function workers(joins: Record<number, number> = {}): { a: GroupHistory; b: GroupHistory } {
  const a = new GroupHistory(RUN, layout);
  const b = new GroupHistory(RUN, layout);
  a.addSender(0);
  for (const [h, ms] of [[a, [0, 1]], [b, [2, 3]]] as const) {
    for (const m of ms) {
      h.addMember(m);
      h.joined(m, CONV, joins[m] ?? 1, 1);
    }
  }
  return { a, b };
}

/** Sender 0 sends n messages, acked with seq msgNo + 2; its own member holds them. */
function send(a: GroupHistory, n: number, seqOf = (i: number) => i + 2): void {
  for (let i = 0; i < n; i++) {
    a.sent(0, i, 1000 + i);
    assert.equal(a.acked(0, i, seqOf(i)), true);
    a.own(0, CONV, seqOf(i));
  }
}

/** Every member sees the create notice (seq 1). */
function notices(a: GroupHistory, b: GroupHistory): void {
  for (const [h, m] of [[a, 0], [a, 1], [b, 2], [b, 3]] as const) assert.equal(h.delivered(m, CONV, 1, true, null), 'system');
}

const failing = (r: { lost: number; duplicates: number; reordered: number; unexpected: number; gaps: number }): number[] =>
  [r.lost, r.duplicates, r.reordered, r.unexpected, r.gaps];

describe('GroupHistory', () => {
  it('a clean run over two workers: every member got every message once → 0/0/0/0/0', () => {
    const { a, b } = workers();
    notices(a, b);
    send(a, 3);
    for (const [h, m] of [[a, 1], [b, 2], [b, 3]] as const) {
      for (let i = 0; i < 3; i++) assert.equal(h.delivered(m, CONV, i + 2, false, stamp(0, i)), 'new');
    }
    const ledger = mergeLedgers([a.ledger(), b.ledger()]);
    assert.deepEqual(ledger.acked[0], [2, 0, 0, 3, 0, 1, 4, 0, 2]);
    const ra = a.check(ledger);
    const rb = b.check(ledger);
    assert.deepEqual(failing(ra), [0, 0, 0, 0, 0], ra.examples.join('\n'));
    assert.deepEqual(failing(rb), [0, 0, 0, 0, 0], rb.examples.join('\n'));
    assert.equal(ra.ok && rb.ok, true);
    assert.equal(ra.sent, 3);
    assert.equal(ra.delivered + rb.delivered, 9, 'deliveries count per member, the SYSTEM notice not included');
  });

  it('lost: acked, at or after the member\'s join, never delivered to it (also a gap)', () => {
    const { a, b } = workers();
    notices(a, b);
    send(a, 3);
    b.delivered(2, CONV, 2, false, stamp(0, 0));
    b.delivered(2, CONV, 4, false, stamp(0, 2));
    const r = b.check(mergeLedgers([a.ledger(), b.ledger()]));
    // Member 2 misses seq 3; member 3 got nothing at all.
    assert.equal(r.lost, 1 + 3);
    assert.equal(r.gaps, 1 + 3);
    assert.match(r.examples.join('\n'), /lost: sender 0 message 1 acked as seq 3 of g:500, never delivered to member 2/);
    assert.equal(r.ok, false);
  });

  it('SYSTEM messages hold seqs: never unexpected; a missed one is a gap; before a late join, nothing is owed', () => {
    const { a, b } = workers({ 3: 3 });
    a.delivered(0, CONV, 1, true, null);
    a.delivered(1, CONV, 1, true, null);
    // Member 2 misses the create notice; member 3 joined by a later invite (seq 3, a SYSTEM message).
    send(a, 3, (i) => [2, 4, 5][i]!);
    a.delivered(0, CONV, 3, true, null);
    a.delivered(1, CONV, 3, true, null);
    b.delivered(2, CONV, 3, true, null);
    b.delivered(3, CONV, 3, true, null);
    for (const [h, m] of [[a, 1], [b, 2]] as const) for (const [i, q] of [[0, 2], [1, 4], [2, 5]]) h.delivered(m, CONV, q!, false, stamp(0, i!));
    b.delivered(3, CONV, 4, false, stamp(0, 1));
    b.delivered(3, CONV, 5, false, stamp(0, 2));
    const ledger = mergeLedgers([a.ledger(), b.ledger()]);
    assert.deepEqual(failing(a.check(ledger)), [0, 0, 0, 0, 0]);
    const rb = b.check(ledger);
    assert.deepEqual(failing(rb), [0, 0, 0, 0, 1], rb.examples.join('\n'));
    assert.match(rb.examples.join('\n'), /gaps: 1 seq\(s\) missing between 1 and 5 in g:500 for member 2/);
  });

  it('duplicates: one message delivered to a member under two seqs (stored twice)', () => {
    const { a, b } = workers();
    notices(a, b);
    send(a, 1);
    b.delivered(2, CONV, 2, false, stamp(0, 0));
    assert.equal(b.delivered(2, CONV, 3, false, stamp(0, 0)), 'duplicate');
    const r = b.check(mergeLedgers([a.ledger()]));
    assert.equal(r.duplicates, 1);
    assert.equal(r.ok, false);
  });

  it('the same (conv, seq) twice is a transport duplicate; an arrival below the highest seq is out of order: neither fails', () => {
    const { a, b } = workers();
    notices(a, b);
    send(a, 2);
    for (const m of [2, 3]) {
      b.delivered(m, CONV, 3, false, stamp(0, 1));
      b.delivered(m, CONV, 2, false, stamp(0, 0));
    }
    assert.equal(b.delivered(2, CONV, 2, false, stamp(0, 0)), 'transport-duplicate');
    const r = b.check(mergeLedgers([a.ledger()]));
    assert.deepEqual(failing(r), [0, 0, 0, 0, 0]);
    assert.equal(r.transportDuplicates, 1);
    assert.equal(r.outOfOrderArrivals, 2);
  });

  it('unexpected: another run, no stamp, a non-sender, another group\'s sender, another conversation, a number never sent, two messages under one seq', () => {
    const { a, b } = workers();
    notices(a, b);
    send(a, 1);
    assert.equal(b.delivered(2, CONV, 10, false, stamp(0, 0, RUN + 1)), 'unexpected');
    assert.equal(b.delivered(2, CONV, 11, false, null), 'unexpected');
    assert.equal(b.delivered(2, CONV, 12, false, stamp(1, 0)), 'unexpected');
    assert.equal(b.delivered(2, CONV, 13, false, stamp(4, 0)), 'unexpected');
    assert.equal(b.delivered(2, 'g:501', 2, false, stamp(0, 0)), 'unexpected');
    assert.equal(b.delivered(3, CONV, 14, false, stamp(0, 7)), 'new');
    b.delivered(2, CONV, 2, false, stamp(0, 0));
    b.delivered(3, CONV, 2, true, null);
    const r = b.check(mergeLedgers([a.ledger()]));
    assert.equal(r.unexpected, 7, r.examples.join('\n'));
    assert.match(r.examples.join('\n'), /message 7 was delivered but never sent/);
    assert.match(r.examples.join('\n'), /two different messages under seq 2/);
  });

  it('reordered: the sender\'s acks carry seqs against its send order', () => {
    const { a } = workers();
    send(a, 3, (i) => [2, 4, 3][i]!);
    const r = a.check(mergeLedgers([a.ledger()]));
    assert.equal(r.reordered, 1);
    assert.match(r.examples.join('\n'), /reordered: sender 0 message 2 has seq 3, below message 1's seq 4/);
  });

  it('unacked and refused sends are not lost; unacked ones that arrived are counted apart', () => {
    const { a, b } = workers();
    notices(a, b);
    a.sent(0, 0, 1000);
    a.sent(0, 1, 1001);
    a.refused(0, 1);
    assert.equal(a.outstanding, 1);
    b.delivered(2, CONV, 2, false, stamp(0, 0));
    const ledger = mergeLedgers([a.ledger(), b.ledger()]);
    assert.deepEqual(ledger.unacked[0], [0, 0]);
    const r = b.check(ledger);
    assert.equal(r.lost, 0);
    assert.equal(r.unackedDelivered, 1);
    assert.deepEqual(a.check(ledger).refused, 1);
  });
});
