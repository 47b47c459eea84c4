/**
 * ImClient: connect, log in, catch up, send with acks, receive in order without duplicates,
 * heartbeat, and reconnect with backoff and fail-over (issue 2 §6; docs/protocol.md).
 *
 * One connection at a time. Its life is a list of small steps (runSession): open the socket,
 * log in, catch up page by page, go online (release pushes that arrived meanwhile, resend the
 * unacked sends with their original ids). Losing the connection while online schedules the next
 * session; a failed session schedules the one after. Sends live in the {@link Outbox} until
 * answered, incoming chats pass through the {@link Inbox} (dedup, order, gaps), and each frame
 * from the server goes to its handler in ./inbound.ts.
 */
import { EventEmitter } from 'node:events';
import {
  MessageType, OnlineKind,
  type ChatMessage, type ConvSeq, type LoginAck,
  type MessageByType, type MessageTypeCode, type SyncResponse,
} from '@hxim/im-common';
import { Delivery } from './delivery';
import { ClientError, ServerError } from './errors';
import type { ClientState, ClientStats, ImClientEvents, LoginInfo, RawAccess, SendOptions, StateChange } from './events';
import { DEFAULT_HEARTBEAT_MS, formatAddress, parseOptions, type ClientOptions, type ResolvedOptions, type ServerAddress } from './options';
import { Inbound, LOGIN_KEY } from './inbound';
import { afterLoss, asError, describe, heartbeatFor, idleTimeoutFor, isRetryable, loginMessage } from './policy';
import { Outbox, type SendAck } from './outbox';
import { register } from './register';
import { RequestTracker, randomId } from './requests';
import { Connection, type CloseReason } from './transport';

/** An IM connection with automatic re-login, catch-up, dedup and ordering. */
export class ImClient extends EventEmitter<ImClientEvents> {
  /** Creates an account: see {@link register}. */
  static readonly register = register;

  /** Write any frame on the current connection (tests). Inbound frames are the 'frame' event. */
  readonly raw: RawAccess = {
    sendFrame: (type, msg) => this.conn?.write(type, msg) ?? false,
  };

  private readonly opts: ResolvedOptions;
  private readonly delivery: Delivery;
  private readonly outbox: Outbox;
  private readonly requests = new RequestTracker();
  private conn: Connection | null = null;
  /** Where the current connection is: waiting for LoginAck, catching up, or online. */
  private phase: 'login' | 'catchup' | 'online' = 'login';
  private current: ClientState = 'idle';
  private me = { userId: 0, userName: '', token: '', tokenExpiresAt: 0 };
  private serverIndex = 0;
  private attempt = 0;
  private loggedInOnce = false;
  private closing = false;
  /** The fatal ErrorMessage received on the current connection, if any. */
  private fatal: ServerError | null = null;
  /** Live pushes that arrived during login/catch-up; released once caught up. */
  private deferred: ChatMessage[] = [];
  private reconnectTimer: NodeJS.Timeout | null = null;
  private connecting: Promise<LoginInfo> | null = null;
  private lastLogin: LoginInfo | null = null;
  private readonly inbound: Inbound;

  /** Validates `options` (throws {@link ClientError} BAD_OPTION naming the field). Does not connect. */
  constructor(options: ClientOptions) {
    super();
    this.opts = parseOptions(options);
    this.outbox = new Outbox(this.opts.maxInflight, this.opts.ackTimeoutMs, () => this.pump());
    this.delivery = new Delivery({
      isOnline: () => this.phase === 'online' && this.conn !== null,
      emitMessage: (m) => this.emitSafe('message', m),
      emitError: (e) => this.emitError(e),
      write: (type, msg) => this.conn?.write(type, msg) ?? false,
      sync: (req) => this.request<typeof MessageType.SYNC, SyncResponse>(MessageType.SYNC, req),
      isOwnPending: (m) => m.userId === this.me.userId && m.id !== '' && this.outbox.has(m.id),
    }, this.opts);
    for (const c of this.opts.lastSeqs) this.delivery.inbox.setFloor(c.convId, c.seq);
    this.inbound = new Inbound({
      delivery: this.delivery, outbox: this.outbox, requests: this.requests,
      phase: () => this.phase,
      defer: (m) => this.deferred.push(m),
      setFatal: (err) => { this.fatal = err; },
      emit: (event, ...args) => this.emitSafe(event, ...args),
      emitError: (err) => this.emitError(err),
    });
  }

