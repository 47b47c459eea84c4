/**
 * The one place that touches sockets (STYLE.md: nats.js `Transport`). A {@link Connection} owns a
 * TCP or TLS socket, a {@link FrameDecoder} and the keep-alive timer, and emits decoded frames.
 * Every write goes through {@link Connection.write}, which corks the socket for the rest of the
 * tick so a burst of frames (acks, resends) leaves as one segment (DESIGN.md "Encode once").
 */
import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import * as tls from 'node:tls';
import {
  FrameDecoder, FrameError, MessageType, decodeBody, encodeFrame,
  type AnyMessage, type MessageByType, type MessageTypeCode,
} from '@hxim/im-common';
import { ClientError } from './errors';
import { formatAddress, type ServerAddress } from './options';

/** Why a connection ended. */
export interface CloseReason {
  /** idle: nothing read for idleTimeoutMs; frame: the server's byte stream was malformed;
   * error: a socket error; remote: the server closed; local: we closed it. */
  kind: 'idle' | 'frame' | 'error' | 'remote' | 'local';
  /** Human-readable, e.g. "no data from the server for 15000 ms". */
  message: string;
  /** The underlying error, if any. */
  error?: Error;
}

/** Events of a {@link Connection}. */
export interface ConnectionEvents {
  /** A decoded frame from the server. */
  frame: [frame: AnyMessage];
  /** The socket is gone; emitted exactly once. */
  close: [reason: CloseReason];
}

/** How to open a {@link Connection}. */
export interface OpenOptions {
  address: ServerAddress;
  connectTimeoutMs: number;
  maxFrameBytes: number;
  tls?: tls.ConnectionOptions;
  localAddress?: string;
}

/** A live connection to one server. */
export class Connection extends EventEmitter<ConnectionEvents> {
  /** The server this connection goes to. */
  readonly address: ServerAddress;
  /** Date.now() of the last byte read. */
  lastReadAt = Date.now();
  /** Date.now() of the last frame written. */
  lastWriteAt = Date.now();
  private lastHeartbeatAt = 0;
  private readonly decoder: FrameDecoder;
  private corked = false;
  private closed = false;
  private closeReason: CloseReason | null = null;
  private heartbeatMs = 0;
  private idleTimeoutMs = 0;
  private timer: NodeJS.Timeout | null = null;

