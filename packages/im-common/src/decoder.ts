/**
 * Streaming frame decoder: fed bytes, yields raw frames or a typed error. It knows no socket.
 *
 * The declared length is checked against the cap while reading the header, before any body byte
 * is buffered (seed.md §1.6: the seed buffered without limit and desynchronised on a negative
 * length). After a framing error the decoder is poisoned: the stream cannot be trusted again.
 */
import { FrameError } from './errors';
import { HEADER_BYTES, isKnownType } from './frame';

/** Default maximum body length: 64 KiB. */
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024;

/** The largest length the int32 header field can declare. */
const MAX_INT32 = 0x7fffffff;

/** One frame as read from the stream; `body` may share memory with the pushed chunk. */
export interface RawFrame {
  /** The frame's type code (known to the schema). */
  typeCode: number;
  /** The protobuf body. */
  body: Buffer;
}

/** Options for {@link FrameDecoder}. */
export interface FrameDecoderOptions {
  /** Largest accepted body length in bytes. Default {@link DEFAULT_MAX_FRAME_BYTES}. */
  maxFrameBytes?: number;
}

/** Incremental decoder. Call {@link push} with each chunk. */
export class FrameDecoder {
  private readonly maxFrameBytes: number;
  private pending: Buffer[] | null = null;
  private pendingBytes = 0;
  private need = 0;
  private poisoned: FrameError | null = null;

  /** Throws a TypeError naming the option when `maxFrameBytes` is not an integer in 0..2^31-1. */
  constructor(opts: FrameDecoderOptions = {}) {
    const max = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    if (!Number.isInteger(max) || max < 0 || max > MAX_INT32) {
      throw new TypeError(`maxFrameBytes must be an integer from 0 to ${MAX_INT32}, got ${String(max)}`);
    }
    this.maxFrameBytes = max;
  }

  /** The error that poisoned this decoder, or null while it is healthy. */
  get error(): FrameError | null {
    return this.poisoned;
  }

  /** Bytes buffered of an incomplete frame. */
  get bufferedBytes(): number {
    return this.pending === null ? 0 : this.pendingBytes;
  }

  /**
   * Feeds a chunk. Calls `onFrame` for each complete frame, in order. Returns null, or the
   * {@link FrameError} that stopped decoding (frames before it were delivered). Once an error is
   * returned, every later push returns it again. Never throws for any input bytes.
   *
   * If `onFrame` throws, the exception propagates out of push() and the decoder stays
   * consistent: the frames after the one being delivered stay buffered and are delivered by the
   * next push (an empty chunk will do).
   */
  push(chunk: Uint8Array, onFrame: (frame: RawFrame) => void): FrameError | null {
    if (this.poisoned) return this.poisoned;
    let buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.pending !== null) {
      this.pending.push(buf);
      this.pendingBytes += buf.length;
      // Only join once the awaited frame is complete: a large frame split into many small
      // chunks is then copied once, not once per chunk.
      if (this.pendingBytes < this.need) return null;
      buf = Buffer.concat(this.pending, this.pendingBytes);
      this.pending = null;
    }
    let off = 0;
    const end = buf.length;
    while (end - off >= HEADER_BYTES) {
      // Plain loads rather than readInt32BE: this runs once per frame. `| 0` keeps the sign.
      const len = (buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3];
      const typeCode = (buf[off + 4] << 24) | (buf[off + 5] << 16) | (buf[off + 6] << 8) | buf[off + 7];
      if (len < 0) return this.poison(new FrameError('NEGATIVE_LENGTH', `negative frame length ${len}`, typeCode));
      if (len > this.maxFrameBytes) {
        return this.poison(new FrameError('FRAME_TOO_LARGE',
          `frame body of ${len} bytes exceeds the ${this.maxFrameBytes}-byte limit`, typeCode));
      }
      if (!isKnownType(typeCode)) {
        return this.poison(new FrameError('UNKNOWN_TYPE', `unknown frame type code ${typeCode}`, typeCode));
      }
      if (end - off - HEADER_BYTES < len) break;
      const start = off + HEADER_BYTES;
      off = start + len;
      try {
        onFrame({ typeCode, body: buf.subarray(start, off) });
      } catch (err) {
        // The callback's fault, not the stream's: keep our place, then let it propagate.
        this.keep(buf, off, end);
        throw err;
      }
    }
    this.keep(buf, off, end);
    return null;
  }

  /** Saves the unread tail (a copy, so a large chunk is not pinned by a few bytes). */
  private keep(buf: Buffer, off: number, end: number): void {
    if (off >= end) return;
    const tail = Buffer.from(buf.subarray(off, end));
    this.pending = [tail];
    this.pendingBytes = tail.length;
    this.need = tail.length < HEADER_BYTES ? HEADER_BYTES : HEADER_BYTES + tail.readInt32BE(0);
  }

  /** Drops buffered bytes and any poisoning, as if newly constructed. */
  reset(): void {
    this.pending = null;
    this.pendingBytes = 0;
    this.poisoned = null;
  }

  private poison(err: FrameError): FrameError {
    this.poisoned = err;
    this.pending = null;
    return err;
  }
}
