/**
 * Binary form of an {@link Envelope} on the bus. Compact for the hot path ('deliver': a small
 * header, then the frame bytes exactly as the origin encoded them, so the target writes them to
 * sockets without re-encoding), JSON for the rare 'kick'. Every envelope carries its origin
 * instance id (STYLE.md practice 6).
 *
 * ```
 * offset 0  u8   format version = 1
 * offset 1  u8   kind: 1 deliver, 2 kick, 3 deliver forwarded (router.ts: passed on once, never again)
 * offset 2  u8   origin length L (1..128), then L bytes of origin ([A-Za-z0-9._-])
 * deliver:  (kinds 1 and 3)
 *           u16  exceptConnId byte length E, then E bytes UTF-8
 *           u32  user count N, then N float64 BE user ids (exact for safe integers)
 *           the rest: the frame
 * kick:     the rest: UTF-8 JSON {"userId","platform","connId","reason"}
 * ```
 *
 * Decoding never throws anything but {@link EnvelopeError}: a malformed message is dropped by the
 * consumer (acked and logged), never requeued forever.
 */
import { checkConnId, checkInstanceId, checkSafeInt } from './keys';
import type { DeliverEnvelope, Envelope, KickEnvelope } from './ports';

/** Current format version (byte 0). */
export const ENVELOPE_VERSION = 1;
const KIND_DELIVER = 1;
const KIND_KICK = 2;
const KIND_DELIVER_FORWARDED = 3;

/** A bus message could not be decoded (or an envelope to encode is invalid). */
export class EnvelopeError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EnvelopeError';
  }
}

/** Encodes an envelope. @throws EnvelopeError when a field is invalid. */
export function encodeEnvelope(env: Envelope): Buffer {
  try {
    const origin = checkInstanceId(env.origin, 'envelope.origin');
    if (env.kind === 'deliver') return encodeDeliver(env, origin);
    if (env.kind === 'kick') return encodeKick(env, origin);
  } catch (err) {
    if (err instanceof EnvelopeError) throw err;
    throw new EnvelopeError(`cannot encode envelope: ${(err as Error).message}`, { cause: err });
  }
  throw new EnvelopeError(`cannot encode envelope: unknown kind ${JSON.stringify((env as { kind: unknown }).kind)}`);
}

function encodeDeliver(env: DeliverEnvelope, origin: string): Buffer {
  if (!Buffer.isBuffer(env.frame)) throw new EnvelopeError('envelope.frame must be a Buffer');
  if (typeof env.exceptConnId !== 'string') throw new EnvelopeError('envelope.exceptConnId must be a string');
  const exceptLen = Buffer.byteLength(env.exceptConnId);
  if (exceptLen > 0xffff) throw new EnvelopeError('envelope.exceptConnId is longer than 65535 bytes');
  const n = env.userIds.length;
  const size = 3 + origin.length + 2 + exceptLen + 4 + 8 * n + env.frame.length;
  const buf = Buffer.allocUnsafe(size);
  let o = 0;
  buf[o++] = ENVELOPE_VERSION;
  buf[o++] = env.forwarded ? KIND_DELIVER_FORWARDED : KIND_DELIVER;
  buf[o++] = origin.length;
  o += buf.write(origin, o, 'latin1');
  buf.writeUInt16BE(exceptLen, o);
  o += 2;
  o += buf.write(env.exceptConnId, o, 'utf8');
  buf.writeUInt32BE(n, o);
  o += 4;
  for (let i = 0; i < n; i++) {
    buf.writeDoubleBE(checkSafeInt(env.userIds[i], 'envelope.userIds[]'), o);
    o += 8;
  }
  env.frame.copy(buf, o);
  return buf;
}

function encodeKick(env: KickEnvelope, origin: string): Buffer {
  const body = JSON.stringify({
    userId: checkSafeInt(env.userId, 'envelope.userId'),
    platform: checkSafeInt(env.platform, 'envelope.platform'),
    connId: checkConnId(env.connId, 'envelope.connId'),
    reason: String(env.reason),
  });
  const head = Buffer.from([ENVELOPE_VERSION, KIND_KICK, origin.length]);
  return Buffer.concat([head, Buffer.from(origin, 'latin1'), Buffer.from(body, 'utf8')]);
}

/**
 * Decodes a bus message. The returned deliver frame is a view of `buf` (no copy).
 * @throws EnvelopeError on any malformed input.
 */
export function decodeEnvelope(buf: Buffer): Envelope {
  if (buf.length < 4) throw new EnvelopeError(`envelope too short (${buf.length} bytes)`);
  if (buf[0] !== ENVELOPE_VERSION) throw new EnvelopeError(`unknown envelope version ${buf[0]}`);
  const kind = buf[1];
  const originLen = buf[2]!;
  let o = 3;
  if (originLen === 0 || o + originLen > buf.length) throw new EnvelopeError('envelope origin length out of range');
  const origin = buf.toString('latin1', o, o + originLen);
  o += originLen;
  try {
    checkInstanceId(origin, 'envelope.origin');
  } catch (err) {
    throw new EnvelopeError((err as Error).message, { cause: err });
  }
  if (kind === KIND_DELIVER || kind === KIND_DELIVER_FORWARDED) {
    if (o + 2 > buf.length) throw new EnvelopeError('envelope truncated in exceptConnId length');
    const exceptLen = buf.readUInt16BE(o);
    o += 2;
    if (o + exceptLen + 4 > buf.length) throw new EnvelopeError('envelope truncated in exceptConnId');
    const exceptConnId = buf.toString('utf8', o, o + exceptLen);
    o += exceptLen;
    const n = buf.readUInt32BE(o);
    o += 4;
    if (n > (buf.length - o) / 8) throw new EnvelopeError(`envelope user count ${n} exceeds its size`);
    const userIds = new Array<number>(n);
    for (let i = 0; i < n; i++) {
      const id = buf.readDoubleBE(o);
      o += 8;
      if (!Number.isSafeInteger(id)) throw new EnvelopeError('envelope user id is not a safe integer');
      userIds[i] = id;
    }
    const env: DeliverEnvelope = { kind: 'deliver', origin, userIds, exceptConnId, frame: buf.subarray(o) };
    if (kind === KIND_DELIVER_FORWARDED) env.forwarded = true;
    return env;
  }
  if (kind === KIND_KICK) {
    let j: unknown;
    try {
      j = JSON.parse(buf.toString('utf8', o));
    } catch (err) {
      throw new EnvelopeError('kick envelope body is not JSON', { cause: err });
    }
    const r = j as Record<string, unknown> | null;
    if (
      r === null || typeof r !== 'object' || !Number.isSafeInteger(r.userId) || !Number.isSafeInteger(r.platform) ||
      typeof r.connId !== 'string' || r.connId.length === 0 || typeof r.reason !== 'string'
    ) {
      throw new EnvelopeError('kick envelope body has missing or mistyped fields');
    }
    return {
      kind: 'kick', origin, userId: r.userId as number, platform: r.platform as number, connId: r.connId,
      reason: r.reason,
    };
  }
  throw new EnvelopeError(`unknown envelope kind ${kind}`);
}
