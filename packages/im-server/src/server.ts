/**
 * One IM server instance: the client listener, connection bookkeeping, and the wiring of store,
 * presence, bus, router and handlers. Backends can be injected (tests run several instances in
 * one process over a shared in-memory presence and bus hub).
 */
import { EventEmitter } from 'node:events';
import type * as net from 'node:net';
import type { Logger } from 'pino';
import { ImError, type RawFrame } from '@hxim/im-common';
import { ChatBatcher, ConversationService, CursorBatcher, FriendService, GroupService, openStore, type Store } from '@hxim/business';
import type { Bus, Health, Presence } from './cluster/ports';
import { createCluster, MemoryBusHub } from './cluster';
import { parseOptions, type ServerOptions } from './config';
import { Connection, Pause, type ConnectionHost, type ConnectionLimits } from './connection';
import type { ServerContext } from './context';
import { Dispatcher } from './dispatcher';
import { drain } from './drain';
import { HANDLERS } from './handlers';
import { PasswordHasher } from './auth/password';
import { AdminServer } from './admin/http';
import { HealthChecker, type HealthReport } from './admin/health';
import { Metrics, timeChats } from './admin/metrics';
import { InflightGate } from './limits/inflight-gate';
import { LoginThrottle } from './limits/login-throttle';
import { ClientListener, loadTls, type ListenerHost } from './listener';
import { createLogger } from './logger';
import { Router } from './router';
import { FrameScheduler } from './scheduler';
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

/** A running server instance. */
export class ImServer extends EventEmitter implements ConnectionHost, ListenerHost {
  readonly stats = new Stats();
  readonly sessions = new SessionTable();
  readonly connections = new Set<Connection>();
  readonly limits: ConnectionLimits;
  /** Fair per-iteration frame handling across connections. */
  readonly scheduler = new FrameScheduler();
  /** @internal ConnectionHost: the server-wide in-flight bound. */
  readonly gate: InflightGate;
  /** Prometheus metrics (served on the admin port when enabled). */
  readonly metrics: Metrics;
  /** Backend health (served as /healthz when the admin port is enabled). */
  readonly health: HealthChecker;
  private readonly listener: ClientListener;
  private readonly dispatcher: Dispatcher;
  private readonly sweeper: Sweeper;
  private readonly ctx: ServerContext;
  private readonly throttle: LoginThrottle;
  private readonly unregistering = new Set<Promise<unknown>>();
  private readonly startedAt = Date.now();
  private admin: AdminServer | null = null;
  private boundAdminPort = -1;
  private nextConnId = 0;
  private refreshTimer: NodeJS.Timeout | null = null;
  private stopping: Promise<void> | null = null;

