/**
 * Shared test helpers: a seeded PRNG (tests must be reproducible), hex helpers and a collecting
 * wrapper around FrameDecoder.push.
 */
import { FrameDecoder, type FrameError, type RawFrame } from '../src/index';

/** Deterministic PRNG (mulberry32): same seed, same sequence, on every machine. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  /** Uniform uint32. */
  u32(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor((this.u32() / 0x100000000) * n);
  }
  /** True with probability p. */
  chance(p: number): boolean {
    return this.u32() / 0x100000000 < p;
  }
  /** One element of a non-empty array. */
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  /** n random bytes. */
  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = this.u32() & 0xff;
    return b;
  }
}

/** Parses hex that may contain spaces (the seed's tables group bytes for reading). */
export function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}

/** Everything one push produced. */
export interface PushResult {
  frames: RawFrame[];
  error: FrameError | null;
}

/** Pushes `chunk` and collects the frames (bodies copied, so later pushes cannot alias them). */
export function pushAll(dec: FrameDecoder, chunk: Uint8Array): PushResult {
  const frames: RawFrame[] = [];
  const error = dec.push(chunk as Buffer, (f) => frames.push({ typeCode: f.typeCode, body: Buffer.from(f.body) }));
  return { frames, error };
}

/** Builds a raw frame from a header and a body without any validation (for hostile input). */
export function rawFrame(length: number, typeCode: number, body: Uint8Array = Buffer.alloc(0)): Buffer {
  const h = Buffer.allocUnsafe(8);
  h.writeInt32BE(length, 0);
  h.writeInt32BE(typeCode, 4);
  return Buffer.concat([h, body]);
}

/** Splits `buf` into chunks at the given cut points (sorted, within the buffer). */
export function splitAt(buf: Buffer, cuts: readonly number[]): Buffer[] {
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of cuts) {
    out.push(buf.subarray(prev, c));
    prev = c;
  }
  out.push(buf.subarray(prev));
  return out;
}

/** Strings that must stay plain data wherever they appear (prototype-pollution probes). */
export const HOSTILE_STRINGS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf'];

/** Snapshot of Object.prototype's own property names, to prove nothing was added. */
export function protoSnapshot(): string {
  return Object.getOwnPropertyNames(Object.prototype).sort().join(',');
}
