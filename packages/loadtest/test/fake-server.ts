/**
 * A small in-memory IM server for the load tool's own tests: loopback TCP on port 0, im-common's
 * codec, and the parts of the protocol the tool uses (login by id/password/token, register, chat
 * with STORED ack and push, DELIVERED cursors, catch-up in LoginAck and SyncRequest pages,
 * heartbeats). Fault knobs make it misbehave in the ways the history checker must catch.
 */
import * as net from 'node:net';
import {
  AckKind, FrameDecoder, MessageType, OnlineKind, decodeBody, encodeFrame, privateConvId,
  type ChatMessage, type MessageByType, type MessageTypeCode,
} from '@hxim/im-common';

/** Misbehaviours, each "every Nth chat" (0 = never). */
export interface Faults {
  /** Store and ack, but do not push (catch-up must bring it: not a failure). */
  dropPushEvery: number;
  /** Ack without storing or pushing: a lost message. */
  forgetEvery: number;
  /** Store a second copy under a new seq and push both: an app-visible duplicate. */
  storeTwiceEvery: number;
  /** Push the same frame twice: a transport duplicate (not a failure). */
  pushTwiceEvery: number;
}

const PAGE = 200;

/** See the file comment. */
export class FakeImServer {
  readonly faults: Faults = { dropPushEvery: 0, forgetEvery: 0, storeTwiceEvery: 0, pushTwiceEvery: 0 };
  /** Chats received (including resends). */
  chats = 0;
  logins = 0;
  heartbeats = 0;
  private readonly server = net.createServer((s) => this.accept(s));
  private readonly conns = new Set<{ socket: net.Socket; userId: number }>();
  private readonly store = new Map<string, ChatMessage[]>();
  private readonly convsOf = new Map<number, Set<string>>();
  private readonly cursors = new Map<string, number>();
  private readonly byClientId = new Map<string, ChatMessage>();
  private readonly accounts = new Map<string, { userId: number; password: string }>();
  private readonly tokens = new Map<string, number>();
  private readonly forgotten = new Set<string>();
  private nextUser = 1;
  private nextMsg = 1;

