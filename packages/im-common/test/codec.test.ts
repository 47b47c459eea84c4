/**
 * The compiled codecs: round trip of every message type, agreement with protobufjs' own codecs
 * (an independent implementation of the same /proto schema), int64 edges, unknown fields and
 * wire-type mismatches, and the load-time refusal of schema features the codec does not handle.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import protobuf from 'protobufjs';
import {
  AckKind, ChatKind, decodeBody, encodeBody, encodeFrame, FrameError, frameBody, HEADER_BYTES, isKnownType,
  MESSAGE_NAMES, MessageType, type MessageByType, type MessageTypeCode,
} from '../src/index';
import { TYPES } from '../src/proto';
import { compileCodecs } from '../src/codec';
import { Rng } from './util';

const TS = 1665142797000;

function chat(i: number): MessageByType[2] {
  return {
    id: `c-${i}`, userId: 1001, userPlatformId: 1, userMacId: 'mac', receiveId: 1002, msgType: ChatKind.TEXT,
    timeStamp: TS + i, msgBody: Buffer.from(`body ${i} 你好`), needAck: true, seq: 100 + i, serverMsgId: 2 ** 40 + i,
    convId: 'p:1001:1002', serverTime: TS + 5 + i, groupId: 0,
  };
}

/** One fully populated message of every type, including the types added by the port. */
const SAMPLES: { [K in MessageTypeCode]: MessageByType[K] } = {
  1: {
    id: 'b', userId: 1, userPlatformId: 2, userMacId: 'm', receiveId: 3, timeStamp: TS, msgBody: 'hello 世界',
    needAck: true, businessType: 914,
  },
  2: chat(1),
  3: { id: 'test', userId: 1001, userPlatformId: 0, userMacId: '', receiveId: 0, timeStamp: TS },
  4: {
    id: 'on', userId: 1001, userPlatformId: 2, userMacId: 'mac', receiveId: 0, timeStamp: TS, msgType: 1,
    token: 'tok', userName: 'alice', password: 'pw', protocolVersion: 1,
    lastSeqs: [{ convId: 'p:1001:1002', seq: 7 }, { convId: 'g:5', seq: 0 }],
  },
  5: {
    id: 'a', userId: 1002, receiveId: 1001, messageType: 2, clientMsgId: 'c-1', serverMsgId: 99, seq: 7,
    convId: 'p:1001:1002', kind: AckKind.STORED, duplicate: true, serverTime: TS,
  },
  6: { requestId: 'r', code: 'SESSION_REPLACED', message: 'logged in elsewhere', fatal: true, refType: 4, retryAfterMs: 250 },
  7: { requestId: 'r1', userName: 'alice', password: 'secret' },
  8: { requestId: 'r1', userId: 1003, userName: 'alice' },
  9: {
    userId: 1001, userName: 'alice', token: 't', tokenExpiresAt: TS + 86400000, instanceId: 'im-1', serverTime: TS,
    heartbeatMs: 30000, idleTimeoutMs: 45000, messages: [chat(1), chat(2), chat(3)], hasMore: true, totalUnread: 5,
    unread: [{ convId: 'p:1001:1002', lastSeq: 10, readSeq: 5, unread: 5 }, { convId: 'g:9', lastSeq: 0, readSeq: 0, unread: 0 }],
  },
  10: { requestId: 's', convId: 'p:1001:1002', afterSeq: 5, limit: 100, acked: [{ convId: 'g:1', seq: 3 }] },
  11: { requestId: 's', messages: [chat(4), chat(5)], hasMore: false },
  20: { requestId: 'f', op: 1, userId: 1002, userName: 'bob', message: 'hi, 我是 alice' },
  21: { requestId: 'f', op: 2, result: 2, user: { userId: 1002, userName: 'bob', since: TS, online: true }, applyId: 7 },
  22: { requestId: 'l', kind: 1, after: 99, limit: 20 },
  23: {
    requestId: 'l', kind: 1, friends: [{ userId: 1002, userName: 'bob', since: TS, online: false }],
    applications: [{
      applyId: 7, applicantId: 1001, applicantName: 'alice', targetId: 1002, targetName: 'bob', status: 2,
      message: 'hi', createdAt: TS, updatedAt: TS + 1,
    }], hasMore: true, next: 7,
  },
  24: { requestId: 'c', cursor: '1665142797000|p:1:2', limit: 20 },
  25: {
    requestId: 'c', convs: [{
      convId: 'p:1001:1002', convType: 0, peerId: 1002, peerName: 'bob', groupId: 0, lastSeq: 10, readSeq: 4,
      unread: 6, lastMsgId: 2 ** 40, lastSenderId: 1002, lastTime: TS, preview: 'hello…', lastMsgType: 1, peerReadSeq: 9,
    }], hasMore: true, nextCursor: 'x', totalUnread: 6,
  },
  26: { requestId: 'h', convId: 'p:1001:1002', beforeSeq: 40, limit: 50 },
  27: { requestId: 'h', convId: 'p:1001:1002', messages: [chat(6), chat(7)], hasMore: true },
  28: { requestId: 'r', convId: 'p:1001:1002', seq: 12 },
  29: { requestId: 'r', convId: 'p:1001:1002', readSeq: 12, lastSeq: 15, unread: 3, totalUnread: 8 },
  30: {
    noticeId: 2 ** 33, kind: 5, fromUserId: 1002, fromUserName: 'bob', convId: 'p:1001:1002', seq: 12, unread: 3,
    totalUnread: 8, applyId: 7, message: 'hi', time: TS,
  },
  31: { noticeId: 2 ** 33 },
  32: {
    requestId: 'g1', op: 3, groupId: 2 ** 35, name: '群 team', members: [{ userId: 1002, userName: '', role: 0, joinedAt: 0, readSeq: 0 }],
    userId: 1003, role: 1, maxMembers: 10000, message: 'hi',
  },
  33: {
    requestId: 'g1', op: 1, group: { groupId: 7, name: 'team', ownerId: 1001, memberCount: 3, maxMembers: 10000, createdAt: TS, myRole: 2 },
    members: [{ userId: 1002, userName: 'bob', role: 1, joinedAt: TS, readSeq: 4 }], applyId: 9, seq: 12,
  },
  34: { requestId: 'm', groupId: 7, after: 1001, limit: 100 },
  35: {
    requestId: 'm', group: { groupId: 7, name: 'team', ownerId: 1001, memberCount: 3, maxMembers: 10, createdAt: TS, myRole: 0 },
    members: [{ userId: 1001, userName: 'alice', role: 2, joinedAt: TS, readSeq: 1 }], hasMore: true, next: 1001,
  },
  36: { requestId: 'r', groupId: 7, seq: 5, limit: 10 },
  37: {
    requestId: 'r', groupId: 7, seq: 5, readCount: 2, memberCount: 3,
    readers: [{ userId: 1001, userName: 'alice', role: 2, joinedAt: TS, readSeq: 6 }],
  },
};