  /** The logged-in user's id (0 before the first login). */
  get userId(): number {
    return this.me.userId;
  }

  /** The logged-in user's name ("" in open mode or before login). */
  get userName(): string {
    return this.me.userName;
  }

  /** The current session token ("" before the first login). */
  get token(): string {
    return this.me.token;
  }

  /** The connection state. */
  get state(): ClientState {
    return this.current;
  }

  /** The server of the current (or next) connection. */
  get server(): ServerAddress {
    return this.opts.servers[this.serverIndex]!;
  }

  /** Delivery counters and queue sizes. */
  get stats(): ClientStats {
    return { ...this.delivery.inbox.stats, pendingSends: this.outbox.size, inflight: this.outbox.inflightCount };
  }

  /** Per-conversation contiguous cursors; save them and pass them back as `lastSeqs` next run. */
  cursors(): ConvSeq[] {
    return this.delivery.inbox.cursors();
  }

  /**
   * Connects, logs in and catches up; resolves once every missed message has been emitted. Tries
   * each server once, in order. Rejects with a {@link ServerError} for refused credentials, or
   * CONNECT_FAILED when no server could be reached; the client is then closed. While a reconnect
   * is under way, resolves at the next login.
   */
  connect(): Promise<LoginInfo> {
    if (this.connecting) return this.connecting;
    if (this.current === 'online' && this.lastLogin) return Promise.resolve(this.lastLogin);
    if (this.current === 'offline' || this.current === 'connecting') return this.nextLogin();
    this.closing = false;
    this.connecting = this.firstConnect().finally(() => { this.connecting = null; });
    return this.connecting;
  }

  /**
   * Sends a chat to user `to`. Resolves with the server's STORED ack; rejects with a
   * {@link ServerError} carrying the server's code (UNKNOWN_USER, BODY_TOO_LARGE, ...), ACK_TIMEOUT,
   * or CLOSED. While disconnected the send is queued and written after the next login, with the
   * same clientMsgId, so a chat stored just before a connection loss is never stored twice.
   */
  send(to: number, body: string | Uint8Array, opts: SendOptions = {}): Promise<SendAck> {
    if (this.current === 'closed' && !this.connecting) {
      return Promise.reject(new ClientError('CLOSED', 'the client is closed; call connect() first'));
    }
    if (!Number.isSafeInteger(to) || to <= 0) {
      return Promise.reject(new ClientError('BAD_ARGUMENT', `send(to): ${String(to)} is not a user id (a positive integer)`));
    }
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    const promise = this.outbox.add(opts.clientMsgId ?? randomId(), to, bytes, Date.now());
    this.pump();
    return promise;
  }

  /**
   * Sends a chat to group `groupId` (issue 5): stored once, pushed to every member. Same
   * guarantees and errors as {@link send}, plus NOT_A_MEMBER.
   */
  sendToGroup(groupId: number, body: string | Uint8Array, opts: SendOptions = {}): Promise<SendAck> {
    if (this.current === 'closed' && !this.connecting) {
      return Promise.reject(new ClientError('CLOSED', 'the client is closed; call connect() first'));
    }
    if (!Number.isSafeInteger(groupId) || groupId <= 0) {
      return Promise.reject(new ClientError('BAD_ARGUMENT', `sendToGroup(groupId): ${String(groupId)} is not a group id (a positive integer)`));
    }
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    const promise = this.outbox.add(opts.clientMsgId ?? randomId(), 0, bytes, Date.now(), groupId);
    this.pump();
    return promise;
  }

  /**
   * Fetches conversation `convId` after `afterSeq` (all pages). New messages are also emitted as
   * 'message' (in order, deduplicated); the result holds everything fetched.
   */
  async sync(convId: string, afterSeq: number, limit = this.opts.syncLimit): Promise<ChatMessage[]> {
    const all: ChatMessage[] = [];
    let after = afterSeq;
    for (;;) {
      const res = await this.request<typeof MessageType.SYNC, SyncResponse>(MessageType.SYNC, { convId, afterSeq: after, limit });
      all.push(...res.messages);
      this.delivery.receiveBatch(res.messages);
      if (!res.hasMore || res.messages.length === 0) return all;
      after = res.messages[res.messages.length - 1]!.seq;
    }
  }

