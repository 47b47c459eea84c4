/**
 * Message stamps and the pre-encoded chat template: what the template builds is exactly what
 * im-common's encoder would produce for the same message.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { decodeBody, encodeFrame, MessageType } from '@hxim/im-common';
import { ChatTemplate, clientMsgId, makeBody, msgNoOf, readStamp } from '../src';

describe('stamps', () => {
  it('round-trips and refuses foreign bodies', () => {
    const s = { runId: 4_000_000_000, sender: 12, msgNo: 99, intendedUs: 123456789.25 };
    assert.deepEqual(readStamp(makeBody(s, 100)), s);
    assert.equal(readStamp(Buffer.from('hello world, not a load message')), null);
    assert.equal(readStamp(Buffer.alloc(10)), null);
  });

  it('client message ids carry the message number', () => {
    assert.equal(clientMsgId(42), 'm0000000042');
    assert.equal(msgNoOf('m0000000042'), 42);
    assert.equal(msgNoOf('x0000000042'), -1);
    assert.equal(msgNoOf('m42'), -1);
  });
});

describe('ChatTemplate', () => {
  it('builds the same bytes as encodeFrame for each message', () => {
    const t = new ChatTemplate(7, 3, 10_000_000_123, 100);
    for (const [msgNo, at] of [[0, 1.5], [1, 2e9], [123456, 98765.125]] as const) {
      const built = t.build(msgNo, at);
      const expected = encodeFrame(MessageType.CHAT, {
        id: clientMsgId(msgNo), receiveId: 10_000_000_123, msgBody: makeBody({ runId: 7, sender: 3, msgNo, intendedUs: at }, 100),
      });
      assert.deepEqual(built, expected);
      const m = decodeBody(MessageType.CHAT, built.subarray(8));
      assert.deepEqual(readStamp(m.msgBody), { runId: 7, sender: 3, msgNo, intendedUs: at });
    }
  });
});
