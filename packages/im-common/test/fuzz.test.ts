/**
 * Seeded fuzzing of the decoder and the body codecs (DESIGN.md: "frame or typed error, never a
 * throw that escapes or a hang"). Deterministic: a failure names its seed and iteration, and
 * re-running reproduces it. The test timeout turns a hang into a failure.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeBody, encodeBody, encodeFrame, FrameDecoder, FrameError, HEADER_BYTES, isKnownType, MessageType,
  type MessageTypeCode, type RawFrame,
} from '../src/index';
import { HOSTILE_STRINGS, protoSnapshot, Rng } from './util';

const TS = 1665142797000;
const MAX = 4096;

/** Valid bodies of every type, the raw material for mutation. */
function seedFrames(rng: Rng): Array<{ type: MessageTypeCode; body: Buffer }> {
  const chat = (i: number) => ({
    id: `c-${i}`, userId: 1001, receiveId: 1002, timeStamp: TS + i, msgBody: rng.bytes(rng.int(64)), needAck: true,
    seq: i, serverMsgId: 2 ** 40 + i, convId: 'p:1001:1002', serverTime: TS,
  });
  const list: Array<[MessageTypeCode, object]> = [
    [1, { id: 'b', userId: 1, msgBody: 'hello', businessType: 914 }],
    [2, chat(1)],
    [3, { id: 'test', userId: -1, timeStamp: TS }],
    [4, { id: 'on', userId: 1001, token: 't', protocolVersion: 1, lastSeqs: [{ convId: 'g:1', seq: 9 }] }],
    [5, { id: 'a', clientMsgId: 'c', serverMsgId: 5, seq: 7, convId: 'p:1:2', kind: 1, duplicate: true }],
    [6, { requestId: 'r', code: 'BAD_BODY', message: 'm', fatal: true, refType: 2 }],
    [7, { requestId: 'r', userName: 'u', password: 'p' }],
    [8, { requestId: 'r', userId: 3, userName: 'u' }],
    [9, { userId: 1, token: 't', messages: [chat(2), chat(3)], unread: [{ convId: 'c', lastSeq: 3, readSeq: 1, unread: 2 }] }],
    [10, { requestId: 's', convId: 'c', afterSeq: 1, limit: 10, acked: [{ convId: 'c', seq: 1 }] }],
    [11, { requestId: 's', messages: [chat(4)], hasMore: true }],
  ];
  return list.map(([type, msg]) => ({ type, body: encodeBody(type, msg) }));
}

/** One random mutation of a byte string. */
function mutate(rng: Rng, src: Buffer): Buffer {
  const b = Buffer.from(src);
  switch (rng.int(6)) {
    case 0: // flip some bytes
      for (let k = rng.int(4) + 1; k > 0 && b.length > 0; k--) b[rng.int(b.length)] = rng.u32() & 0xff;
      return b;
    case 1: // truncate
      return b.subarray(0, rng.int(b.length + 1));
    case 2: // insert random bytes
      return Buffer.concat([b.subarray(0, rng.int(b.length + 1)), rng.bytes(rng.int(8) + 1), b]);
    case 3: // set a high bit (continuation) somewhere
      if (b.length > 0) b[rng.int(b.length)] |= 0x80;
      return b;
    case 4: // splice two copies
      return Buffer.concat([b.subarray(0, rng.int(b.length + 1)), src.subarray(rng.int(src.length + 1))]);
    default: // pure garbage
      return rng.bytes(rng.int(64));
  }
}

/** Decodes a body; returns true when it decoded, false for a BAD_BODY FrameError; fails otherwise. */
function tryDecode(type: MessageTypeCode, body: Buffer, where: string): boolean {
  try {
    const m = decodeBody(type, body);
    assert.equal(typeof m, 'object', where);
    // A successful decode re-encodes without error (decoded values are always encodable).
    encodeFrame(type, m);
    return true;
  } catch (err) {
    if (!(err instanceof FrameError) || err.code !== 'BAD_BODY') {
      assert.fail(`${where}: decodeBody threw ${String(err)} instead of FrameError BAD_BODY`);
    }
    return false;
  }
}

/** Pushes `chunks` and checks the push contract; returns the frames delivered. */
function pushChecked(dec: FrameDecoder, chunks: Buffer[], where: string): RawFrame[] {
  const frames: RawFrame[] = [];
  for (const c of chunks) {
    const err = dec.push(c, (f) => {
      assert.ok(isKnownType(f.typeCode), `${where}: unknown type delivered`);
      assert.ok(f.body.length <= MAX, `${where}: body over the cap delivered`);
      frames.push({ typeCode: f.typeCode, body: Buffer.from(f.body) });
    });
    if (err !== null) {
      assert.ok(err instanceof FrameError, `${where}: push returned a non-FrameError`);
      assert.ok(['NEGATIVE_LENGTH', 'FRAME_TOO_LARGE', 'UNKNOWN_TYPE'].includes(err.code), `${where}: ${err.code}`);
      assert.equal(dec.push(c, () => assert.fail('poisoned decoder delivered')), err, `${where}: not poisoned`);
      break;
    }
  }
  return frames;
}

