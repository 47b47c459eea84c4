/** The Inbox alone: dedup, ordering, gaps, own seqs, cursors and ack coalescing. No sockets. */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { ChatMessage } from '@hxim/im-common';
import { Inbox } from '../src';

function msg(convId: string, seq: number, userId = 1): ChatMessage {
  return {
    id: `c${seq}`, userId, receiveId: 2, convId, seq, msgBody: Buffer.from(`m${seq}`), serverMsgId: seq,
    serverTime: 0, timeStamp: 0, userPlatformId: 0, userMacId: '', msgType: 0, needAck: false, groupId: 0,
  };
}
const seqs = (ms: ChatMessage[]): number[] => ms.map((m) => m.seq);

describe('Inbox', () => {
  it('sets an unknown conversation’s floor from its first message and delivers in order', () => {
    const inbox = new Inbox();
    assert.deepEqual(seqs(inbox.receive(msg('p:1:2', 7))), [7]);
    assert.deepEqual(seqs(inbox.receive(msg('p:1:2', 8))), [8]);
    assert.deepEqual(inbox.cursors(), [{ convId: 'p:1:2', seq: 8 }]);
  });

  it('drops repeated and old seqs', () => {
    const inbox = new Inbox();
    inbox.setFloor('p:1:2', 3);
    assert.deepEqual(seqs(inbox.receive(msg('p:1:2', 2))), []);
    assert.deepEqual(seqs(inbox.receive(msg('p:1:2', 4))), [4]);
    assert.deepEqual(seqs(inbox.receive(msg('p:1:2', 4))), []);
    assert.equal(inbox.stats.duplicates, 2);
  });

  it('holds messages behind a gap and releases them in order when it closes', () => {
    const inbox = new Inbox();
    inbox.setFloor('p:1:2', 0);
    assert.deepEqual(seqs(inbox.receive(msg('p:1:2', 1))), [1]);
    assert.deepEqual(seqs(inbox.receive(msg('p:1:2', 4))), []);
    assert.deepEqual(seqs(inbox.receive(msg('p:1:2', 3))), []);
    assert.deepEqual(seqs(inbox.receive(msg('p:1:2', 3))), [], 'a held seq is a duplicate too');
    assert.deepEqual(inbox.gaps(), [{ convId: 'p:1:2', seq: 1 }]);
    assert.deepEqual(seqs(inbox.receive(msg('p:1:2', 2))), [2, 3, 4]);
    assert.deepEqual(inbox.gaps(), []);
  });

  it('counts own STORED seqs as seen, never delivers them, and lets them close gaps', () => {
    const inbox = new Inbox();
    inbox.setFloor('p:1:2', 1);
    assert.deepEqual(seqs(inbox.markOwn('p:1:2', 3)), []);
    assert.deepEqual(seqs(inbox.receive(msg('p:1:2', 4))), []);
    assert.deepEqual(seqs(inbox.receive(msg('p:1:2', 2))), [2, 4], '3 is ours');
    assert.equal(inbox.floorOf('p:1:2'), 4);
    assert.deepEqual(seqs(inbox.receive(msg('p:1:2', 3))), [], 'our own message echoed back');
  });

  it('treats seq 1 of an own send as the start of a new conversation', () => {
    const inbox = new Inbox();
    inbox.markOwn('p:1:2', 1);
    assert.equal(inbox.floorOf('p:1:2'), 1);
    assert.deepEqual(seqs(inbox.receive(msg('p:1:2', 3))), [], 'seq 2 is missing');
    assert.deepEqual(inbox.gaps(), [{ convId: 'p:1:2', seq: 1 }]);
  });

  it('keeps an own seq seen before any floor, for the first message to settle', () => {
    const inbox = new Inbox();
    inbox.markOwn('p:1:2', 5);
    assert.deepEqual(seqs(inbox.receive(msg('p:1:2', 4))), [4]);
    assert.equal(inbox.floorOf('p:1:2'), 5);
  });

  it('receive(asOwn) records a pending own message without delivering it', () => {
    const inbox = new Inbox();
    inbox.setFloor('p:1:2', 0);
    assert.deepEqual(seqs(inbox.receive(msg('p:1:2', 1, 2), true)), []);
    assert.deepEqual(seqs(inbox.receive(msg('p:1:2', 2))), [2]);
  });

  it('skipGap releases held messages past a hole and reports the range', () => {
    const inbox = new Inbox();
    inbox.setFloor('p:1:2', 1);
    inbox.receive(msg('p:1:2', 5));
    inbox.receive(msg('p:1:2', 6));
    const r = inbox.skipGap('p:1:2')!;
    assert.deepEqual(seqs(r.released), [5, 6]);
    assert.deepEqual([r.from, r.to], [2, 4]);
    assert.equal(inbox.floorOf('p:1:2'), 6);
  });

  it('coalesces DELIVERED acks per conversation and re-acks everything after resetAcks', () => {
    const inbox = new Inbox();
    for (let s = 1; s <= 5; s++) inbox.receive(msg('p:1:2', s));
    inbox.receive(msg('p:1:3', 9));
    assert.deepEqual(inbox.takeAcks(), [{ convId: 'p:1:2', seq: 5 }, { convId: 'p:1:3', seq: 9 }]);
    assert.deepEqual(inbox.takeAcks(), []);
    inbox.markOwn('p:1:2', 6);
    assert.deepEqual(inbox.takeAcks(), [{ convId: 'p:1:2', seq: 6 }], 'own seqs move the cursor too');
    inbox.resetAcks();
    assert.deepEqual(inbox.takeAcks(), [{ convId: 'p:1:2', seq: 6 }, { convId: 'p:1:3', seq: 9 }]);
  });

  it('setFloorIfUnknown only seeds unknown conversations', () => {
    const inbox = new Inbox();
    inbox.setFloor('p:1:2', 3);
    inbox.setFloorIfUnknown('p:1:2', 10);
    inbox.setFloorIfUnknown('p:1:3', 10);
    assert.equal(inbox.floorOf('p:1:2'), 3);
    assert.equal(inbox.floorOf('p:1:3'), 10);
  });

  it('passes through a message without a seq (nothing to order by)', () => {
    const inbox = new Inbox();
    assert.equal(inbox.receive(msg('', 0)).length, 1);
  });
});
