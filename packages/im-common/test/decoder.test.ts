/**
 * FrameDecoder: resuming across chunks at every boundary, the length cap enforced from the header
 * alone, typed errors for hostile headers, poisoning, and callback exceptions (seed.md §1.6 lists
 * the seed decoder's bugs that must not come back).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_MAX_FRAME_BYTES, decodeBody, encodeFrame, FrameDecoder, FrameError, HEADER_BYTES, MessageType,
  type RawFrame,
} from '../src/index';
import { pushAll, rawFrame, splitAt } from './util';

const TS = 1665142797000;

/** A stream of assorted frames, including an empty-body one and a multi-byte-length one. */
function sampleStream(): { stream: Buffer; types: number[] } {
  const frames = [
    encodeFrame(MessageType.ONLINE, { id: 'test-online', userId: 1001, timeStamp: TS }),
    encodeFrame(MessageType.HEARTBEAT, {}),
    encodeFrame(MessageType.CHAT, { id: 'c1', userId: 1001, receiveId: 1002, msgBody: Buffer.from('hi 你好'), timeStamp: TS }),
    encodeFrame(MessageType.CHAT, { id: 'c2', userId: 1001, receiveId: 1002, msgBody: Buffer.alloc(300, 0x61) }),
    encodeFrame(MessageType.ACK, { id: 'ack', userId: 1002, receiveId: 1001 }),
    encodeFrame(MessageType.HEARTBEAT, {}),
  ];
  return { stream: Buffer.concat(frames), types: [4, 3, 2, 2, 5, 3] };
}

function decodeAllChunks(chunks: Buffer[], dec = new FrameDecoder()): RawFrame[] {
  const out: RawFrame[] = [];
  for (const c of chunks) {
    const r = pushAll(dec, c);
    assert.equal(r.error, null);
    out.push(...r.frames);
  }
  assert.equal(dec.bufferedBytes, 0);
  return out;
}

test('decoder: one push of many frames yields them all, in order', () => {
  const { stream, types } = sampleStream();
  const frames = decodeAllChunks([stream]);
  assert.deepEqual(frames.map((f) => f.typeCode), types);
  assert.equal(Buffer.from(decodeBody(2, frames[2].body).msgBody).toString(), 'hi 你好');
});

test('decoder: byte-by-byte feeding', () => {
  const { stream, types } = sampleStream();
  const chunks = [...stream].map((b) => Buffer.from([b]));
  assert.deepEqual(decodeAllChunks(chunks).map((f) => f.typeCode), types);
});

test('decoder: every split point of a multi-frame stream, in two chunks', () => {
  const { stream, types } = sampleStream();
  const whole = decodeAllChunks([stream]).map((f) => f.body.toString('hex'));
  for (let cut = 0; cut <= stream.length; cut++) {
    const frames = decodeAllChunks(splitAt(stream, [cut]));
    assert.deepEqual(frames.map((f) => f.typeCode), types, `cut at ${cut}`);
    assert.deepEqual(frames.map((f) => f.body.toString('hex')), whole, `cut at ${cut}`);
  }
});

test('decoder: every pair of split points (three chunks) around the first frames', () => {
  const { stream, types } = sampleStream();
  const limit = 80; // every pair within the first frames, where header and body boundaries are
  for (let a = 0; a <= limit; a++) {
    for (let b = a; b <= limit; b++) {
      assert.deepEqual(decodeAllChunks(splitAt(stream, [a, b])).map((f) => f.typeCode), types, `cuts ${a},${b}`);
    }
  }
});

