/**
 * Pure frame encoding and body decoding (seed.md §1.1).
 *
 *   offset 0  int32 BE  bodyLength (body only)
 *   offset 4  int32 BE  typeCode
 *   offset 8  bodyLength bytes of protobuf3
 */
import protobuf from 'protobufjs';
import { FrameError } from './errors';
import { TYPES } from './proto';
import type { MessageByType, MessageTypeCode } from './types';

/** Size of the frame header in bytes. */
export const HEADER_BYTES = 8;

/** The protobuf type for a code, or a typed error for an unknown code. */
function typeFor(typeCode: number): protobuf.Type {
  const t = TYPES[typeCode];
  if (t === undefined) throw new FrameError('UNKNOWN_TYPE', `unknown frame type code ${typeCode}`, typeCode);
  return t;
}

/** Encodes only the protobuf body of a message. */
export function encodeBody<K extends MessageTypeCode>(typeCode: K, msg: Partial<MessageByType[K]>): Uint8Array {
  return typeFor(typeCode).encode(msg as unknown as protobuf.Message).finish();
}

/** Prefixes a body with the 8-byte header. */
export function frameBody(typeCode: number, body: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(HEADER_BYTES + body.length);
  out.writeInt32BE(body.length, 0);
  out.writeInt32BE(typeCode, 4);
  out.set(body, HEADER_BYTES);
  return out;
}

/** Encodes a whole frame (header + body). Fields at their default value are omitted (proto3). */
export function encodeFrame<K extends MessageTypeCode>(typeCode: K, msg: Partial<MessageByType[K]>): Buffer {
  return frameBody(typeCode, encodeBody(typeCode, msg));
}

/**
 * Decodes a frame body. Missing fields read as their proto3 defaults (0, "", false, []).
 * Throws {@link FrameError} UNKNOWN_TYPE or BAD_BODY; never anything else.
 */
export function decodeBody<K extends MessageTypeCode>(typeCode: K, body: Uint8Array): MessageByType[K] {
  const t = typeFor(typeCode);
  try {
    return t.decode(body) as unknown as MessageByType[K];
  } catch (err) {
    throw new FrameError('BAD_BODY', `undecodable ${t.name} body (${body.length} bytes)`, typeCode, err);
  }
}

/** True when a type code has a message in the schema. */
export function isKnownType(typeCode: number): typeCode is MessageTypeCode {
  return TYPES[typeCode] !== undefined;
}