/** protobufjs' view of a message, with defaults filled in and bytes as Buffers. */
function oracleObject(type: MessageTypeCode, body: Uint8Array): unknown {
  const t = TYPES[type]!;
  return t.toObject(t.decode(body), { defaults: true, arrays: true, bytes: Buffer as unknown as StringConstructor });
}

/** Our decoded message normalised the same way (plain data, bytes as Buffers). */
function plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return Buffer.from(v);
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

for (const code of Object.keys(SAMPLES).map(Number) as MessageTypeCode[]) {
  const name = MESSAGE_NAMES[code];
  test(`codec ${name} (type ${code}): round trip`, () => {
    const msg = SAMPLES[code];
    const frame = encodeFrame(code, msg);
    assert.equal(frame.readInt32BE(0), frame.length - HEADER_BYTES);
    assert.equal(frame.readInt32BE(4), code);
    assert.deepEqual(plain(decodeBody(code, frame.subarray(HEADER_BYTES))), plain(msg));
  });

  test(`codec ${name} (type ${code}): agrees with protobufjs both ways`, () => {
    const msg = SAMPLES[code];
    const ours = encodeBody(code, msg);
    assert.deepEqual(plain(oracleObject(code, ours)), plain(msg), 'protobufjs reads our bytes');
    const theirs = TYPES[code]!.encode(msg as unknown as protobuf.Message).finish();
    assert.deepEqual(plain(decodeBody(code, theirs)), plain(msg), 'we read protobufjs bytes');
    // protobufjs emits explicitly set defaults; we do not, so compare after a round trip.
    assert.deepEqual(ours, encodeBody(code, decodeBody(code, theirs)));
  });

  test(`codec ${name} (type ${code}): empty message is an empty body with every default`, () => {
    assert.equal(encodeBody(code, {}).length, 0);
    const d = decodeBody(code, Buffer.alloc(0)) as unknown as Record<string, unknown>;
    assert.deepEqual(plain(d), plain(oracleObject(code, Buffer.alloc(0))));
    assert.equal(Object.getPrototypeOf(d), Object.prototype);
  });
}