  /** Listens on 127.0.0.1, any free port. */
  static async start(): Promise<FakeImServer> {
    const f = new FakeImServer();
    await new Promise<void>((resolve) => f.server.listen(0, '127.0.0.1', resolve));
    return f;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** Closes every connection and stops listening. */
  async close(): Promise<void> {
    for (const c of this.conns) c.socket.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private accept(socket: net.Socket): void {
    const conn = { socket, userId: 0 };
    this.conns.add(conn);
    const decoder = new FrameDecoder();
    socket.on('data', (chunk: Buffer) => {
      socket.cork();
      decoder.push(chunk, (f) => this.onFrame(conn, f.typeCode as MessageTypeCode, decodeBody(f.typeCode as MessageTypeCode, f.body)));
      process.nextTick(() => socket.uncork());
    });
    socket.on('close', () => this.conns.delete(conn));
    socket.on('error', () => undefined);
  }

  private send<K extends MessageTypeCode>(socket: net.Socket, type: K, msg: Partial<MessageByType[K]>): void {
    if (!socket.destroyed) socket.write(encodeFrame(type, msg));
  }

  private onFrame(conn: { socket: net.Socket; userId: number }, type: MessageTypeCode, msg: unknown): void {
    const s = conn.socket;
    switch (type) {
      case MessageType.HEARTBEAT: this.heartbeats++; this.send(s, MessageType.HEARTBEAT, {}); break;
      case MessageType.REGISTER: {
        const m = msg as MessageByType[7];
        if (this.accounts.has(m.userName)) {
          this.send(s, MessageType.ERROR, { requestId: m.requestId, code: 'USER_EXISTS', message: 'taken' });
          break;
        }
        const userId = this.nextUser++;
        this.accounts.set(m.userName, { userId, password: m.password });
        this.send(s, MessageType.REGISTER_ACK, { requestId: m.requestId, userId, userName: m.userName });
        break;
      }
      case MessageType.ONLINE: this.login(conn, msg as MessageByType[4]); break;
      case MessageType.CHAT: this.chat(conn, msg as ChatMessage); break;
      case MessageType.ACK: {
        const m = msg as MessageByType[5];
        if (m.kind === AckKind.DELIVERED) this.advance(conn.userId, m.convId, m.seq);
        break;
      }
      case MessageType.SYNC: {
        const m = msg as MessageByType[10];
        for (const c of m.acked) this.advance(conn.userId, c.convId, c.seq);
        const page = m.convId ? this.after(m.convId, m.afterSeq, PAGE) : this.missed(conn.userId);
        this.send(s, MessageType.SYNC_RESPONSE, { requestId: m.requestId, messages: page.messages, hasMore: page.hasMore });
        break;
      }
      default: break;
    }
  }

  private login(conn: { socket: net.Socket; userId: number }, m: MessageByType[4]): void {
    if (m.msgType === OnlineKind.OFFLINE) { conn.socket.end(); return; }
    let userId = m.userId;
    let token = '';
    if (m.token) userId = this.tokens.get(m.token) ?? 0;
    else if (m.userName) {
      const a = this.accounts.get(m.userName);
      userId = a && a.password === m.password ? a.userId : 0;
      token = `t${Math.random().toString(36).slice(2)}`;
      if (userId) this.tokens.set(token, userId);
    }
    if (!userId) {
      this.send(conn.socket, MessageType.ERROR, { code: m.token ? 'BAD_TOKEN' : 'BAD_CREDENTIALS', message: 'no', fatal: true });
      conn.socket.end();
      return;
    }
    conn.userId = userId;
    this.logins++;
    for (const c of m.lastSeqs) this.advance(userId, c.convId, c.seq);
    const page = this.missed(userId);
    this.send(conn.socket, MessageType.LOGIN_ACK, { userId, token, heartbeatMs: 5000, idleTimeoutMs: 15000, messages: page.messages, hasMore: page.hasMore });
  }

  private chat(conn: { socket: net.Socket; userId: number }, m: ChatMessage): void {
    const n = ++this.chats;
    const key = `${conn.userId}|${m.id}`;
    const every = (k: number): boolean => k > 0 && n % k === 0;
    const old = this.byClientId.get(key);
    if (old) {
      this.ack(conn.socket, m.id, old, true);
      return;
    }
    const convId = privateConvId(conn.userId, m.receiveId);
    const stored = this.append(conn.userId, m, convId);
    if (every(this.faults.forgetEvery)) {
      // Takes a seq and acks it, but the row is never readable nor pushed.
      this.forgotten.add(`${convId}|${stored.seq}`);
      this.ack(conn.socket, m.id, stored, false);
      return;
    }
    this.byClientId.set(key, stored);
    this.ack(conn.socket, m.id, stored, false);
    if (!every(this.faults.dropPushEvery)) this.push(stored, every(this.faults.pushTwiceEvery) ? 2 : 1);
    if (every(this.faults.storeTwiceEvery)) this.push(this.append(conn.userId, m, convId), 1);
  }

  private append(from: number, m: ChatMessage, convId: string): ChatMessage {
    const list = this.store.get(convId) ?? [];
    this.store.set(convId, list);
    for (const u of [from, m.receiveId]) {
      if (!this.convsOf.has(u)) this.convsOf.set(u, new Set());
      this.convsOf.get(u)!.add(convId);
    }
    const stored: ChatMessage = { ...m, userId: from, convId, seq: list.length + 1, serverMsgId: this.nextMsg++, serverTime: Date.now() };
    list.push(stored);
    return stored;
  }

  private ack(socket: net.Socket, id: string, c: ChatMessage, duplicate: boolean): void {
    this.send(socket, MessageType.ACK, { kind: AckKind.STORED, clientMsgId: id, convId: c.convId, seq: c.seq, serverMsgId: c.serverMsgId, duplicate });
  }

  private push(c: ChatMessage, times: number): void {
    const frame = encodeFrame(MessageType.CHAT, c);
    for (const conn of this.conns) {
      if (conn.userId !== c.receiveId) continue;
      for (let i = 0; i < times; i++) conn.socket.write(frame);
    }
  }

  private advance(userId: number, convId: string, seq: number): void {
    const k = `${userId}|${convId}`;
    if (seq > (this.cursors.get(k) ?? 0)) this.cursors.set(k, seq);
  }

  private after(convId: string, afterSeq: number, limit: number): { messages: ChatMessage[]; hasMore: boolean } {
    const rows = (this.store.get(convId) ?? []).filter((r) => r.seq > afterSeq && !this.forgotten.has(`${convId}|${r.seq}`));
    return { messages: rows.slice(0, limit), hasMore: rows.length > limit };
  }

  /** Messages for `userId` after its cursors, by (convId, seq), one page. Own sends count as delivered. */
  private missed(userId: number): { messages: ChatMessage[]; hasMore: boolean } {
    const out: ChatMessage[] = [];
    for (const convId of [...(this.convsOf.get(userId) ?? [])].sort()) {
      const rows = this.after(convId, this.cursors.get(`${userId}|${convId}`) ?? 0, Infinity).messages.filter((r) => r.userId !== userId);
      for (const r of rows) {
        if (out.length === PAGE) return { messages: out, hasMore: true };
        out.push(r);
      }
    }
    return { messages: out, hasMore: false };
  }
}
