/**
 * One IM server instance: the TCP listener, connection bookkeeping, and the wiring of store,
 * presence, bus, router and handlers. Backends can be injected (tests run several instances in
 * one process over a shared in-memory presence and bus hub).
 */
import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import type { Logger } from 'pino';
import { ImError, encodeFrame, MessageType, type RawFrame } from '@hxim/im-common';
import { ChatBatcher, CursorBatcher, openStore, type Store } from '@hxim/business';
import type { Bus, Presence } from './cluster/ports';
import { createCluster, MemoryBusHub } from './cluster';
import { parseOptions, type ServerOptions } from './config';
import { Connection, type ConnectionHost } from './connection';
import type { ServerContext } from './context';
import { Dispatcher } from './dispatcher';
import { HANDLERS } from './handlers';
import { PasswordHasher } from './auth/password';
import { createLogger } from './logger';
import { Router } from './router';
import { SessionTable } from './sessions';
import { Stats } from './stats';
import { Sweeper } from './sweeper';
import { UserDirectory } from './users';

/** Backends and logger to use instead of those the options describe. */
export interface ServerDeps {
  store?: Store;
  presence?: Presence;
  bus?: Bus;
  /** Shared in-process hub: instances on one hub form an embedded cluster. */
  hub?: MemoryBusHub;
  logger?: Logger;
}

/** Most time a graceful stop may take before remaining sockets are destroyed. */
const DRAIN_MS = 8000;

/** A running server instance. */
export class ImServer extends EventEmitter implements ConnectionHost {
  readonly stats = new Stats();
  readonly sessions = new SessionTable();
  readonly connections = new Set<Connection>();
  readonly maxFrameBytes: number;
  readonly maxOutboundBytes: number;
  readonly maxInflight: number;
  private readonly listener: net.Server;
  private readonly dispatcher: Dispatcher;
  private readonly sweeper: Sweeper;
  private readonly ctx: ServerContext;
  private nextConnId = 0;
  private refreshTimer: NodeJS.Timeout | null = null;
  private stopping: Promise<void> | null = null;

  private constructor(readonly opts: ServerOptions, readonly log: Logger, readonly store: Store,
    readonly presence: Presence, readonly bus: Bus, clustered: boolean, private readonly ownsStore: boolean) {
    super();
    this.maxFrameBytes = opts.maxFrameBytes;
    this.maxOutboundBytes = opts.maxOutboundBytes;
    this.maxInflight = opts.maxInflight;
    const router = new Router({
      instanceId: opts.instanceId, sessions: this.sessions, presence, bus, clustered, log,
      onSeedDelivered: (conn, convId, seq) => this.ctx.cursors.ack(conn.userId, convId, seq),
      onPublishError: () => { this.stats.publishErrors++; },
    });
    this.ctx = {
      opts, instanceId: opts.instanceId, log, store, presence, router, sessions: this.sessions, stats: this.stats,
      chats: new ChatBatcher(store.chats, { timeoutMs: 2000 }),
      cursors: new CursorBatcher(store.chats, { onError: (err: unknown) => log.warn({ err: String(err) }, 'cursor flush failed; will retry') }),
      hasher: new PasswordHasher(opts.scryptLogN, opts.scryptConcurrency),
      users: new UserDirectory(store.accounts, opts.auth === 'open'),
      drainInbox: (conn) => this.dispatcher.drainInbox(conn),
    };
    this.dispatcher = new Dispatcher(this.ctx, HANDLERS);
    this.sweeper = new Sweeper(this.connections, opts);
    this.listener = net.createServer({ noDelay: true }, (s) => this.accept(s));
  }

  /** Validates options, opens the backends, binds and starts serving. */
  static async start(input: Partial<ServerOptions> = {}, deps: ServerDeps = {}): Promise<ImServer> {
    const opts = parseOptions(input);
    const log = deps.logger ?? createLogger(opts.logLevel, opts.instanceId);
    const store = deps.store ?? await openStore(opts.store === 'sqlite'
      ? { kind: 'sqlite', dataDir: opts.dataDir, synchronous: opts.sqliteSync }
      : { kind: 'mysql', url: opts.mysqlUrl });
    let presence = deps.presence, bus = deps.bus;
    if (!presence || !bus) {
      const clog = log.child({ component: 'cluster' });
      const c = await createCluster(opts.cluster === 'embedded'
        ? { mode: 'embedded', logger: clog }
        : { mode: 'redis-rabbit', redisUrl: opts.redisUrl, amqpUrl: opts.amqpUrl, prefix: opts.namespace, logger: clog }, deps.hub);
      presence ??= c.presence;
      bus ??= c.bus;
    }
    const clustered = opts.cluster !== 'embedded' || deps.hub !== undefined || deps.presence !== undefined;
    const srv = new ImServer(opts, log, store, presence!, bus!, clustered, deps.store === undefined);
    await srv.listen();
    return srv;
  }

  /** The bound port. */
  get port(): number {
    return (this.listener.address() as net.AddressInfo).port;
  }

  /** This instance's id. */
  get instanceId(): string {
    return this.opts.instanceId;
  }

