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

/** Smallest buffer allocated for a partial frame; it doubles as bytes arrive, up to the frame. */
const MIN_PART_BYTES = 256;

/**
 * Incremental decoder. Call {@link push} with each chunk.
 *
 * Whole frames are handed out as views into the pushed chunk (no copy). Only a frame split across
 * chunks is copied, into one buffer that grows by doubling up to the declared frame size: memory
 * stays within twice the bytes actually received, however small the chunks (an array of 1-byte
 * chunks would cost ~100 bytes of overhead per byte received), and each byte is copied O(1) times.
 */
export class FrameDecoder {
  private readonly maxFrameBytes: number;
  /** The incomplete frame being assembled (header included), or null. */
  private part: Buffer | null = null;
  /** Bytes of `part` filled. */
  private partLen = 0;
  /** Total size of the frame in `part` (header + body); HEADER_BYTES until the header is in. */
  private partNeed = 0;
  /** Unread bytes left by a throwing callback; processed first by the next push. */
  private stash: Buffer | null = null;
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

  /** Bytes received but not yet delivered as frames (an incomplete frame, or a stash). */
  get bufferedBytes(): number {
    return this.partLen + (this.stash === null ? 0 : this.stash.length);
  }

  /**
   * Feeds a chunk. Calls `onFrame` for each complete frame, in order. Returns null, or the
   * {@link FrameError} that stopped decoding (frames before it were delivered). Once an error is
   * returned, every later push returns it again. Never throws for any input bytes.
   *
   * A frame's header is checked as soon as its 8 bytes are in, before its body is awaited.
   * A frame's `body` is valid for as long as the caller keeps it: it is never overwritten.
   *
   * If `onFrame` throws, the exception propagates out of push() and the decoder stays
   * consistent: the frames after the one being delivered stay buffered and are delivered by the
   * next push (an empty chunk will do).
   */
  push(chunk: Uint8Array, onFrame: (frame: RawFrame) => void): FrameError | null {
    if (this.poisoned) return this.poisoned;
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.stash !== null) {
      const stash = this.stash;
      this.stash = null;
      let err: FrameError | null;
      try {
        err = this.push(stash, onFrame);
      } catch (e) {
        // Another callback exception: keep this chunk behind whatever the stash left.
        this.stash = this.stash === null ? Buffer.from(buf) : Buffer.concat([this.stash, buf]);
        throw e;
      }
      if (err) return err;
    }
    let off = 0;
    if (this.part !== null) {
      off = this.fill(buf);
      if (this.poisoned) return this.poisoned;
      if (this.partLen < HEADER_BYTES || this.partLen < this.partNeed) return null; // all consumed
      const frame = this.part;
      const typeCode = frame.readInt32BE(4);
      const end = this.partNeed;
      this.part = null;
      this.partLen = 0;
      this.deliver(onFrame, typeCode, frame.subarray(HEADER_BYTES, end), buf, off);
    }
    const end = buf.length;
    while (end - off >= HEADER_BYTES) {
      // Plain loads rather than readInt32BE: this runs once per frame. `| 0` keeps the sign.
      const len = (buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3];
      const typeCode = (buf[off + 4] << 24) | (buf[off + 5] << 16) | (buf[off + 6] << 8) | buf[off + 7];
      const err = this.checkHeader(len, typeCode);
      if (err) return this.poison(err);
      if (end - off - HEADER_BYTES < len) break;
      const start = off + HEADER_BYTES;
      off = start + len;
      this.deliver(onFrame, typeCode, buf.subarray(start, off), buf, off);
    }
    if (off < end) this.startPart(buf, off, end);
    return null;
  }

  /** Calls the callback; if it throws, stashes the unread rest of `buf` and rethrows. */
  private deliver(onFrame: (frame: RawFrame) => void, typeCode: number, body: Buffer, buf: Buffer, rest: number): void {
    try {
      onFrame({ typeCode, body });
    } catch (err) {
      // The callback's fault, not the stream's: keep our place (a copy: the chunk may be reused).
      if (rest < buf.length) this.stash = Buffer.from(buf.subarray(rest));
      throw err;
    }
  }

  /** The error for a bad header, or null. Checked before any body byte is awaited. */
  private checkHeader(len: number, typeCode: number): FrameError | null {
    if (len < 0) return new FrameError('NEGATIVE_LENGTH', `negative frame length ${len}`, typeCode);
    if (len > this.maxFrameBytes) {
      return new FrameError('FRAME_TOO_LARGE', `frame body of ${len} bytes exceeds the ${this.maxFrameBytes}-byte limit`, typeCode);
    }
    if (!isKnownType(typeCode)) return new FrameError('UNKNOWN_TYPE', `unknown frame type code ${typeCode}`, typeCode);
    return null;
  }

  /** Starts a partial frame from the tail buf[off, end) (its header, if complete, is valid). */
  private startPart(buf: Buffer, off: number, end: number): void {
    const n = end - off;
    this.partNeed = n < HEADER_BYTES ? HEADER_BYTES : HEADER_BYTES + buf.readInt32BE(off);
    this.part = Buffer.allocUnsafe(Math.min(Math.max(MIN_PART_BYTES, 2 * n), Math.max(this.partNeed, n)));
    buf.copy(this.part, 0, off, end);
    this.partLen = n;
  }

  /** Appends to the partial frame what it still lacks from `buf`; returns the bytes consumed. */
  private fill(buf: Buffer): number {
    let used = 0;
    if (this.partLen < HEADER_BYTES) {
      used = Math.min(HEADER_BYTES - this.partLen, buf.length);
      buf.copy(this.part!, this.partLen, 0, used);
      this.partLen += used;
      if (this.partLen < HEADER_BYTES) return used;
      const part = this.part!;
      const err = this.checkHeader(part.readInt32BE(0), part.readInt32BE(4));
      if (err) {
        this.poison(err);
        return used;
      }
      this.partNeed = HEADER_BYTES + part.readInt32BE(0);
    }
    const n = Math.min(this.partNeed - this.partLen, buf.length - used);
    if (this.partLen + n > this.part!.length) {
      // Grow by doubling, never past the frame: copies stay linear in the frame size.
      const grown = Buffer.allocUnsafe(Math.min(this.partNeed, Math.max(this.partLen + n, 2 * this.part!.length)));
      this.part!.copy(grown, 0, 0, this.partLen);
      this.part = grown;
    }
    buf.copy(this.part!, this.partLen, used, used + n);
    this.partLen += n;
    return used + n;
  }

  /** Drops buffered bytes and any poisoning, as if newly constructed. */
  reset(): void {
    this.part = null;
    this.partLen = 0;
    this.stash = null;
    this.poisoned = null;
  }

  private poison(err: FrameError): FrameError {
    this.poisoned = err;
    this.part = null;
    this.partLen = 0;
    this.stash = null;
    return err;
  }
}
