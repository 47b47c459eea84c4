/**
 * Generators of malformed and hostile input for the fuzz suite (test/fuzz.test.ts) and the
 * 1M-frame bench (bench/fuzz-1m.js): a seeded PRNG, frames with broken headers, truncated
 * frames, unknown types, deep nesting, huge fields, prototype-polluting strings in every field
 * of every message type, and valid frames sent in the wrong state.
 */
import { encodeFrame, lookupType, MESSAGE_NAMES, MessageType, type MessageTypeCode } from '@hxim/im-common';

/** A small, fast, seedable PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Strings that break code using `{}` as a map or merging wire data into objects. */
export const EVIL_STRINGS = [
  '__proto__', 'constructor', 'toString', 'prototype', 'hasOwnProperty', 'valueOf', '__defineSetter__',
  '__lookupGetter__', 'p:__proto__:1', 'g:constructor', '{"__proto__":{"polluted":true}}', 'constructor.prototype.polluted',
  '\u0000', '\uffff\ud800', '%s%n%x', '../../etc/passwd', "'; DROP TABLE chat_message; --",
];

/** What the server must do with a case. */
export type Expect =
  /** An ERROR frame with fatal = true (and one of `codes`, if given), then close within 1 s. */
  | { kind: 'fatal'; codes?: readonly string[] }
  /** An ERROR frame with one of `codes`, not fatal; the connection stays usable. */
  | { kind: 'error'; codes: readonly string[] }
  /** Anything, but no crash; a fatal error frame is still followed by a close within 1 s. */
  | { kind: 'any' };

/** One hostile input: sent on a fresh connection, before login ('new') or after ('online'). */
export interface FuzzCase {
  name: string;
  state: 'new' | 'online';
  bytes: Buffer;
  expect: Expect;
}

/** Client-sent frame types (the server answers the others with BAD_REQUEST). */
export const CLIENT_TYPES: readonly MessageTypeCode[] = [
  MessageType.BUSINESS, MessageType.CHAT, MessageType.HEARTBEAT, MessageType.ONLINE, MessageType.ACK,
  MessageType.REGISTER, MessageType.SYNC,
];
const SERVER_TYPES: readonly MessageTypeCode[] = [
  MessageType.ERROR, MessageType.REGISTER_ACK, MessageType.LOGIN_ACK, MessageType.SYNC_RESPONSE,
];

/** An 8-byte header. */
export function header(len: number, type: number): Buffer {
  const h = Buffer.alloc(8);
  h.writeInt32BE(len | 0, 0);
  h.writeInt32BE(type | 0, 4);
  return h;
}

/** Fuzz input generator over one PRNG; `maxFrameBytes` is the server's limit. */
export class Fuzzer {
  constructor(readonly rnd: () => number, readonly maxFrameBytes: number) {}