  private constructor(readonly opts: ServerOptions, readonly log: Logger, readonly store: Store,
    readonly presence: Presence, readonly bus: Bus, clustered: boolean, private readonly ownsStore: boolean,
    tlsCreds: { cert: Buffer; key: Buffer } | null) {
    super();
    this.limits = {
      maxFrameBytes: opts.maxFrameBytes, maxOutboundBytes: opts.maxOutboundBytes, maxInflight: opts.maxInflight,
      msgRate: opts.msgRate, msgBurst: opts.msgBurst, rateLimitGraceMs: opts.rateLimitGraceMs,
    };
    this.gate = new InflightGate(opts.maxServerInflight, Pause.SERVER_INFLIGHT);
    this.throttle = new LoginThrottle({
      perAccount: opts.loginFailuresPerAccount, perAddress: opts.loginFailuresPerAddress, windowMs: opts.loginFailureWindowMs,
    });
    const router = new Router({
      instanceId: opts.instanceId, sessions: this.sessions, presence, bus, clustered, log,
      onSeedDelivered: (conn, convId, seq) => this.ctx.cursors.ack(conn.userId, convId, seq),
      onPublishError: () => { this.stats.publishErrors++; },
      onRemoteGroupChange: (groupId) => this.ctx.groups.invalidate(groupId), // issue 5
    });
    this.health = new HealthChecker({
      instanceId: opts.instanceId, store, presence, bus, log, startedAt: this.startedAt,
      connections: () => this.connections.size, sessions: () => this.sessions.size, draining: () => this.draining,
    });
    // The batcher sees the store through a timing wrapper: one histogram observation per batch.
    const chats = new ChatBatcher(timeChats(store.chats, (ms, rows) => this.metrics.observeBatch(ms, rows)), { timeoutMs: 2000 });
    const cursors = new CursorBatcher(store.chats, { onError: (err: unknown) => log.warn({ err: String(err) }, 'cursor flush failed; will retry') });
    this.metrics = new Metrics({
      stats: this.stats, connections: () => this.connections.size, sessions: () => this.sessions.size,
      draining: () => this.draining, chats, cursors, presence, bus, throttle: this.throttle, health: this.health,
      scheduler: this.scheduler, gate: this.gate,
    });
    this.ctx = {
      opts, instanceId: opts.instanceId, log, store, presence, router, sessions: this.sessions, stats: this.stats,
      chats, cursors, throttle: this.throttle,
      hasher: new PasswordHasher(opts.scryptLogN, opts.scryptConcurrency),
      users: new UserDirectory(store.accounts, opts.auth === 'open'),
      // Issue 4. --auth open (seed mode) lets anyone chat, whatever strangerPolicy says.
      friends: new FriendService(store, {
        strangerPolicy: opts.auth === 'open' ? 'anyone' : opts.strangerPolicy, userExists: (id) => this.ctx.users.exists(id),
      }),
      convs: new ConversationService(store),
      groups: new GroupService(store), // issue 5
      drainInbox: (conn) => this.dispatcher.drainInbox(conn),
    };
    this.dispatcher = new Dispatcher(this.ctx, HANDLERS);
    this.sweeper = new Sweeper(this.connections, opts, (now) => this.throttle.sweep(now));
    this.listener = new ClientListener(opts, this, tlsCreds);
  }

  /** Validates options, opens the backends, binds and starts serving. */
  static async start(input: Partial<ServerOptions> = {}, deps: ServerDeps = {}): Promise<ImServer> {
    const opts = parseOptions(input);
    const tlsCreds = loadTls(opts); // a bad file fails before any backend is opened
    const log = deps.logger ?? createLogger(opts.logLevel, opts.instanceId);
    const store = deps.store ?? await openStore(opts.store === 'sqlite'
      ? { kind: 'sqlite', dataDir: opts.dataDir, synchronous: opts.sqliteSync, maxNoticesPerUser: opts.maxNoticesPerUser }
      : { kind: 'mysql', url: opts.mysqlUrl, maxNoticesPerUser: opts.maxNoticesPerUser });
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
    const srv = new ImServer(opts, log, store, presence!, bus!, clustered, deps.store === undefined, tlsCreds);
    await srv.listen();
    return srv;
  }

  /** The bound client port. */
  get port(): number {
    return this.listener.port;
  }

  /** The bound admin HTTP port, or -1 when the admin port is off. */
  get adminPort(): number {
    return this.boundAdminPort;
  }

  /** True when the client listener speaks TLS. */
  get tls(): boolean {
    return this.listener.tls;
  }

  /** The frame router (tests inspect its location cache). */
  get router(): Router {
    return this.ctx.router;
  }

  /** This instance's id. */
  get instanceId(): string {
    return this.opts.instanceId;
  }

  /** True once stop() began. */
  get draining(): boolean {
    return this.stopping !== null;
  }

  /** The /healthz report (pings the store). */
  healthReport(): Promise<HealthReport> {
    return this.health.report();
  }

