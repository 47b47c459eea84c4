/**
 * A small, scriptable IM server for the client tests: real loopback TCP on port 0, im-common's
 * codec, and just enough of the protocol (docs/protocol.md) to exercise the client. It records
 * every frame it reads, and tests can override any frame's handling.
 *
 * Store model: one list per conversation, seq = index + 1. Catch-up returns every conversation
 * of the user after the session's cursors (the login's lastSeqs, else the server's DELIVERED
 * cursors), ordered by (convId, seq), `pageSize` per LoginAck/SyncResponse.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as tls from 'node:tls';
import {
  AckKind, FrameDecoder, MessageType, OnlineKind, decodeBody, encodeFrame, parseConvId, privateConvId,
  type AnyMessage, type ChatMessage, type ConvSeq, type MessageByType, type MessageTypeCode,
} from '@hxim/im-common';

/** Knobs of the fake; all can be changed while it runs. */
export interface FakeOptions {
  /** Messages per LoginAck / SyncResponse page. Default 100. */
  pageSize: number;
  /** LoginAck.heartbeatMs. Default 0 (the client's own default). */
  heartbeatMs: number;
  /** Echo heartbeats. Default true. */
  echoHeartbeats: boolean;
  /** Answer chats with a STORED ack. Default true. */
  autoAck: boolean;
  /** Write every frame in 3-byte pieces over several ticks. Default false. */
  trickle: boolean;
  /** Recipients that get ErrorMessage UNKNOWN_USER. */
  unknownUsers: Set<number>;
}

/** One frame read from a client. */
export interface Received {
  conn: FakeConn;
  frame: AnyMessage;
}

/** A client connection as the fake sees it. */
export class FakeConn {
  userId = 0;
  /** The token this session logged in with or was given. */
  token = '';
  platform = 0;
  /** Catch-up cursors of this session. */
  readonly cursors = new Map<string, number>();
  readonly received: AnyMessage[] = [];
  closed = false;
  private writing: Promise<void> = Promise.resolve();

  constructor(readonly socket: net.Socket, private readonly server: FakeServer) {}

  /** Writes a frame (or trickles it, in order with earlier frames). */
  send<K extends MessageTypeCode>(type: K, msg: Partial<MessageByType[K]>): void {
    if (this.closed) return;
    const bytes = encodeFrame(type, msg);
    if (!this.server.opts.trickle) {
      this.socket.write(bytes);
      return;
    }
    this.writing = this.writing.then(async () => {
      for (let i = 0; i < bytes.length && !this.closed; i += 3) {
        this.socket.write(bytes.subarray(i, i + 3));
        await new Promise((r) => setImmediate(r));
      }
    });
  }

  /** Writes raw bytes. */
  sendRaw(bytes: Buffer): void {
    if (!this.closed) this.socket.write(bytes);
  }

  /** Sends a fatal ErrorMessage, then closes. */
  kick(code: string, message = code): void {
    this.send(MessageType.ERROR, { code, message, fatal: true });
    void this.writing.then(() => this.socket.end());
  }

  /** Closes abruptly. */
  destroy(): void {
    this.socket.destroy();
  }
}

/** The fake server. */
export class FakeServer {
  readonly opts: FakeOptions = {
    pageSize: 100, heartbeatMs: 0, echoHeartbeats: true, autoAck: true, trickle: false, unknownUsers: new Set(),
  };
  readonly conns: FakeConn[] = [];
  readonly received: Received[] = [];
  /** Messages by conversation; seq = index + 1. */
  readonly store = new Map<string, ChatMessage[]>();
  /** Server-side DELIVERED cursors, by "userId|convId". */
  readonly delivered = new Map<string, number>();
  readonly users = new Map<string, { userId: number; password: string }>();
  /** Return true to skip the default handling of a frame. */
  hook: ((conn: FakeConn, frame: AnyMessage) => boolean | void) | null = null;
  private readonly server: net.Server;
  private readonly waiters: Array<{ pred: (r: Received) => boolean; resolve: (r: Received) => void }> = [];
  private nextUserId = 100;
  private nextServerMsgId = 1;
  private readonly byClientId = new Map<string, ChatMessage>();
  private tokenSeq = 0;
  readonly tokens = new Map<string, number>();

  private constructor(tlsOptions?: tls.TlsOptions) {
    this.server = tlsOptions
      ? tls.createServer(tlsOptions, (s) => this.accept(s))
      : net.createServer((s) => this.accept(s));
  }

  /** Starts listening on 127.0.0.1:0 (TLS with `tlsOptions`). */
  static start(opts: Partial<FakeOptions> = {}, tlsOptions?: tls.TlsOptions): Promise<FakeServer> {
    return FakeServer.startOn(0, opts, tlsOptions);
  }