test('codec: decoded repeated fields are fresh arrays, never shared', () => {
  const a = decodeBody(MessageType.SYNC_RESPONSE, Buffer.alloc(0));
  const b = decodeBody(MessageType.SYNC_RESPONSE, Buffer.alloc(0));
  a.messages.push(chat(1));
  assert.equal(b.messages.length, 0);
});

test('codec: encodeBody + frameBody equals encodeFrame', () => {
  for (const code of [1, 2, 9] as const) {
    assert.deepEqual(frameBody(code, encodeBody(code, SAMPLES[code])), encodeFrame(code, SAMPLES[code]));
  }
});

test('codec: int64 edges round trip exactly', () => {
  const values = [0, 1, 127, 128, 16383, 16384, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 35, 2 ** 42 - 1,
    2 ** 49 - 1, 2 ** 49, 2 ** 52 + 1, Number.MAX_SAFE_INTEGER, -1, -128, -(2 ** 31), -(2 ** 32) - 1,
    Number.MIN_SAFE_INTEGER, TS];
  for (const v of values) {
    const body = encodeBody(MessageType.CHAT, { seq: v, serverMsgId: v, timeStamp: v });
    const m = decodeBody(MessageType.CHAT, body);
    assert.deepEqual([m.seq, m.serverMsgId, m.timeStamp], [v, v, v], String(v));
    if (v === 0) continue; // protobufjs emits explicit zeros; proto3 (and we) do not
    const theirs = TYPES[2]!.encode({ seq: v, serverMsgId: v, timeStamp: v } as unknown as protobuf.Message).finish();
    assert.deepEqual(body, Buffer.from(theirs), `same bytes as protobufjs for ${v}`);
  }
});

test('codec: int32 fields: negative values take 10 bytes and round trip', () => {
  for (const v of [-1, -(2 ** 31), 2 ** 31 - 1, 300]) {
    const body = encodeBody(MessageType.ERROR, { refType: v });
    assert.equal(decodeBody(MessageType.ERROR, body).refType, v);
    assert.deepEqual(body, Buffer.from(TYPES[6]!.encode({ refType: v } as unknown as protobuf.Message).finish()));
  }
});

test('codec: non-canonical input values are coerced the way protobufjs would', () => {
  const m = decodeBody(MessageType.CHAT, encodeBody(MessageType.CHAT, {
    seq: 7.9 as number, userId: '42' as unknown as number, serverMsgId: BigInt(2 ** 40) as unknown as number,
    id: 12 as unknown as string, msgBody: 'text' as unknown as Uint8Array,
  }));
  assert.equal(m.seq, 7);
  assert.equal(m.userId, 42);
  assert.equal(m.serverMsgId, 2 ** 40);
  assert.equal(m.id, '12');
  assert.equal(Buffer.from(m.msgBody).toString(), 'text');
  // NaN and null are defaults: not emitted.
  assert.equal(encodeBody(MessageType.CHAT, { seq: Number.NaN, id: null as unknown as string }).length, 0);
});

test('codec: strings of every UTF-8 width, long strings and lone surrogates', () => {
  const strings = ['', 'a', 'é', '你好', '😀', 'x'.repeat(42), 'x'.repeat(43), '你'.repeat(43), 'y'.repeat(70000),
    '\ud800', 'a\udc00b', '😀'.repeat(30)];
  for (const s of strings) {
    const body = encodeBody(MessageType.ERROR, { message: s });
    if (s === '') {
      assert.equal(body.length, 0);
      continue;
    }
    // Lone surrogates become U+FFFD (valid UTF-8, as Buffer does); protobufjs would emit invalid
    // CESU-8 bytes for them, so Buffer is the reference here.
    const utf8 = Buffer.from(s, 'utf8');
    const len = Buffer.from(TYPES[6]!.encode({ message: 'x'.repeat(utf8.length) } as unknown as protobuf.Message).finish());
    const expected = Buffer.concat([len.subarray(0, len.length - utf8.length), utf8]);
    assert.deepEqual(body, expected, `bytes for ${JSON.stringify(s.slice(0, 8))} (${s.length})`);
    assert.equal(decodeBody(MessageType.ERROR, body).message, Buffer.from(s).toString());
  }
});

test('codec: bytes of every length class are copied exactly', () => {
  for (const n of [0, 1, 31, 32, 127, 128, 20000]) {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = (i * 7) & 0xff;
    const m = decodeBody(MessageType.CHAT, encodeBody(MessageType.CHAT, { msgBody: b }));
    assert.deepEqual(Buffer.from(m.msgBody), b);
  }
});