  private async listen(): Promise<void> {
    await this.bus.start(this.opts.instanceId, (env) => this.ctx.router.handleEnvelope(env));
    await this.listener.listen();
    if (!this.opts.advertise) this.opts.advertise = `127.0.0.1:${this.port}`;
    this.sweeper.start();
    this.health.start();
    await this.heartbeat();
    const every = Math.floor(this.opts.presenceTtlMs / 3);
    this.refreshTimer = setInterval(() => void this.heartbeat(), every);
    this.refreshTimer.unref();
    // Redis keeps nothing on disk here: after a restart, rebuild every location at once.
    this.presence.onHealth((h) => {
      this.logHealth('presence', h);
      if (h === 'up') void this.heartbeat();
    });
    this.bus.onHealth((h) => this.logHealth('bus', h));
    if (this.opts.adminPort >= 0) {
      this.admin = new AdminServer(this.health, this.metrics, this.log.child({ component: 'admin' }));
      this.boundAdminPort = await this.admin.listen(this.opts.adminPort, this.opts.adminHost);
    }
    this.log.info({
      host: this.opts.host, port: this.port, tls: this.tls, adminPort: this.boundAdminPort, auth: this.opts.auth,
      store: this.store.kind, cluster: this.opts.cluster,
    }, 'listening');
  }

  private logHealth(backend: 'presence' | 'bus', h: Health): void {
    if (h === 'down') {
      this.log.error({ backend, health: h }, backend === 'presence'
        ? 'presence (Redis) is DOWN: logins fail and cross-instance delivery falls back to catch-up by seq until it is back'
        : 'bus (RabbitMQ) is DOWN: cross-instance pushes fail; recipients on other instances catch up by seq');
    } else this.log.warn({ backend, health: h }, `${backend} is back up`);
  }

  /** Registry heartbeat plus a lazy refresh of every location this instance owns. */
  private async heartbeat(): Promise<void> {
    const o = this.opts;
    try {
      await this.presence.heartbeatInstance({
        instanceId: o.instanceId, advertise: o.advertise, pid: process.pid, startedAt: this.startedAt, users: this.sessions.users,
      }, o.presenceTtlMs);
      const locs = [];
      for (const c of this.sessions.all()) locs.push({ userId: c.userId, platform: c.platform, instanceId: o.instanceId, connId: c.id });
      if (locs.length > 0) await this.presence.refresh(locs, o.presenceTtlMs);
    } catch (err) {
      this.log.warn({ err: String(err) }, 'presence heartbeat failed');
    }
  }

  /** @internal ListenerHost: SERVER_DRAINING or SERVER_FULL, or null to admit. */
  admit(): ImError | null {
    if (this.stopping) return new ImError('SERVER_DRAINING', 'this server is shutting down; connect to another instance', { fatal: true });
    if (this.connections.size >= this.opts.maxConnections) {
      return new ImError('SERVER_FULL', `server full (${this.opts.maxConnections} connections); try another instance`, { fatal: true });
    }
    return null;
  }

  /** @internal ListenerHost: takes over an admitted socket. */
  accept(socket: net.Socket): void {
    const id = `${this.opts.instanceId}#${++this.nextConnId}`;
    const conn = new Connection(id, socket, this, this.log);
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
      const p = this.presence.unregister({ userId: conn.userId, platform: conn.platform, instanceId: this.opts.instanceId, connId: conn.id })
        .catch((err: unknown) => conn.log.warn({ err: String(err) }, 'presence unregister failed (the location expires by TTL)'))
        .finally(() => this.unregistering.delete(p));
      this.unregistering.add(p);
    }
    conn.log.debug({ reason: conn.closeReason }, 'connection closed');
  }

  /**
   * Graceful stop (drain.ts): stop accepting, answer what was read, tell every client to
   * reconnect elsewhere (SERVER_DRAINING), flush, deregister, close the backends. Resolves
   * within about {@link ServerOptions.shutdownGraceMs}.
   */
  stop(): Promise<void> {
    this.stopping ??= drain({
      ctx: this.ctx, connections: this.connections, presence: this.presence, bus: this.bus, store: this.store,
      ownsStore: this.ownsStore, unregistering: this.unregistering,
      stopAccepting: () => {
        this.listener.close();
        this.sweeper.stop();
        this.health.stop();
        if (this.refreshTimer) clearInterval(this.refreshTimer);
      },
      closeAdmin: () => this.admin?.close() ?? Promise.resolve(),
    }, this.opts.shutdownGraceMs);
    return this.stopping;
  }
}

/** Starts a server; see {@link ImServer.start}. */
export function startServer(input: Partial<ServerOptions> = {}, deps: ServerDeps = {}): Promise<ImServer> {
  return ImServer.start(input, deps);
}
