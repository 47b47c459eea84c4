/**
 * Protobuf wire primitives used by the generated codecs (codec.ts): varints, UTF-8 strings and
 * unknown-field skipping. Internal to im-common.
 *
 * Numbers, not Long objects: int64 values are JS numbers. Values beyond 2^53 lose precision (the
 * server refuses such ids); negative values round-trip as 10-byte two's-complement varints
 * (seed.md §1.4: the seed's HTTP test sends userId -1).
 */

const TWO_32 = 4294967296;

/** Malformed protobuf input. decodeBody() wraps it in a FrameError BAD_BODY. */
export class WireError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WireError';
  }
}

/** Shared empty value for absent `bytes` fields: decoding allocates nothing for them. */
export const EMPTY_BYTES: Buffer = Buffer.alloc(0);

/**
 * Mutable cursor for readers that return a value and advance: a plain object property is the
 * cheapest way to hand back a second result without allocating.
 */
export const cursor = { pos: 0, hi: 0 };

// ---------------------------------------------------------------------------------------------
// Writing. Every writer takes (buf, pos, value) and returns the position after what it wrote; the
// caller has already sized the buffer exactly with the matching size function.

/** Bytes taken by an unsigned 32-bit varint. */
export function sizeVarint32(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

/** Writes an unsigned 32-bit varint (v must be a uint32). */
export function writeVarint32(buf: Uint8Array, pos: number, v: number): number {
  while (v > 127) {
    buf[pos++] = (v & 127) | 128;
    v >>>= 7;
  }
  buf[pos++] = v;
  return pos;
}

/** Output of {@link splitInt64}: the low and high 32 bits, each as a uint32. */
const split = { lo: 0, hi: 0 };

/** Splits a number into 64-bit two's-complement halves, truncating like protobufjs' LongBits. */
function splitInt64(v: number): void {
  const neg = v < 0;
  if (neg) v = -v;
  let lo = v >>> 0;
  let hi = ((v - lo) / TWO_32) >>> 0;
  if (neg) {
    hi = ~hi >>> 0;
    lo = ~lo >>> 0;
    if (++lo > 0xffffffff) {
      lo = 0;
      if (++hi > 0xffffffff) hi = 0;
    }
  }
  split.lo = lo;
  split.hi = hi;
}

/** Bytes taken by an int64/uint64 varint holding `v` (a number; negatives take 10 bytes). */
export function sizeVarint64(v: number): number {
  if (v >>> 0 === v) return sizeVarint32(v);
  // Positive safe integers (timestamps, server ids) are compared directly: no 64-bit split.
  if (v > 0 && v <= Number.MAX_SAFE_INTEGER && Math.floor(v) === v) {
    return v < 0x800000000 ? 5 : v < 0x40000000000 ? 6 : v < 0x2000000000000 ? 7 : 8;
  }
  splitInt64(v);
  let lo = split.lo;
  let hi = split.hi;
  let n = 1;
  while (hi !== 0 || lo > 127) {
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
    n++;
  }
  return n;
}

/** Writes an int64/uint64 varint. */
export function writeVarint64(buf: Uint8Array, pos: number, v: number): number {
  if (v >>> 0 === v) return writeVarint32(buf, pos, v);
  let lo: number;
  let hi: number;
  if (v > 0 && v <= Number.MAX_SAFE_INTEGER && Math.floor(v) === v) {
    // Positive safe integer (timestamps, server ids): the halves are exact without negation.
    lo = v >>> 0;
    hi = (v - lo) / TWO_32;
  } else {
    splitInt64(v);
    lo = split.lo;
    hi = split.hi;
  }
  while (hi !== 0 || lo > 127) {
    buf[pos++] = (lo & 127) | 128;
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
  }
  buf[pos++] = lo;
  return pos;
}

/** Strings shorter than this are written in JS; longer ones go to native code. */
const SHORT_STRING = 43; // 42 chars × 3 bytes = 126: the length prefix is then surely 1 byte

/**
 * UTF-8 byte length of a string, the way Buffer encodes it (lone surrogates become U+FFFD).
 * Buffer.byteLength is a V8 fast call: cheaper than a JS loop even for short strings.
 */
export function utf8Length(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** Bytes taken by a length-prefixed string field value (without its tag). */
export function sizeString(s: string): number {
  const n = utf8Length(s);
  return sizeVarint32(n) + n;
}

/**
 * Node's unchecked Buffer methods. protobufjs relies on them too; they skip the argument checks
 * of toString()/write(), which matters for the many short strings of a chat frame.
 */
interface NativeUtf8 {
  utf8Slice(start: number, end: number): string;
  utf8Write(s: string, offset: number, length?: number): number;
}
/** True when Buffer has utf8Slice/utf8Write (always, on Node). */
export const nativeUtf8 = typeof (Buffer.prototype as unknown as Partial<NativeUtf8>).utf8Slice === 'function' &&
  typeof (Buffer.prototype as unknown as Partial<NativeUtf8>).utf8Write === 'function';

function utf8Write(buf: Buffer, s: string, offset: number, length: number): number {
  return nativeUtf8 ? (buf as unknown as NativeUtf8).utf8Write(s, offset, length) : buf.write(s, offset, length, 'utf8');
}

/** Decodes UTF-8 bytes [start, end) of buf; invalid sequences become U+FFFD (no exception). */
export function readUtf8(buf: Buffer, start: number, end: number): string {
  return nativeUtf8 ? (buf as unknown as NativeUtf8).utf8Slice(start, end) : buf.toString('utf8', start, end);
}

/** Writes a length-prefixed UTF-8 string. */
export function writeString(buf: Buffer, pos: number, s: string): number {
  const n = s.length;
  if (n < SHORT_STRING) {
    // ASCII fast path; on the first non-ASCII char let native code redo it (prefix is 1 byte).
    const start = pos + 1;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c > 127) {
        const len = utf8Write(buf, s, start, buf.length - start);
        buf[pos] = len;
        return start + len;
      }
      buf[start + i] = c;
    }
    buf[pos] = n;
    return start + n;
  }
  const len = Buffer.byteLength(s, 'utf8');
  pos = writeVarint32(buf, pos, len);
  return pos + utf8Write(buf, s, pos, len);
}