test('decoder: 1-3 trailing bytes of a next frame, then the rest (seed bug §1.6 must not occur)', () => {
  const first = encodeFrame(MessageType.HEARTBEAT, { id: 'a' });
  const second = encodeFrame(MessageType.HEARTBEAT, { id: 'b' });
  for (let k = 1; k <= 7; k++) {
    const dec = new FrameDecoder();
    const r1 = pushAll(dec, Buffer.concat([first, second.subarray(0, k)]));
    assert.equal(r1.error, null, `${k} trailing bytes: no error`);
    assert.equal(r1.frames.length, 1);
    assert.equal(dec.bufferedBytes, k);
    const r2 = pushAll(dec, second.subarray(k));
    assert.equal(r2.error, null);
    assert.equal(r2.frames.length, 1);
    assert.equal(decodeBody(3, r2.frames[0].body).id, 'b');
    assert.equal(dec.bufferedBytes, 0);
  }
});

test('decoder: zero-length body frames, alone and back to back', () => {
  const empty = encodeFrame(MessageType.HEARTBEAT, {});
  assert.equal(empty.length, HEADER_BYTES);
  const r = pushAll(new FrameDecoder(), Buffer.concat([empty, empty, empty]));
  assert.equal(r.error, null);
  assert.equal(r.frames.length, 3);
  for (const f of r.frames) assert.equal(f.body.length, 0);
});

test('decoder: an empty chunk is harmless', () => {
  const dec = new FrameDecoder();
  assert.deepEqual(pushAll(dec, Buffer.alloc(0)), { frames: [], error: null });
  pushAll(dec, Buffer.from([0, 0]));
  assert.deepEqual(pushAll(dec, Buffer.alloc(0)), { frames: [], error: null });
  assert.equal(dec.bufferedBytes, 2);
});

test('decoder: a plain Uint8Array chunk is accepted and bodies are Buffers', () => {
  const frame = encodeFrame(MessageType.ACK, { id: 'ack' });
  const u8 = new Uint8Array(frame.length);
  u8.set(frame);
  const dec = new FrameDecoder();
  let body: unknown = null;
  assert.equal(dec.push(u8.subarray(0, 5), () => assert.fail('no frame yet')), null);
  assert.equal(dec.push(u8.subarray(5), (f) => { body = f.body; }), null);
  assert.ok(Buffer.isBuffer(body));
});

test('decoder: lengths 0, 1, max accepted; -1, 2^31-1, max+1 refused from the header alone', () => {
  const max = 100;
  const ok = (len: number): void => {
    const dec = new FrameDecoder({ maxFrameBytes: max });
    let n = 0;
    // Header first, then the body: accepted, delivered once, when complete.
    assert.equal(dec.push(rawFrame(len, MessageType.CHAT), () => n++), null, `length ${len}`);
    assert.equal(dec.push(Buffer.alloc(len), () => n++), null, `length ${len}`);
    assert.equal(n, 1, `length ${len}`);
  };
  ok(0);
  ok(1);
  ok(max);
  const refused = (len: number, code: string): void => {
    const dec = new FrameDecoder({ maxFrameBytes: max });
    const r = pushAll(dec, rawFrame(len, MessageType.CHAT));
    assert.ok(r.error instanceof FrameError, `length ${len}`);
    assert.equal(r.error.code, code);
    assert.equal(r.error.fatal, true);
    assert.equal(r.error.typeCode, MessageType.CHAT);
    assert.equal(dec.bufferedBytes, 0, 'nothing is buffered after a framing error');
  };
  refused(-1, 'NEGATIVE_LENGTH');
  refused(-(2 ** 31), 'NEGATIVE_LENGTH');
  refused(2 ** 31 - 1, 'FRAME_TOO_LARGE');
  refused(max + 1, 'FRAME_TOO_LARGE');
});

test('decoder: the default cap is 64 KiB and is enforced at the 8-byte header', () => {
  assert.equal(DEFAULT_MAX_FRAME_BYTES, 65536);
  const atCap = new FrameDecoder();
  assert.equal(atCap.push(rawFrame(65536, MessageType.CHAT), () => undefined), null);
  const dec = new FrameDecoder();
  const err = dec.push(rawFrame(65537, MessageType.CHAT), () => assert.fail('no frame'));
  assert.ok(err instanceof FrameError);
  assert.equal(err.code, 'FRAME_TOO_LARGE');
  // The header split 3+5 still fails as soon as the 8th byte arrives.
  const split = new FrameDecoder();
  assert.equal(split.push(rawFrame(1 << 30, MessageType.CHAT).subarray(0, 3), () => undefined), null);
  assert.equal(split.push(rawFrame(1 << 30, MessageType.CHAT).subarray(3), () => undefined)?.code, 'FRAME_TOO_LARGE');
});