test('codec: unknown fields of every wire type are skipped (a newer peer may add fields)', () => {
  const known = encodeBody(MessageType.HEARTBEAT, { id: 'x', userId: 5 });
  const unknown = Buffer.from([
    0xf8, 0x01, 0x96, 0x01, // field 31 varint 150
    0xf9, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, // field 31 fixed64
    0xfa, 0x01, 0x02, 0xaa, 0xbb, // field 31 len 2
    0xfd, 0x01, 1, 2, 3, 4, // field 31 fixed32
    0xfb, 0x01, 0x08, 0x01, 0xfc, 0x01, // field 31 group { field 1 varint } end
  ]);
  const m = decodeBody(MessageType.HEARTBEAT, Buffer.concat([unknown, known, unknown]));
  assert.equal(m.id, 'x');
  assert.equal(m.userId, 5);
});

test('codec: a known field with an unexpected wire type is skipped like an unknown one', () => {
  // Field 1 (id, a string) sent as varint 5; field 2 (userId) sent as a length-delimited value.
  const m = decodeBody(MessageType.HEARTBEAT, Buffer.from([0x08, 0x05, 0x12, 0x01, 0x41, 0x18, 0x03]));
  assert.equal(m.id, '');
  assert.equal(m.userId, 0);
  assert.equal(m.userPlatformId, 3);
});

test('codec: a repeated field value appearing twice keeps the last; repeated elements accumulate', () => {
  const a = encodeBody(MessageType.HEARTBEAT, { id: 'first' });
  const b = encodeBody(MessageType.HEARTBEAT, { id: 'second' });
  assert.equal(decodeBody(MessageType.HEARTBEAT, Buffer.concat([a, b])).id, 'second');
  const s1 = encodeBody(MessageType.SYNC_RESPONSE, { messages: [chat(1)] });
  const s2 = encodeBody(MessageType.SYNC_RESPONSE, { messages: [chat(2)] });
  assert.deepEqual(decodeBody(MessageType.SYNC_RESPONSE, Buffer.concat([s1, s2])).messages.map((c) => c.id), ['c-1', 'c-2']);
});

test('codec: malformed bodies throw FrameError BAD_BODY, nothing else', () => {
  const bad: Array<[string, number[]]> = [
    ['truncated varint', [0x10, 0x80]],
    ['varint longer than 10 bytes', [0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]],
    ['string past the end', [0x0a, 0x05, 0x61]],
    ['length prefix of 2^32', [0x0a, 0x80, 0x80, 0x80, 0x80, 0x10]],
    ['field number 0', [0x00, 0x01]],
    ['wire type 6', [0x0e]],
    ['wire type 7', [0x0f]],
    ['stray end group', [0x0c]],
    ['unterminated group', [0xfb, 0x01, 0x08, 0x01]],
    ['mismatched end group', [0xfb, 0x01, 0xf4, 0x01]],
    ['truncated fixed64', [0xf9, 0x01, 1, 2, 3]],
    ['truncated fixed32', [0xfd, 0x01, 1]],
    ['truncated tag', [0xf8]],
  ];
  for (const [why, bytes] of bad) {
    assert.throws(() => decodeBody(MessageType.HEARTBEAT, Buffer.from(bytes)), (err: unknown) => {
      assert.ok(err instanceof FrameError, why);
      assert.equal(err.code, 'BAD_BODY', why);
      return true;
    }, why);
  }
  // A nested message that runs past its parent is refused too.
  const nested = Buffer.from([0x12, 0x05, 0x0a, 0x09, 0x61, 0x61, 0x61]);
  assert.throws(() => decodeBody(MessageType.SYNC_RESPONSE, nested), (e: unknown) => e instanceof FrameError && e.code === 'BAD_BODY');
});

test('codec: groups nested beyond the depth limit are refused, not recursed into', () => {
  const open = Buffer.alloc(100 * 2);
  for (let i = 0; i < 100; i++) open.set([0xfb, 0x01], i * 2);
  assert.throws(() => decodeBody(MessageType.HEARTBEAT, open), (e: unknown) => e instanceof FrameError && e.code === 'BAD_BODY');
});

test('codec: unknown type codes are typed errors for both directions', () => {
  assert.equal(isKnownType(0), false);
  assert.equal(isKnownType(12), false);
  assert.equal(isKnownType(11), true);
  assert.throws(() => encodeFrame(99 as MessageTypeCode, {}), (e: unknown) => e instanceof FrameError && e.code === 'UNKNOWN_TYPE');
  assert.throws(() => decodeBody(0 as MessageTypeCode, Buffer.alloc(0)), (e: unknown) => e instanceof FrameError && e.code === 'UNKNOWN_TYPE');
});

