/**
 * Presence in Redis (ioredis). Fixes the seed's presence (seed.md §2.2, §9.3): namespaced keys,
 * a TTL on every location, removal only by the owning connection (atomic compare-and-delete in
 * Lua: DESIGN.md "A location is removed only by the connection that owns it"), and an instance
 * registry with a heartbeat TTL, so a dead instance's users stop counting as online.
 *
 * Failure behaviour: the offline queue is disabled and every command has a timeout, so while
 * Redis is unreachable every operation rejects within `commandTimeoutMs` with a ClusterError
 * (a BackendError) instead of queueing or hanging; a command in flight when the connection drops
 * fails at once (maxRetriesPerRequest 0) rather than being resent later, and a connection that
 * stays silent with commands pending for `socketTimeoutMs` is dropped. ioredis reconnects with
 * {@link redisReconnectDelay} (capped exponential backoff) forever, and `health` goes 'down' on
 * the drop and 'up' when the connection is ready again. Scripts are sent with EVALSHA and reloaded
 * transparently after a Redis restart (ioredis handles NOSCRIPT).
 */
import Redis from 'ioredis';
import { ClusterError, redisError } from './errors';
import { checkInstanceId, checkLocation, checkTtl, ClusterKeys, DEFAULT_PREFIX, parseLocationValue } from './keys';
import { type ClusterLogger, stderrLogger } from './log';
import { backoffDelay, HealthTracker, intOption, rejectUnknown, stringOption } from './options';
import { RedisLocationWatch } from './location-watch';
import type { Health, InstanceInfo, Location, LocationWatch, Presence } from './ports';
import { PRESENCE_SCRIPTS, REFRESH_BATCH } from './redis-scripts';

/** Reply deadline of one command or pipeline, in ms. */
export const DEFAULT_REDIS_COMMAND_TIMEOUT_MS = 1_000;
/**
 * A connection with commands pending that receives nothing for this long is destroyed and
 * reconnected (a stalled or half-open Redis), in ms. Larger than the command timeout.
 */
export const DEFAULT_REDIS_SOCKET_TIMEOUT_MS = 3_000;
/** Deadline of one TCP connect attempt, in ms. */
export const DEFAULT_REDIS_CONNECT_TIMEOUT_MS = 2_000;
/** First reconnect delay, in ms (doubles per attempt). */
export const DEFAULT_REDIS_RETRY_BASE_MS = 50;
/** Reconnect delay cap, in ms (the brief: at most 2 s). */
export const DEFAULT_REDIS_RETRY_MAX_MS = 2_000;
/** How long {@link RedisPresence.connect} waits for the first connection, in ms. */
export const DEFAULT_REDIS_STARTUP_TIMEOUT_MS = 10_000;

/** Options of {@link RedisPresence.connect}. */
export interface RedisPresenceOptions {
  /** redis://[user:pass@]host:port[/db]. Required. */
  url: string;
  /** Key namespace. Default {@link DEFAULT_PREFIX} ("hxim"). */
  prefix?: string;
  /** Default {@link DEFAULT_REDIS_COMMAND_TIMEOUT_MS}. */
  commandTimeoutMs?: number;
  /** Default {@link DEFAULT_REDIS_SOCKET_TIMEOUT_MS}. */
  socketTimeoutMs?: number;
  /** Default {@link DEFAULT_REDIS_CONNECT_TIMEOUT_MS}. */
  connectTimeoutMs?: number;
  /** Default {@link DEFAULT_REDIS_RETRY_BASE_MS}. */
  retryBaseMs?: number;
  /** Default {@link DEFAULT_REDIS_RETRY_MAX_MS}; at most 2000. */
  retryMaxMs?: number;
  /** Default {@link DEFAULT_REDIS_STARTUP_TIMEOUT_MS}. */
  startupTimeoutMs?: number;
  /** CLIENT SETNAME, to find this connection in CLIENT LIST. Default "<prefix>-presence". */
  connectionName?: string;
  /** Default {@link stderrLogger}. */
  logger?: ClusterLogger;
}

/** Parsed {@link RedisPresenceOptions}. */
export interface ParsedRedisPresenceOptions {
  url: string;
  prefix: string;
  commandTimeoutMs: number;
  socketTimeoutMs: number;
  connectTimeoutMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  startupTimeoutMs: number;
  connectionName: string;
  logger: ClusterLogger;
}