  /**
   * Sends a request frame and resolves with the first inbound frame carrying the same requestId
   * (an ErrorMessage with it rejects). For SyncRequest and the request/response messages of later
   * protocol versions. Needs an online connection.
   */
  request<K extends MessageTypeCode, R>(type: K, msg: Partial<MessageByType[K]> & { requestId?: string }, timeoutMs = this.opts.requestTimeoutMs): Promise<R> {
    const conn = this.conn;
    if (!conn || this.phase !== 'online') {
      return Promise.reject(new ClientError('NOT_CONNECTED', `not logged in (state ${this.current}); wait for 'online'`));
    }
    return this.requestOn<K, R>(conn, type, msg, timeoutMs);
  }

  /**
   * Logs out (OnlineMessage OFFLINE: the server also revokes the session token), closes, and does
   * not reconnect. Pending sends reject with CLOSED.
   */
  logout(): Promise<void> {
    return this.end(true, 'logged out');
  }

  /**
   * Leaves without logging out: flushes the DELIVERED acks, closes gracefully, does not reconnect.
   * The session token stays valid for a later login ("remember me"). Pending sends reject with CLOSED.
   */
  disconnect(): Promise<void> {
    return this.end(false, 'disconnected');
  }

  /** Closes at once, without logging out. Pending sends and requests reject with CLOSED. */
  close(): void {
    this.shutdown('closed by the application');
  }

  // ---------------------------------------------------------------- sessions

  private async firstConnect(): Promise<LoginInfo> {
    let last: Error | null = null;
    for (let i = 0; i < this.opts.servers.length; i++) {
      try {
        return await this.runSession(0);
      } catch (e) {
        last = asError(e);
        if (this.closing || !isRetryable(last)) break;
        this.serverIndex = (this.serverIndex + 1) % this.opts.servers.length;
      }
    }
    const err = this.closing || !isRetryable(last!) ? last! : new ClientError('CONNECT_FAILED',
      `could not log in on ${this.opts.servers.map(formatAddress).join(', ')}: ${last!.message}`, { cause: last });
    if (err instanceof ServerError && err.code === 'SESSION_REPLACED') this.emitSafe('kicked', err);
    this.toClosed(err.message, err);
    throw err;
  }

  /** One connection: open, log in, catch up, go online. Throws if any step fails. */
  private async runSession(attempt: number): Promise<LoginInfo> {
    const server = this.server;
    this.setState({ state: 'connecting', reason: attempt === 0 ? 'connecting' : 'reconnecting', server, attempt });
    const conn = await Connection.open({
      address: server, connectTimeoutMs: this.opts.connectTimeoutMs, maxFrameBytes: this.opts.maxFrameBytes,
      tls: this.opts.tls, localAddress: this.opts.localAddress,
    });
    if (this.closing) {
      conn.destroy('client closed');
      throw new ClientError('CLOSED', 'the client was closed while connecting');
    }
    this.attach(conn);
    try {
      const ack = await this.login(conn);
      this.applyLoginAck(conn, ack);
      const caughtUp = await this.catchUp(conn, ack);
      if (this.conn !== conn || !conn.isOpen) throw this.fatal ?? new ClientError('CONNECTION_LOST', 'lost the connection during catch-up');
      return this.goOnline(conn, ack, caughtUp);
    } catch (e) {
      conn.destroy('login failed');
      throw e;
    }
  }

  private attach(conn: Connection): void {
    this.conn = conn;
    this.phase = 'login';
    this.fatal = null;
    this.deferred = [];
    conn.on('frame', (f) => {
      if (conn === this.conn) this.inbound.onFrame(conn, f);
    });
    conn.on('close', (r) => this.onClose(conn, r));
    const hb = this.opts.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    conn.keepalive(hb, idleTimeoutFor(this.opts, hb));
  }

