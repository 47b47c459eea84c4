/**
 * One client connection: the socket, its decoder, its state and its single write path.
 *
 * Timers are not per connection: the server's sweeper (sweeper.ts) checks idle, login, partial
 * frame and drain deadlines for every connection once per tick of a coarse interval, which costs
 * far less than 20,000 refreshed timers.
 */
import type * as net from 'node:net';
import type { Logger } from 'pino';
import {
  encodeFrame, ErrorCodes, FrameDecoder, ImError, MessageType, SEED_MAX_TYPE,
  type MessageByType, type MessageTypeCode, type RawFrame,
} from '@hxim/im-common';
import { TokenBucket } from './limits/token-bucket';
import { RetryLaterError, retryAfterOf } from './limits/retry-later';
import type { InflightGate } from './limits/inflight-gate';
import type { Backlogged, FrameScheduler } from './scheduler';
import { attachSocket } from './socket-listeners';
import type { Stats } from './stats';

/** Lifecycle: new → authenticating → online → closing → closed. */
export type ConnState = 'new' | 'authenticating' | 'online' | 'closing' | 'closed';

/** Per-connection limits, shared by every connection of a server (config.ts). */
export interface ConnectionLimits {
  readonly maxFrameBytes: number;
  readonly maxOutboundBytes: number;
  readonly maxInflight: number;
  /** Frames per second (token bucket refill); 0 = unlimited. */
  readonly msgRate: number;
  /** Token bucket size. */
  readonly msgBurst: number;
  /** Longest a connection may stay over its rate before RATE_LIMITED + close. */
  readonly rateLimitGraceMs: number;
}

/** What a connection needs from the server. */
export interface ConnectionHost {
  /** Handles one decoded-frame; never throws. */
  onFrame(conn: Connection, frame: RawFrame): void;
  /** Called once when the socket is gone. */
  onClose(conn: Connection): void;
  readonly limits: ConnectionLimits;
  /** Counters (bytes and frames by type, rate-limit pauses, evictions). */
  readonly stats: Stats;
  /** The fair share of event-loop time for frame handling. */
  readonly scheduler: FrameScheduler;
  /** The server-wide bound on requests awaiting a backend. */
  readonly gate: InflightGate;
}

/** Why reading is paused; reading resumes when no reason is left. */
export const Pause = {
  /** {@link ConnectionLimits.maxInflight} requests await a backend. */
  INFLIGHT: 1,
  /** A login is being processed (later frames wait in the dispatcher's inbox). */
  LOGIN: 2,
  /** Over the frame rate: paused until the token bucket is out of debt. */
  RATE: 4,
  /** The server is draining. */
  DRAIN: 8,
  /** Frames already read wait for their turn (scheduler.ts). */
  BACKLOG: 16,
  /** The whole server is at its in-flight limit (limits/inflight-gate.ts). */
  SERVER_INFLIGHT: 32,
} as const;

/** Milliseconds a closing socket may take to flush before it is destroyed. */
const CLOSE_FLUSH_MS = 1000;

/** A client connection. */
export class Connection implements Backlogged {
  state: ConnState = 'new';
  /** The logged-in user (0 before login). Identity comes from here, never from a frame. */
  userId = 0;
  /** Device slot (OnlineMessage.userPlatformId). */
  platform = 0;
  /** True for protocolVersion 0 clients: they receive only the seed's frame types 1-5. */
  seedMode = true;
  /** Set once a login frame said protocolVersion 0: even login errors must use seed types. */
  seedDeclared = false;
  /** SHA-256 of the session token used or issued at login, for logout. */
  tokenHash = '';
  /** Set when close() ran, with the reason for logs. */
  closeReason = '';
  readonly openedAt = Date.now();
  lastReadAt = this.openedAt;
  /** When the oldest unread partial frame started arriving (0: none). */
  partialSince = 0;
  /** Last time the socket's buffer was empty (for the drain timeout). */
  lastDrainedAt = this.openedAt;
  /** Requests awaiting a backend; reading pauses at limits.maxInflight. */
  inflight = 0;
  /** The server's logger; {@link log} derives this connection's from it. */
  private readonly baseLog: Logger;