  /** Starts listening on 127.0.0.1:`port` (a "restarted" server on the same address). */
  static async startOn(port: number, opts: Partial<FakeOptions> = {}, tlsOptions?: tls.TlsOptions): Promise<FakeServer> {
    const f = new FakeServer(tlsOptions);
    Object.assign(f.opts, opts);
    await new Promise<void>((resolve, reject) => {
      f.server.once('error', reject);
      f.server.listen(port, '127.0.0.1', () => resolve());
    });
    return f;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  get address(): { host: string; port: number } {
    return { host: '127.0.0.1', port: this.port };
  }

  /** Open, logged-in connections of `userId`. */
  online(userId: number): FakeConn[] {
    return this.conns.filter((c) => !c.closed && c.userId === userId);
  }

  /** Stores a chat from `from` to `to` (as if sent while the recipient was away). */
  storeChat(from: number, to: number, text: string, clientMsgId = `c${this.nextServerMsgId}`): ChatMessage {
    const convId = privateConvId(from, to);
    const list = this.store.get(convId) ?? [];
    this.store.set(convId, list);
    const msg: ChatMessage = {
      id: clientMsgId, userId: from, receiveId: to, msgBody: Buffer.from(text), convId, seq: list.length + 1,
      serverMsgId: this.nextServerMsgId++, serverTime: Date.now(), timeStamp: Date.now(),
      userPlatformId: 0, userMacId: '', msgType: 0, needAck: false, groupId: 0,
    };
    list.push(msg);
    this.byClientId.set(`${from}|${clientMsgId}`, msg);
    return msg;
  }

  /** Pushes a stored message to the recipient's open connections. */
  push(msg: ChatMessage, to = msg.receiveId): void {
    for (const c of this.online(to)) c.send(MessageType.CHAT, msg);
  }

  /** Resolves with the first frame (already received or future) matching `pred`. */
  waitFor(pred: (r: Received) => boolean, timeoutMs = 3000, what = 'a frame'): Promise<Received> {
    const seen = this.received.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`fake server: no ${what} within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({ pred, resolve: (r) => { clearTimeout(timer); resolve(r); } });
    });
  }

  /** Frames of one type received so far. */
  framesOf<K extends MessageTypeCode>(type: K): Array<MessageByType[K]> {
    return this.received.filter((r) => r.frame.type === type).map((r) => r.frame.msg as MessageByType[K]);
  }

  /** Stops listening and drops every connection. */
  async close(): Promise<void> {
    for (const c of this.conns) c.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private accept(socket: net.Socket): void {
    const conn = new FakeConn(socket, this);
    this.conns.push(conn);
    const decoder = new FrameDecoder();
    socket.on('data', (chunk: Buffer) => {
      const err = decoder.push(chunk, (raw) => {
        const frame = { type: raw.typeCode, msg: decodeBody(raw.typeCode as MessageTypeCode, raw.body) } as AnyMessage;
        this.onFrame(conn, frame);
      });
      if (err) socket.destroy();
    });
    socket.on('close', () => { conn.closed = true; });
    socket.on('error', () => { conn.closed = true; });
  }

  private onFrame(conn: FakeConn, frame: AnyMessage): void {
    conn.received.push(frame);
    const r = { conn, frame };
    this.received.push(r);
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      if (this.waiters[i]!.pred(r)) this.waiters.splice(i, 1)[0]!.resolve(r);
    }
    if (this.hook?.(conn, frame)) return;
    switch (frame.type) {
      case MessageType.ONLINE: return this.onOnline(conn, frame.msg);
      case MessageType.HEARTBEAT: if (this.opts.echoHeartbeats) conn.send(MessageType.HEARTBEAT, { timeStamp: Date.now() }); return;
      case MessageType.CHAT: return this.onChat(conn, frame.msg);
      case MessageType.ACK:
        if (frame.msg.kind === AckKind.DELIVERED) this.advance(conn.userId, frame.msg.convId, frame.msg.seq);
        return;
      case MessageType.SYNC: return this.onSync(conn, frame.msg);
      case MessageType.REGISTER: return this.onRegister(conn, frame.msg);
      default:
    }
  }

  private onOnline(conn: FakeConn, m: MessageByType[4]): void {
    if (m.msgType === OnlineKind.OFFLINE) {
      this.tokens.delete(conn.token); // like the real server: logging out revokes the token
      conn.socket.end();
      return;
    }
    let userId = 0;
    let userName = '';
    if (m.token) {
      userId = this.tokens.get(m.token) ?? 0;
      if (!userId) return conn.kick('BAD_TOKEN', 'unknown or expired token');
      userName = [...this.users].find(([, u]) => u.userId === userId)?.[0] ?? '';
    } else if (m.userName) {
      const u = this.users.get(m.userName);
      if (!u || u.password !== m.password) return conn.kick('BAD_CREDENTIALS', 'wrong user name or password');
      userId = u.userId;
      userName = m.userName;
    } else {
      userId = m.userId;
    }
    conn.userId = userId;
    conn.platform = m.userPlatformId;
    for (const c of m.lastSeqs) conn.cursors.set(c.convId, c.seq);
    const token = m.token || `tok-${userId}-${++this.tokenSeq}`;
    this.tokens.set(token, userId);
    conn.token = token;
    const page = this.catchUpPage(conn);
    conn.send(MessageType.LOGIN_ACK, {
      userId, userName, token, heartbeatMs: this.opts.heartbeatMs, idleTimeoutMs: 10_000, instanceId: 'fake',
      messages: page.messages, hasMore: page.hasMore,
    });
  }

  private onChat(conn: FakeConn, m: ChatMessage): void {
    if (this.opts.unknownUsers.has(m.receiveId)) {
      conn.send(MessageType.ERROR, { requestId: m.id, code: 'UNKNOWN_USER', message: `no user ${m.receiveId}`, refType: MessageType.CHAT });
      return;
    }
    const existing = this.byClientId.get(`${conn.userId}|${m.id}`);
    const msg = existing ?? this.storeChat(conn.userId, m.receiveId, Buffer.from(m.msgBody).toString('utf8'), m.id);
    if (!this.opts.autoAck) return;
    conn.send(MessageType.ACK, {
      kind: AckKind.STORED, clientMsgId: m.id, serverMsgId: msg.serverMsgId, seq: msg.seq, convId: msg.convId,
      duplicate: existing !== undefined, serverTime: msg.serverTime,
    });
    if (!existing) this.push(msg);
  }

  private onSync(conn: FakeConn, m: MessageByType[10]): void {
    if (m.convId) {
      const all = (this.store.get(m.convId) ?? []).filter((x) => x.seq > m.afterSeq);
      const n = m.limit > 0 ? Math.min(m.limit, this.opts.pageSize) : this.opts.pageSize;
      conn.send(MessageType.SYNC_RESPONSE, { requestId: m.requestId, messages: all.slice(0, n), hasMore: all.length > n });
      return;
    }
    for (const c of m.acked) {
      this.advance(conn.userId, c.convId, c.seq);
      conn.cursors.set(c.convId, Math.max(conn.cursors.get(c.convId) ?? 0, c.seq));
    }
    const page = this.catchUpPage(conn);
    conn.send(MessageType.SYNC_RESPONSE, { requestId: m.requestId, messages: page.messages, hasMore: page.hasMore });
  }

  private onRegister(conn: FakeConn, m: MessageByType[7]): void {
    if (this.users.has(m.userName)) {
      conn.send(MessageType.ERROR, { requestId: m.requestId, code: 'USER_EXISTS', message: `${m.userName} is taken` });
      return;
    }
    const userId = this.nextUserId++;
    this.users.set(m.userName, { userId, password: m.password });
    conn.send(MessageType.REGISTER_ACK, { requestId: m.requestId, userId, userName: m.userName });
  }

  private catchUpPage(conn: FakeConn): { messages: ChatMessage[]; hasMore: boolean } {
    const pending: ChatMessage[] = [];
    const convIds = [...this.store.keys()].filter((id) => {
      const p = parseConvId(id);
      return p?.kind === 'private' && (p.a === conn.userId || p.b === conn.userId);
    }).sort();
    for (const convId of convIds) {
      const after = conn.cursors.get(convId) ?? this.delivered.get(`${conn.userId}|${convId}`) ?? 0;
      for (const m of this.store.get(convId)!) if (m.seq > after) pending.push(m);
    }
    return { messages: pending.slice(0, this.opts.pageSize), hasMore: pending.length > this.opts.pageSize };
  }

  private advance(userId: number, convId: string, seq: number): void {
    const key = `${userId}|${convId}`;
    this.delivered.set(key, Math.max(this.delivered.get(key) ?? 0, seq));
  }
}

/** Rejects after `ms` with `what` in the message. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms); }),
  ]);
}

/** A port nothing listens on (bound, then closed). */
export async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Convenience: ConvSeq literal. */
export function cs(convId: string, seq: number): ConvSeq {
  return { convId, seq };
}

/** The test certificate material in test/fixtures (see its README). */
export function testTls(): { key: Buffer; cert: Buffer; ca: Buffer; caFile: string } {
  const dir = path.join(__dirname, '..', '..', 'test', 'fixtures'); // from dist/test
  return {
    key: fs.readFileSync(path.join(dir, 'server.key')), cert: fs.readFileSync(path.join(dir, 'server.crt')),
    ca: fs.readFileSync(path.join(dir, 'ca.crt')), caFile: path.join(dir, 'ca.crt'),
  };
}