  /** Step: send OnlineMessage ONLINE with credentials and cursors; wait for the LoginAck. */
  private login(conn: Connection): Promise<LoginAck> {
    const answer = this.requests.wait<LoginAck>(LOGIN_KEY, this.opts.loginTimeoutMs, 'the login');
    conn.write(MessageType.ONLINE, loginMessage(this.opts, this.me.token, this.delivery.inbox.cursors()));
    return answer;
  }

  /** Step: remember who we are and the token; retune the heartbeat to the server's. */
  private applyLoginAck(conn: Connection, ack: LoginAck): void {
    this.me = {
      userId: ack.userId, userName: ack.userName, token: ack.token || this.me.token,
      tokenExpiresAt: ack.tokenExpiresAt,
    };
    const hb = heartbeatFor(this.opts, ack.heartbeatMs);
    conn.keepalive(hb, idleTimeoutFor(this.opts, hb));
    this.phase = 'catchup';
  }

  /** Step: deliver the LoginAck's page, then SyncRequest{acked} until hasMore is false. */
  private async catchUp(conn: Connection, ack: LoginAck): Promise<number> {
    let delivered = this.delivery.receiveBatch(ack.messages);
    let more = ack.hasMore && ack.messages.length > 0;
    while (more) {
      const page = await this.requestOn<typeof MessageType.SYNC, SyncResponse>(conn, MessageType.SYNC,
        { acked: this.delivery.inbox.cursors(), limit: this.opts.syncLimit }, this.opts.loginTimeoutMs);
      delivered += this.delivery.receiveBatch(page.messages);
      more = page.hasMore && page.messages.length > 0;
    }
    // After a complete catch-up we hold everything up to each conversation's last seq.
    for (const u of ack.unread) this.delivery.inbox.setFloorIfUnknown(u.convId, u.lastSeq);
    return delivered;
  }

  /** Step: online. Release deferred pushes, resend queued sends, ack, report. */
  private goOnline(conn: Connection, ack: LoginAck, caughtUp: number): LoginInfo {
    this.phase = 'online';
    const relogin = this.loggedInOnce;
    this.loggedInOnce = true;
    this.attempt = 0;
    const deferred = this.deferred;
    this.deferred = [];
    for (const m of deferred) this.delivery.receivePush(m);
    this.delivery.online(relogin);
    this.pump();
    const info: LoginInfo = {
      userId: this.me.userId, userName: this.me.userName, token: this.me.token, tokenExpiresAt: this.me.tokenExpiresAt,
      instanceId: ack.instanceId, server: conn.address, heartbeatMs: heartbeatFor(this.opts, ack.heartbeatMs),
      idleTimeoutMs: ack.idleTimeoutMs, caughtUp, totalUnread: ack.totalUnread, unread: ack.unread, relogin,
    };
    this.lastLogin = info;
    this.setState({ state: 'online', reason: relogin ? 'reconnected' : 'logged in', server: conn.address });
    this.emitSafe('login', info);
    return info;
  }

  private onClose(conn: Connection, reason: CloseReason): void {
    if (conn !== this.conn) return;
    this.conn = null;
    const wasOnline = this.phase === 'online';
    this.phase = 'login';
    const err = this.fatal ?? new ClientError('CONNECTION_LOST', reason.message, { cause: reason.error });
    this.requests.failAll(err);
    this.outbox.unwriteAll();
    this.delivery.offline();
    // During login/catch-up the failed step's caller decides what happens next.
    if (wasOnline) this.onSessionLost(err);
  }

  /** Acts on {@link afterLoss}: reconnect, or close for good. */
  private onSessionLost(err: Error): void {
    if (this.closing) return;
    const action = afterLoss(err, this.opts, this.me.token !== '');
    if (action.kind === 'kicked') {
      this.closing = true;
      this.emitSafe('kicked', action.error);
      this.toClosed(`session replaced: ${action.error.message}`, action.error);
    } else if (action.kind === 'close') {
      this.toClosed(action.reason, err);
    } else {
      if (action.dropToken) this.me.token = '';
      this.scheduleReconnect(err, action.immediate, action.nextServer, action.minDelayMs);
    }
  }

