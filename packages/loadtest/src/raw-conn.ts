/**
 * A lean protocol connection for the load hot path: im-common's FrameDecoder and codec, without
 * im-client's per-send promises and timers. Frames written in one tick are corked together and
 * flushed once (DESIGN.md "Encode once": one write of many frames is ~10× cheaper).
 *
 * It speaks protocolVersion 1: login (user id, password or token) answered by LoginAck, register,
 * SyncRequest/SyncResponse and GroupRequest/GroupResponse by requestId, STORED acks and pushed
 * chats to handlers.
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import {
  decodeBody, encodeFrame, FrameDecoder, MessageType,
  type AckMessage, type ChatMessage, type ErrorMessage, type GroupRequest, type GroupResponse, type LoginAck,
  type MessageByType, type MessageTypeCode,
  type OnlineMessage, type RegisterAck, type SyncRequest, type SyncResponse,
} from '@hxim/im-common';
import type { ServerAddr } from './options';

/** Default connect timeout. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/** Default login / register / sync timeout (password hashing queues on the server). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/** A failure with a stable code: a server ErrorMessage code, or one of the tool's own. */
export class LoadError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = 'LoadError';
  }
}

/** Callbacks of a {@link RawConn}; plain properties, not events, to keep the hot path cheap. */
export interface RawHandlers {
  /** A pushed chat. */
  onChat?(msg: ChatMessage): void;
  /** An ack frame (STORED acks of our chats). */
  onAck?(msg: AckMessage): void;
  /** An ErrorMessage matching no login/register/sync (a refused chat carries its client id). */
  onError?(msg: ErrorMessage): void;
  /** The connection ended; called once. `expected` is true after destroy(). */
  onClose?(reason: string, expected: boolean): void;
}

/** How to open a {@link RawConn}. */
export interface RawConnOptions {
  server: ServerAddr;
  localAddress?: string;
  tls?: boolean;
  connectTimeoutMs?: number;
}

const corked = new Set<net.Socket>();
let flushScheduled = false;

function flushAll(): void {
  flushScheduled = false;
  for (const s of corked) s.uncork();
  corked.clear();
}

const HEARTBEAT_FRAME = encodeFrame(MessageType.HEARTBEAT, {});

interface Waiter { resolve(v: unknown): void; reject(e: Error): void; timer: NodeJS.Timeout }

/** One socket to one server. */
export class RawConn {
  /** Callbacks; set them before traffic starts. */
  handlers: RawHandlers = {};
  /** Set by every write; a keep-alive sweep clears it and heartbeats connections that stayed silent. */
  wrote = false;
  private readonly decoder = new FrameDecoder({ maxFrameBytes: 16 * 1024 * 1024 });
  private readonly waiters = new Map<string, Waiter>();
  private closed = false;
  private destroyed = false;
  private nextReq = 0;

