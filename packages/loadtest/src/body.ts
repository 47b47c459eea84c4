/**
 * What every load message carries, and the pre-encoded chat frame the senders patch.
 *
 * Body layout (little-endian), then 'x' padding up to the body size:
 *   0  'L' 'T'   magic            4  uint32 run id       12  uint32 message number
 *   2  uint8 1   layout version   8  uint32 sender index 16  float64 intended send time (µs, monotonic)
 *
 * The chat frame is encoded once per sender with im-common's encodeFrame (so it is exactly what the
 * codec produces) and then copied and patched per message: the client message id's digits and the
 * stamp. This is the "encode once per message template" of the peer harness (im_load.js).
 */
import { encodeFrame, MessageType } from '@hxim/im-common';

/** Bytes of the stamp at the start of the body. */
export const STAMP_BYTES = 24;
const MAGIC0 = 0x4c; // 'L'
const MAGIC1 = 0x54; // 'T'
const VERSION = 1;
/** Digits of the message number in the client message id "m0000000042". */
export const ID_DIGITS = 10;

/** The identity of one load message. */
export interface Stamp {
  runId: number;
  sender: number;
  msgNo: number;
  intendedUs: number;
}

/** Writes a stamp at `off` (the caller sized the buffer). */
export function writeStamp(buf: Buffer, off: number, s: Stamp): void {
  buf[off] = MAGIC0;
  buf[off + 1] = MAGIC1;
  buf[off + 2] = VERSION;
  buf[off + 3] = 0;
  buf.writeUInt32LE(s.runId >>> 0, off + 4);
  buf.writeUInt32LE(s.sender >>> 0, off + 8);
  buf.writeUInt32LE(s.msgNo >>> 0, off + 12);
  buf.writeDoubleLE(s.intendedUs, off + 16);
}

/** Reads the stamp of a body, or null when the body is not a load message of this layout. */
export function readStamp(body: Uint8Array): Stamp | null {
  if (body.length < STAMP_BYTES || body[0] !== MAGIC0 || body[1] !== MAGIC1 || body[2] !== VERSION) return null;
  const b = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  return { runId: b.readUInt32LE(4), sender: b.readUInt32LE(8), msgNo: b.readUInt32LE(12), intendedUs: b.readDoubleLE(16) };
}

/** A whole body: stamp plus padding. */
export function makeBody(s: Stamp, bodyBytes: number): Buffer {
  const b = Buffer.alloc(Math.max(bodyBytes, STAMP_BYTES), 0x78);
  writeStamp(b, 0, s);
  return b;
}

/** The client message id of message `msgNo`: "m" and {@link ID_DIGITS} digits. */
export function clientMsgId(msgNo: number): string {
  return 'm' + String(msgNo).padStart(ID_DIGITS, '0');
}

/** The message number of a client message id, or -1 when it is not one of ours. */
export function msgNoOf(id: string): number {
  if (id.length !== ID_DIGITS + 1 || id.charCodeAt(0) !== 0x6d) return -1;
  const n = Number(id.slice(1));
  return Number.isInteger(n) ? n : -1;
}

/** One sender's pre-encoded ChatMessage frame and where to patch it. */
export class ChatTemplate {
  private readonly frame: Buffer;
  private readonly idOff: number;
  private readonly bodyOff: number;

  /**
   * @param receiveId the recipient user id (0 for a group message)
   * @param bodyBytes body size (≥ {@link STAMP_BYTES})
   * @param groupId the group of a group message (0 for 1:1)
   */
  constructor(readonly runId: number, readonly sender: number, receiveId: number, bodyBytes: number, groupId = 0) {
    const body = makeBody({ runId, sender, msgNo: 0, intendedUs: 0 }, bodyBytes);
    const id = clientMsgId(0);
    this.frame = encodeFrame(MessageType.CHAT, { id, receiveId, groupId, msgBody: body });
    this.idOff = this.frame.indexOf(id, 8, 'latin1');
    this.bodyOff = this.frame.indexOf(body, 8);
    if (this.idOff < 0 || this.bodyOff < 0) throw new Error('ChatTemplate: could not locate the id or the body in the encoded frame');
  }

  /** A new frame for message `msgNo`, intended to be sent at `intendedUs`. */
  build(msgNo: number, intendedUs: number): Buffer {
    const b = Buffer.allocUnsafe(this.frame.length);
    this.frame.copy(b);
    b.write(String(msgNo).padStart(ID_DIGITS, '0'), this.idOff + 1, ID_DIGITS, 'latin1');
    b.writeUInt32LE(msgNo >>> 0, this.bodyOff + 12);
    b.writeDoubleLE(intendedUs, this.bodyOff + 16);
    return b;
  }
}
