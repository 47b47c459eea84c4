/**
 * Pure frame encoding and body decoding (seed.md §1.1).
 *
 *   offset 0  int32 BE  bodyLength (body only)
 *   offset 4  int32 BE  typeCode
 *   offset 8  bodyLength bytes of protobuf3
 *
 * A frame is sized first and then written once into a single buffer, header included: no
 * intermediate writer, no copy (the codec benchmark, bench/codec.js, depends on this).
 */
import { FrameError } from './errors';
import { CODECS } from './proto';
import type { MessageCodec } from './codec';
import type { MessageByType, MessageTypeCode } from './types';

/** Size of the frame header in bytes. */
export const HEADER_BYTES = 8;

/** The codec for a type code, or a typed error for an unknown code. */
function codecFor(typeCode: number): MessageCodec {
  const c = CODECS[typeCode];
  if (c === undefined) throw new FrameError('UNKNOWN_TYPE', `unknown frame type code ${typeCode}`, typeCode);
  return c;
}

/** Writes the 8-byte big-endian header. Plain stores: cheaper than writeInt32BE's checks. */
function writeHeader(buf: Buffer, bodyLength: number, typeCode: number): void {
  buf[0] = bodyLength >>> 24;
  buf[1] = bodyLength >>> 16;
  buf[2] = bodyLength >>> 8;
  buf[3] = bodyLength;
  buf[4] = typeCode >>> 24;
  buf[5] = typeCode >>> 16;
  buf[6] = typeCode >>> 8;
  buf[7] = typeCode;
}

/** Encodes `msg` after `offset` reserved bytes; checks the sizing pass and the write agree. */
function encodeAt(c: MessageCodec, msg: object, offset: number): Buffer {
  const size = c.size(msg);
  const buf = Buffer.allocUnsafe(offset + size);
  const end = c.write(msg, buf, offset);
  // Only a message mutated between the two passes (e.g. by a getter) can trip this; without the
  // check the frame would carry uninitialised memory.
  if (end !== offset + size) throw new Error(`${c.name} changed while being encoded (${end - offset} != ${size} bytes)`);
  return buf;
}

/**
 * Encodes only the protobuf body of a message. Fields at their proto3 default are omitted.
 * Throws {@link FrameError} UNKNOWN_TYPE for a code without a message.
 */
export function encodeBody<K extends MessageTypeCode>(typeCode: K, msg: Partial<MessageByType[K]>): Buffer {
  return encodeAt(codecFor(typeCode), msg, 0);
}

/** Prefixes a body with the 8-byte header (copies it; encodeFrame() avoids the copy). */
export function frameBody(typeCode: number, body: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(HEADER_BYTES + body.length);
  writeHeader(out, body.length, typeCode);
  out.set(body, HEADER_BYTES);
  return out;
}

/**
 * Encodes a whole frame (header + body) into one new buffer. Fields at their proto3 default
 * value are omitted, even when set explicitly (as protobuf-java does: seed.md §1.3, §1.5).
 * Throws {@link FrameError} UNKNOWN_TYPE for a code without a message.
 */
export function encodeFrame<K extends MessageTypeCode>(typeCode: K, msg: Partial<MessageByType[K]>): Buffer {
  const buf = encodeAt(codecFor(typeCode), msg, HEADER_BYTES);
  writeHeader(buf, buf.length - HEADER_BYTES, typeCode);
  return buf;
}

/**
 * Decodes a frame body. Missing fields read as their proto3 defaults (0, "", false, empty
 * bytes, a fresh []); the result is a plain object with every field of the message. `bytes`
 * fields are views into `body`, not copies. Unknown fields are skipped.
 * Throws {@link FrameError} UNKNOWN_TYPE or BAD_BODY; never anything else.
 */
export function decodeBody<K extends MessageTypeCode>(typeCode: K, body: Uint8Array): MessageByType[K] {
  const c = codecFor(typeCode);
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  try {
    return c.decode(buf, 0, buf.length, 0) as MessageByType[K];
  } catch (err) {
    const why = err instanceof Error ? `: ${err.message}` : '';
    throw new FrameError('BAD_BODY', `undecodable ${c.name} body (${buf.length} bytes)${why}`, typeCode, err);
  }
}

/** True when a type code has a message in the schema. */
export function isKnownType(typeCode: number): typeCode is MessageTypeCode {
  return CODECS[typeCode] !== undefined;
}