  private constructor(private readonly socket: net.Socket, readonly server: ServerAddr) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.end(`socket error: ${err.message}`));
    socket.on('close', () => this.end('the server closed the connection'));
  }

  /** Connects; rejects with LoadError CONNECT_FAILED. */
  static open(opts: RawConnOptions): Promise<RawConn> {
    return new Promise((resolve, reject) => {
      const base = { host: opts.server.host, port: opts.server.port, localAddress: opts.localAddress };
      const socket = opts.tls ? tls.connect({ ...base, rejectUnauthorized: false }) : net.connect(base);
      const timer = setTimeout(() => fail(new Error(`no answer within ${opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS} ms`)),
        opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS);
      const fail = (err: Error): void => {
        clearTimeout(timer);
        socket.removeAllListeners();
        socket.on('error', () => undefined);
        socket.destroy();
        reject(new LoadError('CONNECT_FAILED', `cannot connect to ${opts.server.host}:${opts.server.port}` +
          `${opts.localAddress ? ` from ${opts.localAddress}` : ''}: ${err.message}`));
      };
      socket.once('error', fail);
      socket.once(opts.tls ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        socket.removeListener('error', fail);
        resolve(new RawConn(socket, opts.server));
      });
    });
  }

  /** False once closed. */
  get isOpen(): boolean {
    return !this.closed;
  }

  /** Writes pre-encoded frame bytes; corked until the end of the tick. */
  write(frame: Buffer): void {
    if (this.closed) return;
    this.wrote = true;
    if (!corked.has(this.socket)) {
      this.socket.cork();
      corked.add(this.socket);
      if (!flushScheduled) {
        flushScheduled = true;
        process.nextTick(flushAll);
      }
    }
    this.socket.write(frame);
  }

  /** Encodes and writes one frame. */
  send<K extends MessageTypeCode>(type: K, msg: Partial<MessageByType[K]>): void {
    this.write(encodeFrame(type, msg));
  }

  /** Writes a heartbeat (pre-encoded, empty body). */
  heartbeat(): void {
    this.write(HEARTBEAT_FRAME);
  }

  /** Sends OnlineMessage ONLINE (protocolVersion 1 is filled in) and waits for the LoginAck. */
  login(msg: Partial<OnlineMessage>, timeoutMs = DEFAULT_REQUEST_TIMEOUT_MS): Promise<LoginAck> {
    const p = this.wait<LoginAck>('\u0000login', timeoutMs, 'LOGIN_TIMEOUT');
    this.send(MessageType.ONLINE, { protocolVersion: 1, timeStamp: Date.now(), userPlatformId: 1, ...msg });
    return p;
  }

  /** RegisterRequest, answered by RegisterAck. */
  register(userName: string, password: string, timeoutMs = DEFAULT_REQUEST_TIMEOUT_MS): Promise<RegisterAck> {
    const requestId = `r${++this.nextReq}`;
    const p = this.wait<RegisterAck>(requestId, timeoutMs, 'REQUEST_TIMEOUT');
    this.send(MessageType.REGISTER, { requestId, userName, password });
    return p;
  }

  /** SyncRequest, answered by SyncResponse. */
  sync(req: Partial<SyncRequest>, timeoutMs = DEFAULT_REQUEST_TIMEOUT_MS): Promise<SyncResponse> {
    const requestId = `s${++this.nextReq}`;
    const p = this.wait<SyncResponse>(requestId, timeoutMs, 'REQUEST_TIMEOUT');
    this.send(MessageType.SYNC, { ...req, requestId });
    return p;
  }

  /** GroupRequest, answered by GroupResponse (or an ErrorMessage: rejects with its code). */
  group(req: Partial<GroupRequest>, timeoutMs = DEFAULT_REQUEST_TIMEOUT_MS): Promise<GroupResponse> {
    const requestId = `g${++this.nextReq}`;
    const p = this.wait<GroupResponse>(requestId, timeoutMs, 'REQUEST_TIMEOUT');
    this.send(MessageType.GROUP_REQUEST, { ...req, requestId });
    return p;
  }

  /** Closes at once; onClose gets `expected` = true. */
  destroy(): void {
    this.destroyed = true;
    this.end('closed by the load tool');
  }

  private wait<T>(key: string, timeoutMs: number, code: string): Promise<T> {
    if (this.closed) return Promise.reject(new LoadError('CONNECTION_LOST', 'the connection is closed'));
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(key);
        reject(new LoadError(code, `no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.set(key, { resolve: resolve as (v: unknown) => void, reject, timer });
    });
  }

  private settle(key: string, value: unknown, err?: Error): boolean {
    const w = this.waiters.get(key);
    if (!w) return false;
    this.waiters.delete(key);
    clearTimeout(w.timer);
    if (err) w.reject(err);
    else w.resolve(value);
    return true;
  }

  private onData(chunk: Buffer): void {
    const err = this.decoder.push(chunk, (f) => {
      switch (f.typeCode) {
        case MessageType.CHAT: this.handlers.onChat?.(decodeBody(MessageType.CHAT, f.body)); break;
        case MessageType.ACK: this.handlers.onAck?.(decodeBody(MessageType.ACK, f.body)); break;
        case MessageType.LOGIN_ACK: this.settle('\u0000login', decodeBody(MessageType.LOGIN_ACK, f.body)); break;
        case MessageType.SYNC_RESPONSE: {
          const m = decodeBody(MessageType.SYNC_RESPONSE, f.body);
          this.settle(m.requestId, m);
          break;
        }
        case MessageType.GROUP_RESPONSE: {
          const m = decodeBody(MessageType.GROUP_RESPONSE, f.body);
          this.settle(m.requestId, m);
          break;
        }
        case MessageType.REGISTER_ACK: {
          const m = decodeBody(MessageType.REGISTER_ACK, f.body);
          this.settle(m.requestId, m);
          break;
        }
        case MessageType.ERROR: this.onErrorFrame(decodeBody(MessageType.ERROR, f.body)); break;
        default: break; // heartbeat replies, notices
      }
    });
    if (err) this.end(`malformed data from the server: ${err.code}`);
  }

  private onErrorFrame(m: ErrorMessage): void {
    const err = new LoadError(m.code || 'UNKNOWN', m.message);
    if (m.requestId && this.settle(m.requestId, undefined, err)) return;
    if (m.fatal && this.settle('\u0000login', undefined, err)) return;
    this.handlers.onError?.(m);
  }

  private end(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    corked.delete(this.socket);
    this.socket.destroy();
    const err = new LoadError('CONNECTION_LOST', reason);
    for (const key of [...this.waiters.keys()]) this.settle(key, undefined, err);
    this.handlers.onClose?.(reason, this.destroyed);
  }
}