test('decoder: unknown type codes are refused at the header', () => {
  for (const code of [0, 12, 99, -1, 2 ** 31 - 1]) {
    const r = pushAll(new FrameDecoder(), rawFrame(0, code));
    assert.equal(r.error?.code, 'UNKNOWN_TYPE', `type ${code}`);
    assert.equal(r.error?.typeCode, code);
  }
});

test('decoder: frames before an error are delivered; the decoder then stays poisoned', () => {
  const good = encodeFrame(MessageType.HEARTBEAT, { id: 'ok' });
  const dec = new FrameDecoder();
  const r = pushAll(dec, Buffer.concat([good, rawFrame(-5, 3), good]));
  assert.equal(r.frames.length, 1);
  assert.equal(r.error?.code, 'NEGATIVE_LENGTH');
  assert.equal(dec.error, r.error);
  // Every later push returns the same error and delivers nothing, even for valid bytes.
  const again = pushAll(dec, good);
  assert.equal(again.error, r.error);
  assert.equal(again.frames.length, 0);
  dec.reset();
  assert.equal(dec.error, null);
  assert.equal(pushAll(dec, good).frames.length, 1);
});

test('decoder: undecodable body is a FrameError BAD_BODY from decodeBody', () => {
  // Field 1 (string) claims 10 bytes but only 2 follow.
  const frame = rawFrame(4, MessageType.CHAT, Buffer.from([0x0a, 0x0a, 0x61, 0x62]));
  const r = pushAll(new FrameDecoder(), frame);
  assert.equal(r.error, null, 'framing is fine: the body is only checked when decoded');
  assert.throws(() => decodeBody(MessageType.CHAT, r.frames[0].body), (err: unknown) => {
    assert.ok(err instanceof FrameError);
    assert.equal(err.code, 'BAD_BODY');
    assert.equal(err.typeCode, MessageType.CHAT);
    assert.equal(err.fatal, true);
    assert.ok(err.cause instanceof Error);
    return true;
  });
});

test('decoder: an exception in the callback propagates and leaves the decoder consistent', () => {
  const frames = [1, 2, 3, 4].map((i) => encodeFrame(MessageType.HEARTBEAT, { id: `h${i}` }));
  const stream = Buffer.concat(frames);
  const dec = new FrameDecoder();
  const seen: string[] = [];
  const boom = new Error('handler bug');
  let calls = 0;
  assert.throws(() => dec.push(stream.subarray(0, stream.length - 3), (f) => {
    calls++;
    if (calls === 2) throw boom;
    seen.push(decodeBody(3, f.body).id);
  }), (e: unknown) => e === boom);
  assert.deepEqual(seen, ['h1']);
  assert.equal(dec.error, null, 'a handler bug does not poison the stream');
  // The rest of the chunk (h3, most of h4) stayed buffered; the remaining 3 bytes complete it.
  const r = pushAll(dec, stream.subarray(stream.length - 3));
  assert.equal(r.error, null);
  assert.deepEqual(r.frames.map((f) => decodeBody(3, f.body).id), ['h3', 'h4']);
  assert.equal(dec.bufferedBytes, 0);
});