test('codec: a message changed by a getter between the sizing and writing passes is refused', () => {
  let n = 0;
  const msg = { get id(): string { return n++ === 0 ? 'short' : 'much longer now'; } };
  assert.throws(() => encodeFrame(MessageType.HEARTBEAT, msg), /changed while being encoded/);
});

test('codec: bytes decoded from a body are views into it (documented zero-copy)', () => {
  const body = encodeBody(MessageType.CHAT, { msgBody: Buffer.from('abc') });
  const m = decodeBody(MessageType.CHAT, body);
  assert.equal(m.msgBody.buffer, body.buffer);
});

test('codec: random messages agree with protobufjs (seeded)', () => {
  const rng = new Rng(20221007);
  const str = (): string => rng.pick(['', 'a', 'p:1001:1002', '你好', '😀x', 'x'.repeat(rng.int(200))]);
  const i64 = (): number => rng.pick([0, 1, rng.int(128), rng.int(2 ** 31), TS + rng.int(1e6), -rng.int(2 ** 40), 2 ** 53 - 1 - rng.int(10)]);
  const randChat = (): Partial<MessageByType[2]> => ({
    id: str(), userId: i64(), userPlatformId: rng.int(5), receiveId: i64(), msgType: rng.int(3), timeStamp: i64(),
    msgBody: rng.bytes(rng.int(300)), needAck: rng.chance(0.5), seq: i64(), serverMsgId: i64(), convId: str(),
    serverTime: i64(), groupId: i64(),
  });
  for (let i = 0; i < 500; i++) {
    const login: Partial<MessageByType[9]> = {
      userId: i64(), token: str(), heartbeatMs: rng.int(60000), hasMore: rng.chance(0.5),
      messages: Array.from({ length: rng.int(4) }, randChat) as MessageByType[2][],
      unread: Array.from({ length: rng.int(3) }, () => ({ convId: str(), lastSeq: i64(), readSeq: i64(), unread: i64() })),
    };
    const ours = encodeBody(MessageType.LOGIN_ACK, login);
    const theirs = TYPES[9]!.encode(login as unknown as protobuf.Message).finish();
    assert.deepEqual(plain(decodeBody(9, theirs)), plain(oracleObject(9, ours)), `iteration ${i}`);
    assert.deepEqual(plain(decodeBody(9, ours)), plain(oracleObject(9, theirs)), `iteration ${i}`);
  }
});

test('codec: compiles every supported kind, incl. singular messages, uint32/uint64, repeated string/bytes', () => {
  const root = protobuf.parse(`syntax = "proto3"; package t;
    message Inner { string s = 1; }
    message All { uint32 u = 1; uint64 big = 2; Inner one = 3; repeated string names = 4; repeated bytes blobs = 5;
      int32 i = 16; bool f = 2047; Inner two = 536870911; }`, { keepCase: true }).root;
  root.resolveAll();
  const all = root.lookupType('t.All');
  const codec = compileCodecs([all]).get(all)!;
  const msg = { u: 2 ** 32 - 1, big: 2 ** 53 - 1, one: { s: 'in' }, names: ['a', '', 'c'], blobs: [Buffer.from([1]), Buffer.alloc(0)],
    i: -5, f: true, two: {} };
  const buf = Buffer.alloc(codec.size(msg));
  assert.equal(codec.write(msg, buf, 0), buf.length);
  assert.deepEqual(buf, Buffer.from(all.encode(msg as unknown as protobuf.Message).finish()));
  const back = codec.decode(buf, 0, buf.length, 0) as typeof msg;
  assert.deepEqual(plain(back), plain({ ...msg, two: { s: '' } }), 'a set but empty message is still present');
  const empty = codec.decode(Buffer.alloc(0), 0, 0, 0) as Record<string, unknown>;
  assert.equal(empty.one, null, 'an absent message field is null');
  assert.deepEqual(empty.names, []);
});

test('codec: schema features the codec cannot encode correctly fail loudly at load, naming the field', () => {
  const cases: Array<[string, RegExp]> = [
    ['message M { map<string, int32> m = 1; }', /t\.M\.m: maps/],
    ['message M { oneof o { int32 a = 1; } }', /t\.M\.a: maps, oneofs/],
    ['message M { optional int32 a = 1; }', /t\.M\.a: maps, oneofs and optional/],
    ['message M { double d = 1; }', /t\.M\.d: type double/],
    ['message M { repeated int64 r = 1; }', /t\.M\.r: repeated int64/],
  ];
  for (const [src, re] of cases) {
    const root = protobuf.parse(`syntax = "proto3"; package t; ${src}`, { keepCase: true }).root;
    root.resolveAll();
    assert.throws(() => compileCodecs([root.lookupType('t.M')]), re, src);
  }
});
