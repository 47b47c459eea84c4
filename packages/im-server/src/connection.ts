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

/** Lifecycle: new → authenticating → online → closing → closed. */
export type ConnState = 'new' | 'authenticating' | 'online' | 'closing' | 'closed';

/** What a connection needs from the server. */
export interface ConnectionHost {
  /** Handles one decoded-frame; never throws. */
  onFrame(conn: Connection, frame: RawFrame): void;
  /** Called once when the socket is gone. */
  onClose(conn: Connection): void;
  readonly maxFrameBytes: number;
  readonly maxOutboundBytes: number;
  readonly maxInflight: number;
}

/** Milliseconds a closing socket may take to flush before it is destroyed. */
const CLOSE_FLUSH_MS = 1000;

/** A client connection. */
export class Connection {
  state: ConnState = 'new';
  /** The logged-in user (0 before login). Identity comes from here, never from a frame. */
  userId = 0;
  /** Device slot (OnlineMessage.userPlatformId). */
  platform = 0;
  /** True for protocolVersion 0 clients: they receive only the seed's frame types 1-5. */
  seedMode = true;
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
  /** Requests awaiting a backend; reading pauses at host.maxInflight. */
  inflight = 0;
  log: Logger;

  private readonly decoder: FrameDecoder;
  private corked = false;
  private paused = false;
  /** Live pushes that arrived during login, flushed after LoginAck so it comes first. */
  private held: Buffer[] | null = null;

  constructor(readonly id: string, readonly socket: net.Socket, private readonly host: ConnectionHost, log: Logger) {
    this.log = log;
    this.decoder = new FrameDecoder({ maxFrameBytes: host.maxFrameBytes });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => { this.lastDrainedAt = Date.now(); });
    socket.on('error', (err) => { this.log.debug({ err: err.message }, 'socket error'); });
    socket.on('close', () => this.onSocketClose());
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

  private onData(chunk: Buffer): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    this.lastReadAt = Date.now();
    const err = this.decoder.push(chunk, (frame) => this.host.onFrame(this, frame));
    if (err) {
      this.fail(err);
      return;
    }
    if (this.decoder.bufferedBytes === 0) this.partialSince = 0;
    else if (this.partialSince === 0) this.partialSince = this.lastReadAt;
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
    if (this.socket.writableLength > this.host.maxOutboundBytes && this.state !== 'closing') {
      this.fail(new ImError('SLOW_CONSUMER',
        `outbound buffer passed ${this.host.maxOutboundBytes} bytes: the client is not reading`, { fatal: true }));
    }
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
    if (this.seedMode && this.state === 'online') {
      this.write(encodeFrame(MessageType.BUSINESS, {
        id: requestId, businessType: ErrorCodes[err.code], msgBody: `${err.code}: ${err.message}`,
        timeStamp: Date.now(),
      }));
    } else {
      this.write(encodeFrame(MessageType.ERROR, { requestId, code: err.code, message: err.message, fatal, refType }));
    }
    if (fatal) this.close(err.code);
  }

  /** Sends a fatal error and closes. */
  fail(err: ImError): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    this.log.info({ code: err.code, msg: err.message }, 'closing connection');
    this.sendError(err.fatal ? err : new ImError(err.code, err.message, { fatal: true }));
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

  /** Marks a request as waiting on a backend; pauses reading past the limit. */
  beginWork(): void {
    if (++this.inflight >= this.host.maxInflight && !this.paused) {
      this.paused = true;
      this.socket.pause();
    }
  }

  /** Ends {@link beginWork}; resumes reading below the limit. */
  endWork(): void {
    if (--this.inflight < this.host.maxInflight && this.paused) {
      this.paused = false;
      if (this.state !== 'closed') this.socket.resume();
    }
  }

  private onSocketClose(): void {
    if (this.state === 'closed') return;
    if (this.state !== 'closing') this.closeReason ||= 'peer closed';
    this.state = 'closed';
    this.host.onClose(this);
  }
}

function uncork(conn: Connection): void {
  conn.uncork();
}