  int(n: number): number {
    return Math.floor(this.rnd() * n);
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }

  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }

  /** A hostile value for one protobuf field type. */
  value(type: string, repeated: boolean): unknown {
    if (repeated) return Array.from({ length: 1 + this.int(4) }, () => this.value(type, false));
    switch (type) {
      case 'string': return this.pick(EVIL_STRINGS);
      case 'bytes': return Buffer.from(this.pick(EVIL_STRINGS));
      case 'bool': return this.rnd() < 0.5;
      case 'int32': return this.pick([0, 1, -1, 0x7fffffff, -0x80000000, this.int(1000)]);
      case 'int64': return this.pick([0, 1, -1, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 2 ** 53 + 2, this.int(1e6)]);
      case 'ConvSeq': return { convId: this.pick(EVIL_STRINGS), seq: this.pick([0, -1, 1, Number.MAX_SAFE_INTEGER]) };
      default: return this.int(5); // enums
    }
  }

  /** A well-formed frame of `type` with a hostile value in every field. */
  evilFrame(type: MessageTypeCode): Buffer {
    const msg: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
    for (const f of lookupType(MESSAGE_NAMES[type]).fieldsArray) {
      if (f.resolvedType && f.type !== 'ConvSeq' && !('values' in f.resolvedType)) continue; // nested server-only messages
      msg[f.name] = this.value(f.type, f.repeated);
    }
    return encodeFrame(type, msg as never);
  }

  /** One random case. */
  next(): FuzzCase {
    const max = this.maxFrameBytes;
    const state = this.rnd() < 0.5 ? 'new' : 'online';
    const roll = this.int(12);
    switch (roll) {
      case 0: return { name: 'random bytes', state, bytes: this.bytes(1 + this.int(2000)), expect: { kind: 'any' } };
      case 1: {
        const [len, code] = this.pick([[-1, 'NEGATIVE_LENGTH'], [-0x80000000, 'NEGATIVE_LENGTH'], [0x7fffffff, 'FRAME_TOO_LARGE'],
          [max + 1, 'FRAME_TOO_LARGE'], [max + 1 + this.int(1e6), 'FRAME_TOO_LARGE']] as const);
        return { name: `length ${len}`, state, bytes: header(len, this.pick(CLIENT_TYPES)), expect: { kind: 'fatal', codes: [code] } };
      }
      case 2: {
        const type = this.pick([0, -1, 12, 77, 1000, 0x7fffffff, -0x80000000]);
        const n = this.int(16);
        return { name: `unknown type ${type}`, state, bytes: Buffer.concat([header(n, type), this.bytes(n)]), expect: { kind: 'fatal', codes: ['UNKNOWN_TYPE'] } };
      }
      case 3: {
        const full = this.evilFrame(this.pick(CLIENT_TYPES));
        const cut = 1 + this.int(full.length - 1);
        return { name: `truncated at ${cut}/${full.length}`, state, bytes: full.subarray(0, cut), expect: { kind: 'any' } };
      }
      case 4: {
        // Deep nesting: start-group tags (recursion in naive decoders), or nested length prefixes.
        const depth = 1000 + this.int(max - 1000);
        const body = this.rnd() < 0.5 ? Buffer.alloc(depth, 0x0b) : nestedLen(this.pick([100, 1000, 5000]));
        const type = this.pick(CLIENT_TYPES);
        return { name: `nesting depth ${depth} in type ${type}`, state, bytes: Buffer.concat([header(body.length, type), body]), expect: { kind: 'any' } };
      }
      case 5: {
        // Huge fields within the frame limit: a body past maxBodyBytes, a giant id.
        const big = 'x'.repeat(max - 64);
        return this.rnd() < 0.5
          ? { name: 'huge chat body', state: 'online', bytes: encodeFrame(MessageType.CHAT, { id: 'h', receiveId: 1, msgBody: Buffer.from(big) }), expect: { kind: 'error', codes: ['BODY_TOO_LARGE', 'BAD_REQUEST'] } }
          : { name: 'huge chat id', state: 'online', bytes: encodeFrame(MessageType.CHAT, { id: big, receiveId: 1, msgBody: Buffer.from('x') }), expect: { kind: 'error', codes: ['BAD_REQUEST'] } };
      }
      case 6: case 7: {
        const type = this.pick(CLIENT_TYPES);
        return { name: `hostile strings in type ${type}`, state, bytes: this.evilFrame(type), expect: { kind: 'any' } };
      }
      case 8: {
        // Valid frames in the wrong state.
        if (state === 'new') {
          const type = this.pick([MessageType.CHAT, MessageType.ACK, MessageType.SYNC, MessageType.BUSINESS]);
          return { name: `type ${type} before login`, state, bytes: encodeFrame(type, { id: 'w' }), expect: { kind: 'error', codes: ['NOT_LOGGED_IN'] } };
        }
        return { name: 'second login', state, bytes: encodeFrame(MessageType.ONLINE, { id: 'again', userId: 1, protocolVersion: 1 }), expect: { kind: 'error', codes: ['ALREADY_LOGGED_IN'] } };
      }
      case 9: {
        const type = this.pick(SERVER_TYPES);
        return { name: `server-only type ${type}`, state, bytes: this.evilFrame(type), expect: { kind: 'error', codes: ['BAD_REQUEST'] } };
      }
      case 10: {
        // Garbage behind a valid frame: the valid one is handled, then the stream is refused.
        const bytes = Buffer.concat([encodeFrame(MessageType.HEARTBEAT, { id: 'ok' }), header(-1, 2)]);
        return { name: 'valid frame then garbage', state, bytes, expect: { kind: 'fatal', codes: ['NEGATIVE_LENGTH'] } };
      }
      default: {
        const n = 1 + this.int(40);
        const type = this.pick(CLIENT_TYPES);
        return { name: `random body in type ${type}`, state, bytes: Buffer.concat([header(n, type), this.bytes(n)]), expect: { kind: 'any' } };
      }
    }
  }
}

const nestedCache = new Map<number, Buffer>();

/** Field 1, wire type 2, nested `depth` times (each level's length covers the rest). Cached. */
function nestedLen(depth: number): Buffer {
  const hit = nestedCache.get(depth);
  if (hit) return hit;
  let inner = Buffer.alloc(0);
  for (let i = 0; i < depth; i++) inner = Buffer.concat([Buffer.from([0x0a]), varint(inner.length), inner]);
  nestedCache.set(depth, inner);
  return inner;
}

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}