  private readonly decoder: FrameDecoder;
  private corked = false;
  /** Bit set of {@link Pause} reasons. */
  private pausedFor = 0;
  /** Frame-rate bucket (null: unlimited). */
  private readonly bucket: TokenBucket | null;
  /** Start of the current stretch over the frame rate (0: not over it). */
  private limitedSince = 0;
  private rateTimer: NodeJS.Timeout | null = null;
  private readonly onFrame = (frame: RawFrame): void => {
    this.frames++;
    const stats = this.host.stats;
    stats.framesIn++;
    if (frame.typeCode < stats.framesInByType.length) stats.framesInByType[frame.typeCode]!++;
    if (this.backlog === null && this.host.scheduler.take()) this.host.onFrame(this, frame);
    else (this.backlog ??= []).push(frame);
  };
  /** Frames decoded from the current read. */
  private frames = 0;
  /** Frames decoded but not yet handled (scheduler.ts), from backlogHead on; null when none. */
  private backlog: RawFrame[] | null = null;
  private backlogHead = 0;
  /** Live pushes that arrived during login, flushed after LoginAck so it comes first. */
  private held: Buffer[] | null = null;

  /** @param log the server's logger; this connection's lines add its connId (and userId once known). */
  constructor(readonly id: string, readonly socket: net.Socket, private readonly host: ConnectionHost, log: Logger) {
    this.baseLog = log;
    const lim = host.limits;
    this.decoder = new FrameDecoder({ maxFrameBytes: lim.maxFrameBytes });
    this.bucket = lim.msgRate > 0 ? new TokenBucket(lim.msgRate, lim.msgBurst, this.openedAt) : null;
    socket.setNoDelay(true);
    attachSocket(socket, this);
  }

  /**
   * This connection's logger (bindings connId, and userId once logged in), made anew on each use
   * and not kept: a connection logs a handful of lines in its life (login, logout, close), while a
   * kept pino child costs ~1.3 KiB of heap per idle connection. Never use it per message.
   */
  get log(): Logger {
    return this.baseLog.child(this.userId ? { connId: this.id, userId: this.userId } : { connId: this.id });
  }

  /** Remote address, for logs and per-address limits. */
  get remoteAddress(): string {
    return this.socket.remoteAddress ?? '';
  }

  /** Bytes written but not yet accepted by the kernel. */
  get outboundBytes(): number {
    return this.socket.writableLength;
  }

  /** Bytes of an incomplete frame held by the decoder. */
  get partialBytes(): number {
    return this.decoder.bufferedBytes;
  }