  private constructor(private readonly socket: net.Socket, address: ServerAddress, maxFrameBytes: number) {
    super();
    this.address = address;
    this.decoder = new FrameDecoder({ maxFrameBytes });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.end({ kind: 'error', message: `socket error: ${err.message}`, error: err }));
    socket.on('end', () => this.end({ kind: 'remote', message: 'the server closed the connection' }));
    socket.on('close', () => this.end({ kind: 'remote', message: 'the connection closed' }));
  }

  /**
   * Connects to `opts.address` (TLS when `opts.tls` is set). Rejects with CONNECT_FAILED on a
   * refused, unreachable or timed-out connect.
   */
  static open(opts: OpenOptions): Promise<Connection> {
    const where = formatAddress(opts.address);
    return new Promise((resolve, reject) => {
      let socket: net.Socket;
      const onConnected = (): void => {
        cleanup();
        resolve(new Connection(socket, opts.address, opts.maxFrameBytes));
      };
      const onError = (err: Error): void => {
        cleanup();
        socket.on('error', () => undefined); // a late error from the abandoned socket is moot
        socket.destroy();
        reject(new ClientError('CONNECT_FAILED', `cannot connect to ${where}: ${err.message}`, { cause: err }));
      };
      const base = { host: opts.address.host, port: opts.address.port, localAddress: opts.localAddress };
      if (opts.tls) {
        socket = tls.connect({ servername: net.isIP(opts.address.host) ? undefined : opts.address.host, ...opts.tls, ...base });
        socket.once('secureConnect', onConnected);
      } else {
        socket = net.connect(base);
        socket.once('connect', onConnected);
      }
      socket.once('error', onError);
      const timer = setTimeout(() => onError(new Error(`no answer within ${opts.connectTimeoutMs} ms`)), opts.connectTimeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        socket.removeListener('error', onError);
      };
    });
  }

  /** False once the connection has closed. */
  get isOpen(): boolean {
    return !this.closed;
  }

  /** Bytes queued in the socket, not yet handed to the kernel. */
  get bufferedBytes(): number {
    return this.socket.writableLength;
  }

  /**
   * Encodes and writes one frame: the only write path. Frames written in the same tick are sent
   * together (cork until the next tick). Returns false if the connection is closed.
   */
  write<K extends MessageTypeCode>(type: K, msg: Partial<MessageByType[K]>): boolean {
    if (this.closed) return false;
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    this.socket.write(encodeFrame(type, msg));
    this.lastWriteAt = Date.now();
    return true;
  }

  /**
   * Starts (or retunes) the keep-alive: a heartbeat after `heartbeatMs` without writing (or
   * without reading, to probe a quiet server), and a close after `idleTimeoutMs` without reading.
   * One timer per connection, armed for the nearest deadline (aedes keep-alive).
   */
  keepalive(heartbeatMs: number, idleTimeoutMs: number): void {
    this.heartbeatMs = heartbeatMs;
    this.idleTimeoutMs = idleTimeoutMs;
    this.arm();
  }

  /** Closes the socket at once (pending writes are dropped). Emits 'close' with `reason`. */
  destroy(message = 'closed by the client'): void {
    this.end({ kind: 'local', message });
  }

  /** Flushes pending writes, then closes; resolves when closed or after `timeoutMs`. */
  async endGracefully(timeoutMs: number): Promise<void> {
    if (this.closed) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => { this.destroy('closed by the client'); resolve(); }, timeoutMs);
      this.once('close', () => { clearTimeout(timer); resolve(); });
      this.socket.end();
    });
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    this.lastReadAt = Date.now();
    const err = this.decoder.push(chunk, (raw) => {
      if (this.closed) return;
      let frame: AnyMessage;
      try {
        frame = { type: raw.typeCode, msg: decodeBody(raw.typeCode as MessageTypeCode, raw.body) } as AnyMessage;
      } catch (e) {
        this.failFrame(e instanceof FrameError ? e : new FrameError('BAD_BODY', String(e), raw.typeCode, e));
        return;
      }
      this.emit('frame', frame);
    });
    if (err) this.failFrame(err);
  }

  private failFrame(err: FrameError): void {
    this.end({ kind: 'frame', message: `malformed data from the server (${err.code}): ${err.message}`, error: err });
  }

  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.closed || this.heartbeatMs <= 0) return;
    const next = Math.min(this.heartbeatDue(), this.lastReadAt + this.idleTimeoutMs);
    this.timer = setTimeout(() => this.onTimer(), Math.max(1, next - Date.now()));
  }

  private heartbeatDue(): number {
    return Math.min(this.lastWriteAt, Math.max(this.lastReadAt, this.lastHeartbeatAt)) + this.heartbeatMs;
  }

  private onTimer(): void {
    this.timer = null;
    if (this.closed) return;
    const now = Date.now();
    if (now - this.lastReadAt >= this.idleTimeoutMs) {
      this.end({ kind: 'idle', message: `no data from the server for ${now - this.lastReadAt} ms` });
      return;
    }
    if (now >= this.heartbeatDue()) {
      this.lastHeartbeatAt = now;
      this.write(MessageType.HEARTBEAT, { timeStamp: now });
    }
    this.arm();
  }

  private end(reason: CloseReason): void {
    if (this.closed) return;
    this.closed = true;
    this.closeReason = reason;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.socket.destroy();
    this.emit('close', reason);
  }

  /** Why the connection closed, once it has. */
  get reason(): CloseReason | null {
    return this.closeReason;
  }
}
