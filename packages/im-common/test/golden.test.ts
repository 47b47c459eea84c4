/**
 * Golden frames of seed.md §1.5, produced by the Java seed's ProtoEncoder: every one must encode
 * byte for byte and decode to the seed's field values. This is the seed-compatibility contract.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeBody, encodeFrame, FrameDecoder, HEADER_BYTES, MessageType, OnlineKind, ChatKind,
  type MessageByType, type MessageTypeCode,
} from '../src/index';
import { hex, pushAll } from './util';

const TS = 1665142797000;

interface Golden<K extends MessageTypeCode = MessageTypeCode> {
  name: string;
  type: K;
  msg: Partial<MessageByType[K]>;
  frame: string;
}

function golden<K extends MessageTypeCode>(g: Golden<K>): Golden {
  return g as unknown as Golden;
}

const GOLDEN: Golden[] = [
  golden({
    name: 'Online ONLINE', type: MessageType.ONLINE,
    msg: { id: 'test-online', userId: 1001, timeStamp: TS, msgType: OnlineKind.ONLINE },
    frame: '00000017 00000004 0a0b746573742d6f6e6c696e65 10e907 30c8e5fa91bb30',
  }),
  golden({
    name: 'Online OFFLINE', type: MessageType.ONLINE,
    msg: { id: 'test-offline', userId: 1001, timeStamp: TS, msgType: OnlineKind.OFFLINE },
    frame: '0000001a 00000004 0a0c746573742d6f66666c696e65 10e907 30c8e5fa91bb30 3801',
  }),
  golden({
    name: 'Heartbeat', type: MessageType.HEARTBEAT,
    msg: { id: 'test', userId: 1001, timeStamp: TS },
    frame: '00000010 00000003 0a0474657374 10e907 30c8e5fa91bb30',
  }),
  golden({
    name: 'Chat with a Chinese body', type: MessageType.CHAT,
    msg: {
      id: 'test-chat', userId: 1001, receiveId: 1002, msgType: ChatKind.TEXT,
      msgBody: Buffer.from('hi 你好', 'utf8'), timeStamp: TS,
    },
    frame: '00000023 00000002 0a09746573742d63686174 10e907 28ea07 38c8e5fa91bb30 4209686920e4bda0e5a5bd',
  }),
  golden({
    name: 'Chat needAck', type: MessageType.CHAT,
    msg: {
      id: 'test-chat-ack', userId: 1001, receiveId: 1002, msgBody: Buffer.from('hi'), timeStamp: TS,
      needAck: true,
    },
    frame: '00000022 00000002 0a0d746573742d636861742d61636b 10e907 28ea07 38c8e5fa91bb30 42026869 4801',
  }),
  golden({
    name: 'Ack', type: MessageType.ACK,
    msg: { id: 'ack', userId: 1002, receiveId: 1001 },
    frame: '0000000b 00000005 0a0361636b 10ea07 18e907',
  }),
  golden({
    name: 'Business test-init-chat', type: MessageType.BUSINESS,
    msg: { id: 'test-init-chat', userId: 1002, receiveId: 1001 },
    frame: '00000016 00000001 0a0e746573742d696e69742d63686174 10ea07 28e907',
  }),
  golden({
    name: 'Business test-bus', type: MessageType.BUSINESS,
    msg: { id: 'test-bus', userId: 1001, msgBody: 'hello' },
    frame: '00000014 00000001 0a08746573742d627573 10e907 3a0568656c6c6f',
  }),
  golden({
    name: 'Heartbeat, all defaults', type: MessageType.HEARTBEAT,
    msg: {},
    frame: '00000000 00000003',
  }),
];

for (const g of GOLDEN) {
  test(`golden ${g.name}: encodes byte for byte`, () => {
    assert.equal(encodeFrame(g.type, g.msg).toString('hex'), hex(g.frame).toString('hex'));
  });

  test(`golden ${g.name}: decodes to the seed's fields`, () => {
    const { frames, error } = pushAll(new FrameDecoder(), hex(g.frame));
    assert.equal(error, null);
    assert.equal(frames.length, 1);
    assert.equal(frames[0].typeCode, g.type);
    assert.equal(frames[0].body.length, hex(g.frame).length - HEADER_BYTES);
    const msg = decodeBody(g.type, frames[0].body) as unknown as Record<string, unknown>;
    for (const [k, v] of Object.entries(g.msg)) {
      if (v instanceof Uint8Array) assert.deepEqual(Buffer.from(msg[k] as Uint8Array), Buffer.from(v), k);
      else assert.equal(msg[k], v, k);
    }
  });
}

test('golden: explicit defaults are not emitted (proto3, like protobuf-java)', () => {
  // The ONLINE golden frame has no field 7 although msgType is set (to its default, 0).
  const frame = encodeFrame(MessageType.ONLINE, {
    id: 'test-online', userId: 1001, timeStamp: TS, msgType: 0, receiveId: 0, userMacId: '', token: '',
    protocolVersion: 0, lastSeqs: [],
  });
  assert.equal(frame.toString('hex'), hex(GOLDEN[0].frame).toString('hex'));
});

test('golden: decoded fields the seed chat carries', () => {
  const chat = decodeBody(MessageType.CHAT, hex(GOLDEN[3].frame).subarray(HEADER_BYTES));
  assert.equal(chat.id, 'test-chat');
  assert.equal(chat.userId, 1001);
  assert.equal(chat.receiveId, 1002);
  assert.equal(chat.timeStamp, 1665142797000);
  assert.equal(chat.msgType, ChatKind.TEXT);
  assert.equal(Buffer.from(chat.msgBody).toString('utf8'), 'hi 你好');
  assert.equal(chat.needAck, false);
  // Fields the seed never sends read as proto3 defaults.
  assert.equal(chat.seq, 0);
  assert.equal(chat.convId, '');
  assert.equal(chat.userMacId, '');

  const ack = decodeBody(MessageType.CHAT, hex(GOLDEN[4].frame).subarray(HEADER_BYTES));
  assert.equal(ack.needAck, true);
  assert.equal(Buffer.from(ack.msgBody).toString(), 'hi');

  const off = decodeBody(MessageType.ONLINE, hex(GOLDEN[1].frame).subarray(HEADER_BYTES));
  assert.equal(off.msgType, OnlineKind.OFFLINE);
  const on = decodeBody(MessageType.ONLINE, hex(GOLDEN[0].frame).subarray(HEADER_BYTES));
  assert.equal(on.msgType, OnlineKind.ONLINE);
  assert.deepEqual(on.lastSeqs, []);

  const hb = decodeBody(MessageType.HEARTBEAT, Buffer.alloc(0));
  assert.deepEqual({ ...hb }, { id: '', userId: 0, userPlatformId: 0, userMacId: '', receiveId: 0, timeStamp: 0 });
});

test('golden: all the seed frames concatenated decode in order', () => {
  const stream = Buffer.concat(GOLDEN.map((g) => hex(g.frame)));
  const { frames, error } = pushAll(new FrameDecoder(), stream);
  assert.equal(error, null);
  assert.deepEqual(frames.map((f) => f.typeCode), GOLDEN.map((g) => g.type));
});

test('negative int64: userId -1 round trips as a 10-byte varint (seed.md §1.4)', () => {
  const frame = encodeFrame(MessageType.HEARTBEAT, { userId: -1 });
  assert.equal(frame.toString('hex'), '0000000b' + '00000003' + '10' + 'ffffffffffffffffff01');
  assert.equal(decodeBody(MessageType.HEARTBEAT, frame.subarray(HEADER_BYTES)).userId, -1);
  for (const v of [-2, -1001, -(2 ** 31), -(2 ** 32), -(2 ** 52), Number.MIN_SAFE_INTEGER]) {
    const f = encodeFrame(MessageType.CHAT, { userId: v, receiveId: v, seq: v });
    const m = decodeBody(MessageType.CHAT, f.subarray(HEADER_BYTES));
    assert.equal(f.length, HEADER_BYTES + 3 * 11, `every negative int64 takes 10 bytes (${v})`);
    assert.deepEqual([m.userId, m.receiveId, m.seq], [v, v, v]);
  }
});