  private scheduleReconnect(err: Error, immediate: boolean, nextServer: boolean, minDelayMs: number): void {
    this.attempt++;
    if (nextServer) this.serverIndex = (this.serverIndex + 1) % this.opts.servers.length; // fail over
    const backoff = immediate ? 0 : Math.max(0, Math.round(this.opts.reconnectDelay(this.attempt)));
    const delayMs = Math.max(backoff, minDelayMs); // the server's retryAfterMs is a floor
    this.setState({ state: 'offline', reason: describe(err), server: this.server, attempt: this.attempt, delayMs, error: err });
    this.clearTimer('reconnectTimer');
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.runSession(this.attempt).catch((e: unknown) => this.onSessionLost(asError(e)));
    }, delayMs);
  }

  private async end(offline: boolean, reason: string): Promise<void> {
    const conn = this.conn;
    if (conn && this.phase === 'online') {
      this.delivery.flushAcks();
      if (offline) conn.write(MessageType.ONLINE, { msgType: OnlineKind.OFFLINE, userId: this.me.userId, timeStamp: Date.now() });
      this.closing = true;
      await conn.endGracefully(2_000);
    }
    this.shutdown(reason);
  }

  private shutdown(reason: string): void {
    this.closing = true;
    this.clearTimer('reconnectTimer');
    this.delivery.offline();
    const conn = this.conn;
    this.conn = null;
    this.phase = 'login';
    const err = new ClientError('CLOSED', `the client was closed (${reason})`);
    this.requests.failAll(err);
    conn?.destroy(reason);
    this.toClosed(reason);
  }

  private toClosed(reason: string, error?: Error): void {
    this.outbox.failAll(new ClientError('CLOSED', `the client closed: ${reason}`, { cause: error }));
    this.deferred = [];
    if (this.current !== 'closed') this.setState({ state: 'closed', reason, error });
  }

  /** Resolves at the next 'login', rejects when the client closes first. */
  private nextLogin(): Promise<LoginInfo> {
    return new Promise((resolve, reject) => {
      const onLogin = (info: LoginInfo): void => { this.off('state', onState); resolve(info); };
      const onState = (s: StateChange): void => {
        if (s.state !== 'closed') return;
        this.off('login', onLogin);
        this.off('state', onState);
        reject(s.error ?? new ClientError('CLOSED', s.reason));
      };
      this.once('login', onLogin);
      this.on('state', onState);
    });
  }

  // ---------------------------------------------------------------- outbound

  /** Writes queued sends while online and the in-flight window allows. */
  private pump(): void {
    const conn = this.conn;
    if (!conn || this.phase !== 'online') return;
    for (const p of this.outbox.takeWritable()) {
      conn.write(MessageType.CHAT, { id: p.clientMsgId, receiveId: p.receiveId, groupId: p.groupId, msgBody: p.body, timeStamp: p.timeStamp });
    }
  }

  private requestOn<K extends MessageTypeCode, R>(conn: Connection, type: K, msg: Partial<MessageByType[K]> & { requestId?: string }, timeoutMs: number): Promise<R> {
    const requestId = msg.requestId || randomId();
    const answer = this.requests.wait<R>(requestId, timeoutMs, `request ${requestId} (type ${type})`);
    conn.write(type, { ...msg, requestId });
    return answer;
  }

  // ---------------------------------------------------------------- helpers

  private setState(change: StateChange): void {
    this.current = change.state;
    this.emitSafe('state', change);
  }

  /** 'error' only when someone listens: an unhandled 'error' would crash the application. */
  private emitError(err: Error): void {
    if (this.listenerCount('error') > 0) this.emitSafe('error', err);
  }

  /**
   * Emits to application listeners. An exception in a listener is rethrown on the next tick, so
   * it cannot leave the decoder or the inbox half-updated (the ioredis rule).
   */
  private emitSafe<K extends keyof ImClientEvents>(event: K, ...args: ImClientEvents[K]): void {
    try {
      (this.emit as (e: K, ...a: ImClientEvents[K]) => boolean)(event, ...args);
    } catch (err) {
      process.nextTick(() => { throw err; });
    }
  }

  private clearTimer(name: 'reconnectTimer'): void {
    const t = this[name];
    if (t) clearTimeout(t);
    this[name] = null;
  }
}