  private async listen(): Promise<void> {
    await this.bus.start(this.opts.instanceId, (env) => this.ctx.router.handleEnvelope(env));
    await new Promise<void>((resolve, reject) => {
      this.listener.once('error', reject);
      this.listener.listen(this.opts.port, this.opts.host, () => {
        this.listener.off('error', reject);
        resolve();
      });
    });
    this.listener.on('error', (err) => this.log.error({ err }, 'listener error'));
    if (!this.opts.advertise) this.opts.advertise = `127.0.0.1:${this.port}`;
    this.sweeper.start();
    await this.heartbeat();
    const every = Math.floor(this.opts.presenceTtlMs / 3);
    this.refreshTimer = setInterval(() => void this.heartbeat(), every);
    this.refreshTimer.unref();
    // Redis keeps nothing on disk here: after a restart, rebuild every location at once.
    this.presence.onHealth((h) => {
      this.log.warn({ backend: 'presence', health: h }, `presence is ${h}`);
      if (h === 'up') void this.heartbeat();
    });
    this.bus.onHealth((h) => this.log.warn({ backend: 'bus', health: h }, `bus is ${h}`));
    this.log.info({ host: this.opts.host, port: this.port, auth: this.opts.auth, store: this.store.kind, cluster: this.opts.cluster }, 'listening');
  }

  /** Registry heartbeat plus a lazy refresh of every location this instance owns. */
  private async heartbeat(): Promise<void> {
    const o = this.opts;
    try {
      await this.presence.heartbeatInstance({
        instanceId: o.instanceId, advertise: o.advertise, pid: process.pid, startedAt: Date.now(), users: this.sessions.users,
      }, o.presenceTtlMs);
      const locs = [];
      for (const c of this.sessions.all()) locs.push({ userId: c.userId, platform: c.platform, instanceId: o.instanceId, connId: c.id });
      if (locs.length > 0) await this.presence.refresh(locs, o.presenceTtlMs);
    } catch (err) {
      this.log.warn({ err: String(err) }, 'presence heartbeat failed');
    }
  }

  private accept(socket: net.Socket): void {
    if (this.stopping || this.connections.size >= this.opts.maxConnections) {
      this.stats.connectionsRejected++;
      const err = this.stopping
        ? new ImError('SERVER_DRAINING', 'this server is shutting down; connect to another instance', { fatal: true })
        : new ImError('SERVER_FULL', `server full (${this.opts.maxConnections} connections); try another instance`, { fatal: true });
      socket.on('error', () => undefined);
      socket.end(encodeFrame(MessageType.ERROR, { code: err.code, message: err.message, fatal: true }));
      setTimeout(() => socket.destroy(), 1000).unref();
      return;
    }
    const id = `${this.opts.instanceId}#${++this.nextConnId}`;
    const conn = new Connection(id, socket, this, this.log.child({ connId: id }));
    this.connections.add(conn);
    this.stats.connectionsOpened++;
  }

  /** @internal ConnectionHost */
  onFrame(conn: Connection, frame: RawFrame): void {
    this.dispatcher.dispatch(conn, frame);
  }

  /** @internal ConnectionHost: cleans up only what belongs to this connection. */
  onClose(conn: Connection): void {
    this.connections.delete(conn);
    if (this.sessions.remove(conn)) {
      this.presence.unregister({ userId: conn.userId, platform: conn.platform, instanceId: this.opts.instanceId, connId: conn.id })
        .catch((err: unknown) => conn.log.warn({ err: String(err) }, 'presence unregister failed (the location expires by TTL)'));
    }
    conn.log.debug({ reason: conn.closeReason }, 'connection closed');
  }

  /**
   * Graceful stop: stop accepting, tell every client to reconnect elsewhere, flush the pending
   * batches, deregister, close the backends. Resolves within about 10 s.
   */
  stop(): Promise<void> {
    this.stopping ??= this.drain();
    return this.stopping;
  }

  private async drain(): Promise<void> {
    this.log.info({ connections: this.connections.size }, 'draining');
    this.listener.close();
    this.sweeper.stop();
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    // Read nothing more, commit what was read (its acks go out first), then say goodbye.
    for (const c of this.connections) c.socket.pause();
    await this.ctx.chats.flush().catch((err: unknown) => this.log.error({ err: String(err) }, 'chat flush failed'));
    await new Promise((r) => setImmediate(r));
    const drained = new ImError('SERVER_DRAINING', 'this server is shutting down; reconnect to another instance', { fatal: true });
    for (const c of this.connections) c.fail(drained);
    const deadline = Date.now() + DRAIN_MS;
    while (this.connections.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const c of this.connections) c.socket.destroy();
    await this.ctx.cursors.flush().catch((err: unknown) => this.log.error({ err: String(err) }, 'cursor flush failed'));
    await this.presence.removeInstance(this.opts.instanceId).catch(() => undefined);
    await this.bus.close().catch(() => undefined);
    await this.presence.close().catch(() => undefined);
    if (this.ownsStore) await this.store.close().catch(() => undefined);
    this.log.info('stopped');
    this.log.flush?.();
  }
}

/** Starts a server; see {@link ImServer.start}. */
export function startServer(input: Partial<ServerOptions> = {}, deps: ServerDeps = {}): Promise<ImServer> {
  return ImServer.start(input, deps);
}