  /** @internal The socket's 'data' listener. */
  onData(chunk: Buffer): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    this.lastReadAt = Date.now();
    this.host.stats.bytesIn += chunk.length;
    this.frames = 0;
    const err = this.decoder.push(chunk, this.onFrame);
    if (err) {
      this.fail(err);
      return;
    }
    if (this.decoder.bufferedBytes === 0) this.partialSince = 0;
    else if (this.partialSince === 0) this.partialSince = this.lastReadAt;
    if (this.bucket !== null && this.frames > 0) this.meter(this.frames);
    if (this.backlog !== null && (this.pausedFor & Pause.BACKLOG) === 0) {
      this.pauseReading(Pause.BACKLOG);
      this.host.scheduler.enqueue(this);
    }
  }

  /**
   * Handles `frames` (held elsewhere, e.g. the dispatcher's login inbox) before any frame still
   * in the backlog, in turn with every other connection (scheduler.ts).
   */
  replay(frames: RawFrame[]): void {
    if (frames.length === 0) return;
    this.backlog = this.backlog === null ? frames : frames.concat(this.backlog.slice(this.backlogHead));
    this.backlogHead = 0;
    if ((this.pausedFor & Pause.BACKLOG) === 0) {
      this.pauseReading(Pause.BACKLOG);
      this.host.scheduler.enqueue(this);
    }
  }

  /** @internal Backlogged: handles up to `max` waiting frames; true if more remain. */
  runBacklog(max: number): boolean {
    const backlog = this.backlog;
    if (backlog === null) return false;
    const end = Math.min(this.backlogHead + max, backlog.length);
    let i = this.backlogHead;
    for (; i < end && this.state !== 'closing' && this.state !== 'closed'; i++) this.host.onFrame(this, backlog[i]!);
    this.backlogHead = i;
    if (i < backlog.length && this.state !== 'closing' && this.state !== 'closed') return true;
    this.backlog = null;
    this.backlogHead = 0;
    this.resumeReading(Pause.BACKLOG);
    return false;
  }

  /**
   * The frame-rate limit (issue 7): the frames of this chunk were read and are handled, but a
   * connection over its rate stops being read until its bucket is out of debt, so TCP pushes
   * back on the sender. Only a connection that stays over the rate for rateLimitGraceMs (it
   * would hold its pause forever) is told RATE_LIMITED and closed.
   */
  private meter(n: number): void {
    const bucket = this.bucket!;
    const now = this.lastReadAt;
    // The stretch over the rate ends once the client let the bucket refill to half.
    if (this.limitedSince !== 0 && bucket.level(now) >= bucket.burst / 2) this.limitedSince = 0;
    if (bucket.take(now, n) >= 0 || this.state === 'closing' || this.state === 'closed') return;
    const wait = bucket.waitMs(now);
    if (this.limitedSince === 0) this.limitedSince = now;
    else if (now - this.limitedSince > this.host.limits.rateLimitGraceMs) {
      this.fail(new RetryLaterError('RATE_LIMITED',
        `more than ${this.host.limits.msgRate} frames/s for over ${this.host.limits.rateLimitGraceMs} ms; slow down`, wait, { fatal: true }));
      return;
    }
    this.host.stats.ratePauses++;
    this.pauseReading(Pause.RATE);
    if (this.rateTimer) clearTimeout(this.rateTimer);
    this.rateTimer = setTimeout(() => {
      this.rateTimer = null;
      this.resumeReading(Pause.RATE);
    }, wait);
    this.rateTimer.unref();
  }

  /** Stops reading for `reason` (one of {@link Pause}); reading resumes when every reason is gone. */
  pauseReading(reason: number): void {
    if (this.pausedFor === 0) this.socket.pause();
    this.pausedFor |= reason;
  }

  /** Ends a {@link pauseReading}. */
  resumeReading(reason: number): void {
    if ((this.pausedFor & reason) === 0) return;
    this.pausedFor &= ~reason;
    if (this.pausedFor === 0 && this.state !== 'closed') this.socket.resume();
  }

  /**
   * The one write path. Writes within a tick are corked together (one syscall for many frames).
   * A connection whose unsent output passes the limit is closed: it must not hold memory for
   * everyone else (DESIGN.md "Slow consumers are evicted").
   */
  write(frame: Buffer): void {
    if (this.state === 'closed' || this.socket.destroyed) return;
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(uncork, this);
    }
    if (this.socket.writableLength === 0) this.lastDrainedAt = Date.now();
    this.socket.write(frame);
    const stats = this.host.stats;
    stats.bytesOut += frame.length;
    const type = frame.length >= 8 ? frame.readInt32BE(4) : 0;
    if (type > 0 && type < stats.framesOutByType.length) stats.framesOutByType[type]!++;
    if (this.socket.writableLength > this.host.limits.maxOutboundBytes) this.evict('outbound buffer passed the limit');
  }

  /**
   * Closes a slow consumer at once, without an error frame: it would sit behind the unread
   * backlog and never be read, and destroying the socket frees that backlog now.
   */
  evict(why: string): void {
    if (this.state === 'closed') return;
    const wasClosing = this.state === 'closing';
    this.log.info({ outboundBytes: this.socket.writableLength, limit: this.host.limits.maxOutboundBytes }, `closing slow consumer: ${why}`);
    this.state = 'closing';
    this.closeReason ||= 'SLOW_CONSUMER';
    this.held = null;
    if (!wasClosing) this.host.stats.error('SLOW_CONSUMER');
    this.socket.destroy();
  }

  /** @internal flushes the corked writes of this tick. */
  uncork(): void {
    this.corked = false;
    this.socket.uncork();
  }

  /** Encodes and writes one message. Seed-mode connections never get types above 5. */
  send<K extends MessageTypeCode>(type: K, msg: Partial<MessageByType[K]>): void {
    if (this.seedMode && this.state === 'online' && type > SEED_MAX_TYPE) return;
    this.write(encodeFrame(type, msg));
  }

  /** Writes a pushed frame now, or holds it until login completes. */
  push(frame: Buffer): void {
    if (this.held !== null) this.held.push(frame);
    else this.write(frame);
  }

  /** Starts holding pushes (login in progress). */
  holdPushes(): void {
    this.held ??= [];
  }

  /** Writes the held pushes, in order, and stops holding. */
  releasePushes(): void {
    const held = this.held;
    this.held = null;
    if (held) for (const f of held) this.write(f);
  }

  /**
   * Reports an error to the client: an ErrorMessage, or for seed-mode clients (who reject
   * unknown types) a BusinessMessage with businessType = the numeric code. Fatal errors close.
   */
  sendError(err: ImError, requestId = '', refType = 0): void {
    const fatal = err.fatal;
    if (this.seedMode && (this.state === 'online' || this.seedDeclared)) {
      this.write(encodeFrame(MessageType.BUSINESS, {
        id: requestId, businessType: ErrorCodes[err.code], msgBody: `${err.code}: ${err.message}`,
        timeStamp: Date.now(),
      }));
    } else {
      this.write(encodeFrame(MessageType.ERROR, {
        requestId, code: err.code, message: err.message, fatal, refType, retryAfterMs: retryAfterOf(err),
      }));
    }
    if (fatal) this.close(err.code);
  }

  /** Sends a fatal error and closes. */
  fail(err: ImError): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    this.log.info({ code: err.code, msg: err.message }, 'closing connection');
    this.host.stats.error(err.code);
    this.sendError(err.fatal ? err : new ImError(err.code, err.message, { fatal: true, cause: err }));
  }

  /** Flushes and closes; destroys the socket if the flush takes too long. */
  close(reason: string): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    this.state = 'closing';
    this.closeReason = reason;
    this.held = null;
    this.socket.end();
    setTimeout(() => this.socket.destroy(), CLOSE_FLUSH_MS).unref();
  }

  /** Resolves once unsent output is at most `bytes` (at once if it is), or the socket is gone. */
  whenDrained(bytes: number): Promise<void> {
    if (this.socket.writableLength <= bytes || this.socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }


  /** Marks a request as waiting on a backend; pauses reading past the limit. */
  beginWork(): void {
    if (++this.inflight >= this.host.limits.maxInflight) this.pauseReading(Pause.INFLIGHT);
    this.host.gate.enter(this);
  }

  /** Ends {@link beginWork}; resumes reading below the limit. */
  endWork(): void {
    if (--this.inflight < this.host.limits.maxInflight) this.resumeReading(Pause.INFLIGHT);
    this.host.gate.leave();
  }

  /** @internal The socket's 'close' listener. */
  onSocketClose(): void {
    if (this.rateTimer) clearTimeout(this.rateTimer);
    this.rateTimer = null;
    if (this.state === 'closed') return;
    if (this.state !== 'closing') this.closeReason ||= 'peer closed';
    this.state = 'closed';
    this.host.gate.forget(this);
    this.host.onClose(this);
  }
}

function uncork(conn: Connection): void {
  conn.uncork();
}