/** Validates {@link RedisPresenceOptions}; throws a TypeError naming the bad field. */
export function parseRedisPresenceOptions(o: RedisPresenceOptions): ParsedRedisPresenceOptions {
  rejectUnknown(o, [
    'url', 'prefix', 'commandTimeoutMs', 'socketTimeoutMs', 'connectTimeoutMs', 'retryBaseMs', 'retryMaxMs', 'startupTimeoutMs',
    'connectionName', 'logger',
  ], 'RedisPresence');
  const url = stringOption(o, 'url', '');
  if (!/^rediss?:\/\//.test(url)) throw new TypeError(`cluster option 'url' must be a redis:// URL (got ${JSON.stringify(url)})`);
  const prefix = new ClusterKeys(o.prefix ?? DEFAULT_PREFIX).prefix;
  return {
    url,
    prefix,
    commandTimeoutMs: intOption(o, 'commandTimeoutMs', DEFAULT_REDIS_COMMAND_TIMEOUT_MS, 10, 60_000),
    socketTimeoutMs: intOption(o, 'socketTimeoutMs', DEFAULT_REDIS_SOCKET_TIMEOUT_MS, 10, 600_000),
    connectTimeoutMs: intOption(o, 'connectTimeoutMs', DEFAULT_REDIS_CONNECT_TIMEOUT_MS, 10, 60_000),
    retryBaseMs: intOption(o, 'retryBaseMs', DEFAULT_REDIS_RETRY_BASE_MS, 1, 2_000),
    retryMaxMs: intOption(o, 'retryMaxMs', DEFAULT_REDIS_RETRY_MAX_MS, 1, 2_000),
    startupTimeoutMs: intOption(o, 'startupTimeoutMs', DEFAULT_REDIS_STARTUP_TIMEOUT_MS, 10, 600_000),
    connectionName: stringOption(o, 'connectionName', `${prefix}-presence`),
    logger: o.logger ?? stderrLogger,
  };
}

/** Reconnect policy: attempt 1, 2, 3… -> base·2^(attempt-1) ms with jitter, at most `cap`. */
export function redisReconnectDelay(attempt: number, base = DEFAULT_REDIS_RETRY_BASE_MS, cap = DEFAULT_REDIS_RETRY_MAX_MS): number {
  return backoffDelay(attempt, base, cap);
}

type ScriptFn = (key: string, ...args: (string | number)[]) => unknown;
type ScriptName = keyof typeof PRESENCE_SCRIPTS;
type WithScripts = Record<ScriptName, ScriptFn>;

/** Redis-backed {@link Presence}. Create with {@link RedisPresence.connect}. */
export class RedisPresence implements Presence {
  /** Key builder for this namespace. */
  readonly keys: ClusterKeys;
  /** The underlying client (exposed for diagnostics and tests; do not issue commands on it). */
  readonly redis: Redis;
  private readonly tracker: HealthTracker;
  private closed = false;
  private watch: RedisLocationWatch | null = null;

  private constructor(redis: Redis, readonly opts: ParsedRedisPresenceOptions) {
    this.redis = redis;
    this.keys = new ClusterKeys(opts.prefix);
    this.tracker = new HealthTracker('down', (err) => opts.logger.error({ err }, 'presence health listener threw'));
    let lastError = '';
    redis.on('ready', () => {
      if (this.tracker.health === 'down' && lastError) opts.logger.info({}, 'redis presence reconnected');
      lastError = '';
      this.tracker.set('up');
    });
    redis.on('close', () => this.tracker.set('down'));
    redis.on('end', () => this.tracker.set('down'));
    redis.on('error', (err: Error) => {
      // Logged once per outage: a reconnect loop would otherwise log every attempt.
      if (err.message !== lastError) opts.logger.warn({ err: err.message }, 'redis presence connection error');
      lastError = err.message;
    });
  }

  /**
   * Connects and waits (at most `startupTimeoutMs`) for the first ready connection.
   * @throws ClusterError when Redis does not answer in time (a missing service fails loudly).
   */
  static async connect(options: RedisPresenceOptions): Promise<RedisPresence> {
    const opts = parseRedisPresenceOptions(options);
    const redis = new Redis(opts.url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      commandTimeout: opts.commandTimeoutMs,
      socketTimeout: opts.socketTimeoutMs,
      connectTimeout: opts.connectTimeoutMs,
      retryStrategy: (attempt: number) => redisReconnectDelay(attempt, opts.retryBaseMs, opts.retryMaxMs),
      connectionName: opts.connectionName,
      scripts: PRESENCE_SCRIPTS,
    });
    const presence = new RedisPresence(redis, opts);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        redis.off('ready', onReady);
        redis.disconnect();
        reject(new ClusterError('redis', 'unavailable',
          `no connection to ${opts.url.replace(/\/\/[^@]*@/, '//***@')} within ${opts.startupTimeoutMs} ms: start Redis or fix the URL`));
      }, opts.startupTimeoutMs);
      const onReady = (): void => {
        clearTimeout(timer);
        resolve();
      };
      redis.once('ready', onReady);
      redis.connect().catch(() => {}); // failures are retried by retryStrategy; the timer decides
    });
    return presence;
  }

  /** 'up' while the connection is ready. */
  get health(): Health {
    return this.tracker.health;
  }

  /** Subscribes to health changes. */
  onHealth(listener: (health: Health) => void): () => void {
    return this.tracker.onHealth(listener);
  }

  async register(loc: Location, ttlMs: number): Promise<Location | null> {
    checkLocation(loc);
    checkTtl(ttlMs);
    const raw = await this.run('register', () =>
      this.scripts().hximRegister(this.keys.location(loc.userId), this.keys.platformField(loc.platform),
        loc.instanceId, loc.connId, ttlMs, this.keys.locationChanges));
    if (typeof raw !== 'string') return null;
    const old = parseLocationValue(raw);
    if (!old || (old.instanceId === loc.instanceId && old.connId === loc.connId)) return null;
    return { userId: loc.userId, platform: loc.platform, instanceId: old.instanceId, connId: old.connId };
  }

  async unregister(loc: Location): Promise<boolean> {
    checkLocation(loc);
    const n = await this.run('unregister', () =>
      this.scripts().hximUnregister(this.keys.location(loc.userId), this.keys.platformField(loc.platform),
        loc.instanceId, loc.connId));
    return n === 1;
  }

  async lookup(userIds: readonly number[]): Promise<Map<number, Location[]>> {
    const unique = [...new Set(userIds)];
    const keys = unique.map((u) => this.keys.location(u));
    const out = new Map<number, Location[]>();
    if (unique.length === 0) return out;
    // One round trip: the server clock, then every user's hash.
    const res = await this.pipeline('lookup', (p) => {
      p.time();
      for (const k of keys) p.hgetall(k);
    });
    const time = res[0] as [string, string];
    const now = Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000);
    for (let i = 0; i < unique.length; i++) {
      const userId = unique[i]!;
      const list: Location[] = [];
      for (const [field, value] of hashEntries(res[i + 1])) {
        const platform = Number(field);
        const v = parseLocationValue(value);
        if (!v || v.expiresAt <= now || !Number.isSafeInteger(platform)) continue;
        list.push({ userId, platform, instanceId: v.instanceId, connId: v.connId });
      }
      if (list.length > 0) out.set(userId, list.sort((a, b) => a.platform - b.platform));
    }
    return out;
  }

  async refresh(locs: readonly Location[], ttlMs: number): Promise<void> {
    checkTtl(ttlMs);
    for (const loc of locs) checkLocation(loc);
    if (locs.length === 0) return;
    // One script call per REFRESH_BATCH locations of the same instance, all in one round trip.
    const byInstance = new Map<string, Location[]>();
    for (const loc of locs) {
      const list = byInstance.get(loc.instanceId);
      if (list) list.push(loc);
      else byInstance.set(loc.instanceId, [loc]);
    }
    await this.pipeline('refresh', (p) => {
      const s = p as unknown as Record<'hximRefreshMany', (...args: (string | number)[]) => unknown>;
      for (const [instanceId, list] of byInstance) {
        for (let i = 0; i < list.length; i += REFRESH_BATCH) {
          const batch = list.slice(i, i + REFRESH_BATCH);
          const args: (string | number)[] = [batch.length];
          for (const loc of batch) args.push(this.keys.location(loc.userId));
          args.push(ttlMs, instanceId);
          for (const loc of batch) args.push(this.keys.platformField(loc.platform), loc.connId);
          s.hximRefreshMany(...args);
        }
      }
    });
  }

  async heartbeatInstance(info: InstanceInfo, ttlMs: number): Promise<void> {
    checkTtl(ttlMs);
    const key = this.keys.instance(info.instanceId);
    const json = JSON.stringify({
      instanceId: info.instanceId, advertise: String(info.advertise), pid: info.pid, startedAt: info.startedAt,
      users: info.users,
    });
    await this.pipeline('heartbeatInstance', (p) => {
      p.set(key, json, 'PX', ttlMs);
      p.sadd(this.keys.instanceIndex, info.instanceId);
    });
  }

  async removeInstance(instanceId: string): Promise<void> {
    const key = this.keys.instance(instanceId);
    await this.pipeline('removeInstance', (p) => {
      p.del(key);
      p.srem(this.keys.instanceIndex, instanceId);
    });
  }

  async instances(): Promise<InstanceInfo[]> {
    const members = await this.run<string[]>('instances', () => this.redis.smembers(this.keys.instanceIndex));
    const ids = members.filter((m) => {
      try {
        return checkInstanceId(m) === m;
      } catch {
        return false;
      }
    });
    if (ids.length === 0) return [];
    const values = await this.run<(string | null)[]>('instances', () => this.redis.mget(ids.map((id) => this.keys.instance(id))));
    const out: InstanceInfo[] = [];
    const gone: string[] = [];
    values.forEach((v, i) => {
      const info = v === null ? null : parseInstanceInfo(v);
      if (info) out.push(info);
      else gone.push(ids[i]!);
    });
    // Index entries whose instance key expired: prune lazily, best effort.
    if (gone.length > 0) this.redis.srem(this.keys.instanceIndex, ...gone).catch(() => {});
    return out;
  }

  /** Login announcements over Redis pub/sub (one subscriber connection, opened on first use). */
  watchLocations(): LocationWatch {
    if (this.closed) throw new ClusterError('redis', 'closed', 'watchLocations: presence was closed');
    return (this.watch ??= new RedisLocationWatch(this.redis, this.keys, this.opts.logger, this.opts.connectionName));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.watch?.close();
    if (this.redis.status === 'ready') {
      await Promise.race([this.redis.quit().catch(() => {}), new Promise((r) => setTimeout(r, 1_000).unref())]);
    }
    this.redis.disconnect();
    this.tracker.set('down');
  }

  private scripts(): WithScripts {
    return this.redis as unknown as WithScripts;
  }

  /** Fails fast when not connected, and turns any failure into a ClusterError. */
  private async run<T>(op: string, fn: () => unknown): Promise<T> {
    this.ready(op);
    try {
      return (await fn()) as T;
    } catch (err) {
      throw redisError(op, err);
    }
  }

  /** Runs a pipeline (one round trip); the first failed command fails the whole call. */
  private async pipeline(op: string, build: (p: ReturnType<Redis['pipeline']>) => void): Promise<unknown[]> {
    this.ready(op);
    const p = this.redis.pipeline();
    build(p);
    let res: [Error | null, unknown][] | null;
    try {
      res = await p.exec();
    } catch (err) {
      throw redisError(op, err);
    }
    if (!res) throw new ClusterError('redis', 'unavailable', `${op} failed: pipeline was discarded`);
    const out = new Array<unknown>(res.length);
    for (let i = 0; i < res.length; i++) {
      const [err, value] = res[i]!;
      if (err) throw redisError(op, err);
      out[i] = value;
    }
    return out;
  }

  private ready(op: string): void {
    if (this.closed) throw new ClusterError('redis', 'closed', `${op}: presence was closed`);
    if (this.redis.status !== 'ready') {
      throw new ClusterError('redis', 'unavailable', `${op}: not connected to Redis (status ${this.redis.status}); retrying in the background`);
    }
  }
}

/** HGETALL reply (object, or flat array from a raw pipeline) as entries. */
function hashEntries(reply: unknown): [string, string][] {
  if (Array.isArray(reply)) {
    const out: [string, string][] = [];
    for (let i = 0; i + 1 < reply.length; i += 2) out.push([String(reply[i]), String(reply[i + 1])]);
    return out;
  }
  if (reply && typeof reply === 'object') return Object.entries(reply as Record<string, string>);
  return [];
}

/** Parses a registry value; null when malformed. */
function parseInstanceInfo(s: string): InstanceInfo | null {
  let j: unknown;
  try {
    j = JSON.parse(s);
  } catch {
    return null;
  }
  const r = j as Record<string, unknown> | null;
  if (!r || typeof r !== 'object' || typeof r.instanceId !== 'string' || typeof r.advertise !== 'string' ||
    typeof r.pid !== 'number' || typeof r.startedAt !== 'number' || typeof r.users !== 'number') {
    return null;
  }
  return { instanceId: r.instanceId, advertise: r.advertise, pid: r.pid, startedAt: r.startedAt, users: r.users };
}