function randomChunks(rng: Rng, stream: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0; off < stream.length;) {
    const n = rng.chance(0.3) ? 1 : rng.int(64) + 1;
    out.push(stream.subarray(off, off + n));
    off += n;
  }
  return out;
}

test('fuzz: random bytes in random chunks give frames or a typed error', { timeout: 60_000 }, () => {
  const before = protoSnapshot();
  let delivered = 0;
  let bodies = 0;
  for (let seed = 1; seed <= 3000; seed++) {
    const rng = new Rng(seed);
    // Bias headers towards plausible ones so bodies get exercised too, not only header errors.
    const parts: Buffer[] = [];
    for (let k = rng.int(6) + 1; k > 0; k--) {
      const len = rng.chance(0.8) ? rng.int(80) : rng.pick([-1, MAX, MAX + 1, 2 ** 31 - 1, rng.u32() | 0]);
      const type = rng.chance(0.85) ? rng.int(11) + 1 : rng.pick([0, 12, -1, rng.u32() | 0]);
      const h = Buffer.alloc(HEADER_BYTES);
      h.writeInt32BE(len, 0);
      h.writeInt32BE(type, 4);
      parts.push(h, rng.bytes(Math.max(0, Math.min(len, 80))));
    }
    if (rng.chance(0.2)) parts.push(rng.bytes(rng.int(40)));
    const where = `seed ${seed}`;
    const frames = pushChecked(new FrameDecoder({ maxFrameBytes: MAX }), randomChunks(rng, Buffer.concat(parts)), where);
    delivered += frames.length;
    for (const f of frames) if (tryDecode(f.typeCode as MessageTypeCode, f.body, where)) bodies++;
  }
  assert.ok(delivered > 3000 && bodies > 50, `too little exercised: ${delivered} frames, ${bodies} decoded`);
  assert.equal(protoSnapshot(), before);
});

test('fuzz: mutated valid bodies decode or fail with BAD_BODY only', { timeout: 60_000 }, () => {
  const before = protoSnapshot();
  const rng = new Rng(0xc0dec);
  const seeds = seedFrames(rng);
  let decoded = 0;
  for (let i = 0; i < 30_000; i++) {
    const s = rng.pick(seeds);
    let body = mutate(rng, s.body);
    if (rng.chance(0.3)) body = mutate(rng, body);
    // Also decode the mutant as another type: schema confusion must be just as safe.
    const type = rng.chance(0.2) ? ((rng.int(11) + 1) as MessageTypeCode) : s.type;
    if (tryDecode(type, body, `iteration ${i}`)) decoded++;
  }
  assert.ok(decoded > 1000, 'the mutations must not all be rejected, or the fuzzer tests little');
  assert.equal(protoSnapshot(), before);
});

test('fuzz: mutated frame streams through the decoder and the codec', { timeout: 60_000 }, () => {
  const rng = new Rng(42);
  const seeds = seedFrames(rng);
  for (let i = 0; i < 3000; i++) {
    const parts = Array.from({ length: rng.int(5) + 1 }, () => {
      const s = rng.pick(seeds);
      return encodeFrame(s.type, decodeBody(s.type, s.body));
    });
    const valid = rng.chance(0.5);
    const stream = valid ? Buffer.concat(parts) : mutate(rng, Buffer.concat(parts));
    const frames = pushChecked(new FrameDecoder({ maxFrameBytes: MAX }), randomChunks(rng, stream), `iteration ${i}`);
    for (const f of frames) tryDecode(f.typeCode as MessageTypeCode, f.body, `iteration ${i}`);
    // However it is chunked, a stream yields exactly the frames of one whole push.
    const whole = pushChecked(new FrameDecoder({ maxFrameBytes: MAX }), [stream], `iteration ${i}`);
    assert.deepEqual(frames, whole, `iteration ${i}: chunking changed the frames`);
    if (valid) assert.equal(frames.length, parts.length);
  }
});

test('fuzz: hostile strings in every string field stay plain data', () => {
  const before = protoSnapshot();
  for (const s of HOSTILE_STRINGS) {
    const frame = encodeFrame(MessageType.LOGIN_ACK, {
      userName: s, token: s, instanceId: s,
      messages: [{ id: s, convId: s, userMacId: s, msgBody: Buffer.from(s) } as never],
      unread: [{ convId: s, lastSeq: 1, readSeq: 0, unread: 1 }],
    });
    const m = decodeBody(MessageType.LOGIN_ACK, frame.subarray(HEADER_BYTES));
    assert.equal(m.userName, s);
    assert.equal(m.messages[0].id, s);
    assert.equal(m.messages[0].convId, s);
    assert.equal(m.unread[0].convId, s);
    assert.equal(Object.getPrototypeOf(m), Object.prototype);
    assert.equal(Object.getPrototypeOf(m.messages[0]), Object.prototype);
    const b = decodeBody(MessageType.BUSINESS, encodeBody(MessageType.BUSINESS, { id: s, msgBody: s, userMacId: s }));
    assert.deepEqual([b.id, b.msgBody, b.userMacId], [s, s, s]);
  }
  assert.equal(protoSnapshot(), before);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(typeof ({}).toString, 'function');
});