/** Writes a length-prefixed byte string. */
export function writeBytes(buf: Buffer, pos: number, b: Uint8Array): number {
  pos = writeVarint32(buf, pos, b.length);
  if (b.length < 32) {
    for (let i = 0; i < b.length; i++) buf[pos + i] = b[i];
  } else buf.set(b, pos);
  return pos + b.length;
}

// ---------------------------------------------------------------------------------------------
// Reading. Readers take (buf, pos, end), return the value and leave the next position in
// cursor.pos. They throw WireError rather than read past `end`.

/** Reads a varint of up to 10 bytes; returns its low 32 bits (uint32), high bits in cursor.hi. */
export function readVarint(buf: Uint8Array, pos: number, end: number): number {
  let lo = 0;
  let hi = 0;
  let b = 0;
  for (let shift = 0; shift < 28; shift += 7) {
    if (pos >= end) throw new WireError('truncated varint');
    b = buf[pos++];
    lo |= (b & 127) << shift;
    if (b < 128) return done(lo, 0, pos);
  }
  if (pos >= end) throw new WireError('truncated varint');
  b = buf[pos++];
  lo |= (b & 127) << 28; // bits 28-31
  hi = (b & 127) >> 4; // bits 32-34
  if (b < 128) return done(lo, hi, pos);
  for (let shift = 3; shift < 32; shift += 7) {
    if (pos >= end) throw new WireError('truncated varint');
    b = buf[pos++];
    hi |= (b & 127) << shift;
    if (b < 128) return done(lo, hi, pos);
  }
  throw new WireError('varint longer than 10 bytes');
}

function done(lo: number, hi: number, pos: number): number {
  cursor.pos = pos;
  cursor.hi = hi >>> 0;
  return lo >>> 0;
}

/** Reads an int64 varint as a signed number. */
export function readInt64(buf: Uint8Array, pos: number, end: number): number {
  // Up to 7 bytes (49 bits) the value is exact in float arithmetic: the common case (ids,
  // seqs, ms timestamps) needs no 64-bit halves.
  let v = 0;
  let mul = 1;
  for (let i = pos; i < pos + 7 && i < end; i++) {
    const b = buf[i];
    v += (b & 127) * mul;
    if (b < 128) {
      cursor.pos = i + 1;
      return v;
    }
    mul *= 128;
  }
  const lo = readVarint(buf, pos, end);
  const hi = cursor.hi;
  if (hi >>> 31) {
    // Negative: negate the two's complement (protobufjs LongBits.toNumber does the same).
    const nlo = (~lo + 1) >>> 0;
    let nhi = ~hi >>> 0;
    if (nlo === 0) nhi = (nhi + 1) >>> 0;
    return -(nlo + nhi * TWO_32);
  }
  return lo + hi * TWO_32;
}

/** Reads a uint64 varint as a number. */
export function readUint64(buf: Uint8Array, pos: number, end: number): number {
  const lo = readVarint(buf, pos, end);
  return lo + cursor.hi * TWO_32;
}

/** Reads a length prefix and checks that many bytes remain before `end`. */
export function readLength(buf: Uint8Array, pos: number, end: number): number {
  const n = readVarint(buf, pos, end);
  if (cursor.hi !== 0 || n > end - cursor.pos) throw new WireError('length-delimited field runs past the end');
  return n;
}

/** Maximum nesting of messages and groups a decoder follows before refusing the input. */
export const MAX_DEPTH = 32;

/**
 * Skips one unknown field whose tag was just read; returns the position after it. Groups (wire
 * types 3/4, deprecated but legal) are skipped with a depth limit so hostile input cannot recurse.
 */
export function skipField(buf: Uint8Array, pos: number, end: number, tag: number, depth: number): number {
  if (tag >>> 3 === 0) throw new WireError('invalid field number 0');
  switch (tag & 7) {
    case 0:
      readVarint(buf, pos, end);
      return cursor.pos;
    case 1:
      if (end - pos < 8) throw new WireError('truncated fixed64');
      return pos + 8;
    case 2: {
      const n = readLength(buf, pos, end);
      return cursor.pos + n;
    }
    case 3: {
      if (depth >= MAX_DEPTH) throw new WireError('groups nested too deeply');
      for (;;) {
        if (pos >= end) throw new WireError('unterminated group');
        const t = readVarint(buf, pos, end);
        pos = cursor.pos;
        if ((t & 7) === 4) {
          if (t >>> 3 !== tag >>> 3) throw new WireError('mismatched end-group tag');
          return pos;
        }
        pos = skipField(buf, pos, end, t, depth + 1);
      }
    }
    case 5:
      if (end - pos < 4) throw new WireError('truncated fixed32');
      return pos + 4;
    default:
      throw new WireError(`invalid wire type ${tag & 7}`);
  }
}

/** Coerces a non-number given for a numeric field (bigint, numeric string; null → 0). */
export function toNum(v: unknown): number {
  return v == null ? 0 : Number(v);
}