test('decoder: an exception in the callback while resuming buffered bytes is also consistent', () => {
  const frames = [1, 2, 3].map((i) => encodeFrame(MessageType.HEARTBEAT, { id: `h${i}` }));
  const stream = Buffer.concat(frames);
  const dec = new FrameDecoder();
  assert.equal(pushAll(dec, stream.subarray(0, 5)).frames.length, 0);
  assert.throws(() => dec.push(stream.subarray(5), () => { throw new Error('x'); }));
  // h1 was delivered (and threw); h2 and h3 remain and come out on the next push.
  const r = pushAll(dec, Buffer.alloc(0));
  assert.deepEqual(r.frames.map((f) => decodeBody(3, f.body).id), ['h2', 'h3']);
});

test('decoder: a large frame in many small chunks is joined once and delivered whole', () => {
  const big = encodeFrame(MessageType.CHAT, { id: 'big', msgBody: Buffer.alloc(60000, 7) });
  const dec = new FrameDecoder();
  const out: RawFrame[] = [];
  for (let off = 0; off < big.length; off += 1000) {
    assert.equal(dec.push(big.subarray(off, off + 1000), (f) => out.push(f)), null);
    if (off + 1000 < big.length) assert.equal(out.length, 0);
  }
  assert.equal(out.length, 1);
  assert.equal(decodeBody(2, out[0].body).msgBody.length, 60000);
});

test('decoder: a 64 KiB frame fed one byte at a time, then frames after it', () => {
  const big = encodeFrame(MessageType.CHAT, { id: 'big', msgBody: Buffer.alloc(65000, 9) });
  const tail = encodeFrame(MessageType.HEARTBEAT, { id: 'after' });
  const stream = Buffer.concat([big, tail]);
  const dec = new FrameDecoder();
  const out: RawFrame[] = [];
  for (let i = 0; i < stream.length; i++) {
    assert.equal(dec.push(stream.subarray(i, i + 1), (f) => out.push(f)), null);
    if (i < big.length - 1) assert.equal(dec.bufferedBytes, i + 1);
  }
  assert.equal(out.length, 2);
  assert.equal(decodeBody(2, out[0].body).msgBody.length, 65000);
  assert.equal(decodeBody(3, out[1].body).id, 'after');
});

test('decoder: bodies handed out are never overwritten by later pushes', () => {
  const frames = Array.from({ length: 20 }, (_, i) => encodeFrame(MessageType.HEARTBEAT, { id: `frame-${i}` }));
  const stream = Buffer.concat(frames);
  const dec = new FrameDecoder();
  const kept: RawFrame[] = []; // not copied: the decoder must not reuse their memory
  for (let off = 0; off < stream.length; off += 7) dec.push(stream.subarray(off, off + 7), (f) => kept.push(f));
  assert.deepEqual(kept.map((f) => decodeBody(3, f.body).id), frames.map((_, i) => `frame-${i}`));
});

test('decoder: a callback that throws twice in a row loses and repeats nothing', () => {
  const frames = [1, 2, 3, 4, 5].map((i) => encodeFrame(MessageType.HEARTBEAT, { id: `h${i}` }));
  const stream = Buffer.concat(frames);
  const dec = new FrameDecoder();
  const seen: string[] = [];
  const failOn = new Set(['h2', 'h3']);
  const cb = (f: RawFrame): void => {
    const id = decodeBody(3, f.body).id;
    seen.push(id);
    if (failOn.delete(id)) throw new Error(`fail on ${id}`);
  };
  assert.throws(() => dec.push(stream.subarray(0, 30), cb), /fail on h2/);
  assert.throws(() => dec.push(stream.subarray(30), cb), /fail on h3/);
  assert.equal(dec.push(Buffer.alloc(0), cb), null);
  assert.deepEqual(seen, ['h1', 'h2', 'h3', 'h4', 'h5']);
  assert.equal(dec.bufferedBytes, 0);
});

test('decoder: options are validated, naming the field', () => {
  for (const bad of [-1, 1.5, Number.NaN, 2 ** 31]) {
    assert.throws(() => new FrameDecoder({ maxFrameBytes: bad }), /maxFrameBytes/);
  }
  assert.doesNotThrow(() => new FrameDecoder({ maxFrameBytes: 0 }));
});
