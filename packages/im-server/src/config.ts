/**
 * Server options: named defaults, one parser that validates and names the bad field.
 * Every option is documented with its default. CLI flags and HXIM_* environment variables both
 * map onto {@link ServerOptions} (see cli.ts).
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { ImError } from '@hxim/im-common';
import { DEFAULT_MAX_NOTICES_PER_USER, MAX_NOTICES_PER_USER_LIMIT } from '@hxim/business';

/** TCP port, as in the seed (seed.md §7: im.server.port 9090). */
export const DEFAULT_PORT = 9090;
/** Close a connection after this long without reading a byte (seed.md §3.2: 10 s). */
export const DEFAULT_IDLE_TIMEOUT_MS = 10_000;
/** Close a connection that has not logged in after this long. */
export const DEFAULT_LOGIN_TIMEOUT_MS = 10_000;
/** Interval clients are told to heartbeat at (LoginAck.heartbeatMs; the seed client uses 5 s). */
export const DEFAULT_HEARTBEAT_MS = 5_000;
/** A partial frame must complete within this long. */
export const DEFAULT_PARTIAL_FRAME_TIMEOUT_MS = 30_000;
/** Largest frame body accepted, checked at the header. */
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024;
/** Largest chat body (ChatMessage.msgBody) accepted. */
export const DEFAULT_MAX_BODY_BYTES = 16 * 1024;
/** Connections per process; past it new ones get SERVER_FULL and are closed (fd limit is 20,000). */
export const DEFAULT_MAX_CONNECTIONS = 19_500;
/** A connection whose unsent output passes this is closed as a slow consumer. */
export const DEFAULT_MAX_OUTBOUND_BYTES = 1024 * 1024;
/** A connection with unsent output that has not drained for this long is closed. */
export const DEFAULT_DRAIN_TIMEOUT_MS = 30_000;
/** Chats of one connection awaiting the store before reading pauses. */
export const DEFAULT_MAX_INFLIGHT = 512;
/**
 * Requests awaiting a backend, server-wide, before connections that submit more pause reading
 * (limits/inflight-gate.ts). Well under the store queue (50,000) and what the store commits within
 * its 2 s deadline, so overload becomes TCP backpressure instead of STORE_TIMEOUT errors.
 */
export const DEFAULT_MAX_SERVER_INFLIGHT = 10_000;
/** Messages returned in LoginAck / one SyncResponse. */
export const DEFAULT_SYNC_PAGE = 200;
/** scrypt cost as log2(N): 17 means N = 2^17 (DESIGN.md: ~5 hashes/s on this box). */
export const DEFAULT_SCRYPT_LOG_N = 17;
/** Concurrent scrypt computations (each holds a libuv pool thread). */
export const DEFAULT_SCRYPT_CONCURRENCY = 2;
/** Session token lifetime. */
export const DEFAULT_TOKEN_TTL_MS = 30 * 24 * 3600 * 1000;
/** Presence TTL; refreshed lazily at a third of it. */
export const DEFAULT_PRESENCE_TTL_MS = 60_000;
/**
 * Frames per second one connection may send (token bucket refill; 0 = unlimited). Generous on
 * purpose: a closed-loop load test with 10 in flight does a few thousand per second per
 * connection, and a reconnecting client flushes its outbox in a burst (docs/operations.md).
 */
export const DEFAULT_MSG_RATE = 2000;
/** Frames one connection may send at once before the rate applies (token bucket size). */
export const DEFAULT_MSG_BURST = 4000;
/** A connection kept over its rate (reading paused) for this long gets RATE_LIMITED and is closed. */
export const DEFAULT_RATE_LIMIT_GRACE_MS = 10_000;
/** New connections per second per listener (0 = unlimited); excess get RATE_LIMITED and close. */
export const DEFAULT_CONNECT_RATE = 5000;
/** New connections one listener accepts at once before the rate applies. */
export const DEFAULT_CONNECT_BURST = 5000;
/** Failed logins per account name per window before LOGIN_THROTTLED (0 = no limit). */
export const DEFAULT_LOGIN_FAILURES_PER_ACCOUNT = 5;
/** Failed logins per remote address per window before LOGIN_THROTTLED (0 = no limit). */
export const DEFAULT_LOGIN_FAILURES_PER_ADDRESS = 30;
/** The window of the failed-login limits (the allowance refills evenly over it). */
export const DEFAULT_LOGIN_FAILURE_WINDOW_MS = 60_000;
/** HTTP admin port (/healthz, /metrics): -1 = off (default), 0 = any free port. */
export const DEFAULT_ADMIN_PORT = -1;
/** HTTP admin listen address: loopback, so metrics are not exposed by accident. */
export const DEFAULT_ADMIN_HOST = '127.0.0.1';
/** A graceful stop (SIGTERM) finishes within this long; the CLI exits 2 s after it at the latest. */
export const DEFAULT_SHUTDOWN_GRACE_MS = 8000;

/** Authentication mode. */
export type AuthMode = 'password' | 'open';

/**
 * Who may send 1:1 chats: "friends" (the default: only friends; others get NOT_FRIENDS) or
 * "anyone". `--auth open` (seed mode) always behaves as "anyone". Blocks apply under both.
 */
export type StrangerPolicy = 'friends' | 'anyone';
/** Default stranger policy: friends only (issue 4). */
export const DEFAULT_STRANGER_POLICY: StrangerPolicy = 'friends';

/** Everything the server can be told. */
export interface ServerOptions {
  /** Listen address. Default "0.0.0.0". */
  host: string;
  /** Listen port; 0 picks a free one. Default {@link DEFAULT_PORT}. */
  port: number;
  /** This instance's id, unique in a cluster. Default "<hostname>-<port>". */
  instanceId: string;
  /** host:port clients should use to reach this instance. Default "127.0.0.1:<port>". */
  advertise: string;
  /** "password" (default): accounts and tokens. "open": trust OnlineMessage.userId, like the seed. */
  auth: AuthMode;
  /** "sqlite" (default, embedded) or "mysql". */
  store: 'sqlite' | 'mysql';
  /** SQLite data directory. Default "./data". */
  dataDir: string;
  /** SQLite synchronous pragma. Default "FULL" (an acked message survives power loss). */
  sqliteSync: 'FULL' | 'NORMAL';
  /** mysql://user:pass@host:port/db. Default mysql://root@127.0.0.1:3306/hxim. */
  mysqlUrl: string;
  /**
   * Stored notifications kept per user (either store); inserting more deletes that user's oldest.
   * Default {@link DEFAULT_MAX_NOTICES_PER_USER}.
   */
  maxNoticesPerUser: number;
  /** "embedded" (default: in-memory presence, in-process bus) or "redis-rabbit". */
  cluster: 'embedded' | 'redis-rabbit';
  /** Default redis://127.0.0.1:6379. */
  redisUrl: string;
  /** Default amqp://guest:guest@127.0.0.1:5672. */
  amqpUrl: string;
  /** Prefix of every Redis key and queue name. Default "hxim". */
  namespace: string;
  /** See {@link DEFAULT_IDLE_TIMEOUT_MS}. */
  idleTimeoutMs: number;
  /** See {@link DEFAULT_LOGIN_TIMEOUT_MS}. */
  loginTimeoutMs: number;
  /** See {@link DEFAULT_HEARTBEAT_MS}. */
  heartbeatMs: number;
  /** See {@link DEFAULT_PARTIAL_FRAME_TIMEOUT_MS}. */
  partialFrameTimeoutMs: number;
  /** See {@link DEFAULT_MAX_FRAME_BYTES}. */
  maxFrameBytes: number;
  /** See {@link DEFAULT_MAX_BODY_BYTES}. */
  maxBodyBytes: number;
  /** See {@link DEFAULT_MAX_CONNECTIONS}. */
  maxConnections: number;
  /** See {@link DEFAULT_MAX_OUTBOUND_BYTES}. */
  maxOutboundBytes: number;
  /** See {@link DEFAULT_DRAIN_TIMEOUT_MS}. */
  drainTimeoutMs: number;
  /** See {@link DEFAULT_MAX_INFLIGHT}. */
  maxInflight: number;
  /** See {@link DEFAULT_MAX_SERVER_INFLIGHT}; 0 = no server-wide bound. */
  maxServerInflight: number;
  /** See {@link DEFAULT_SYNC_PAGE}. */
  syncPage: number;
  /** See {@link DEFAULT_SCRYPT_LOG_N}. Tests and load tests lower it (e.g. 10). */
  scryptLogN: number;
  /** See {@link DEFAULT_SCRYPT_CONCURRENCY}. */
  scryptConcurrency: number;
  /** See {@link DEFAULT_TOKEN_TTL_MS}. */
  tokenTtlMs: number;
  /** See {@link DEFAULT_PRESENCE_TTL_MS}. */
  presenceTtlMs: number;
  /** pino level: fatal, error, warn, info, debug, trace, silent. Default "info". */
  logLevel: string;
  /** See {@link DEFAULT_MSG_RATE}. */
  msgRate: number;
  /** See {@link DEFAULT_MSG_BURST}. */
  msgBurst: number;
  /** See {@link DEFAULT_RATE_LIMIT_GRACE_MS}. */
  rateLimitGraceMs: number;
  /** See {@link DEFAULT_CONNECT_RATE}. */
  connectRate: number;
  /** See {@link DEFAULT_CONNECT_BURST}. */
  connectBurst: number;
  /** See {@link DEFAULT_LOGIN_FAILURES_PER_ACCOUNT}. */
  loginFailuresPerAccount: number;
  /** See {@link DEFAULT_LOGIN_FAILURES_PER_ADDRESS}. */
  loginFailuresPerAddress: number;
  /** See {@link DEFAULT_LOGIN_FAILURE_WINDOW_MS}. */
  loginFailureWindowMs: number;
  /** PEM certificate (chain) file: with {@link tlsKey}, the client listener speaks TLS. Default "" (plain TCP). */
  tlsCert: string;
  /** PEM private key file of {@link tlsCert}. Default "". */
  tlsKey: string;
  /** See {@link DEFAULT_ADMIN_PORT}. The string "off" is accepted for -1. */
  adminPort: number;
  /** See {@link DEFAULT_ADMIN_HOST}. */
  adminHost: string;
  /** See {@link DEFAULT_SHUTDOWN_GRACE_MS}. */
  shutdownGraceMs: number;
  /** See {@link StrangerPolicy}. Default {@link DEFAULT_STRANGER_POLICY}. */
  strangerPolicy: StrangerPolicy;
}

/** A bad option value. The message names the option and says what is accepted. */
export class ConfigError extends ImError {
  constructor(message: string) {
    super('BAD_REQUEST', message, { fatal: true });
  }
}

/** The defaults, before validation. */
export function defaultOptions(): ServerOptions {
  return {
    host: '0.0.0.0', port: DEFAULT_PORT, instanceId: '', advertise: '', auth: 'password',
    store: 'sqlite', dataDir: path.resolve('data'), sqliteSync: 'FULL',
    mysqlUrl: 'mysql://root@127.0.0.1:3306/hxim', maxNoticesPerUser: DEFAULT_MAX_NOTICES_PER_USER, cluster: 'embedded',
    redisUrl: 'redis://127.0.0.1:6379', amqpUrl: 'amqp://guest:guest@127.0.0.1:5672', namespace: 'hxim',
    idleTimeoutMs: DEFAULT_IDLE_TIMEOUT_MS, loginTimeoutMs: DEFAULT_LOGIN_TIMEOUT_MS,
    heartbeatMs: DEFAULT_HEARTBEAT_MS, partialFrameTimeoutMs: DEFAULT_PARTIAL_FRAME_TIMEOUT_MS,
    maxFrameBytes: DEFAULT_MAX_FRAME_BYTES, maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
    maxConnections: DEFAULT_MAX_CONNECTIONS, maxOutboundBytes: DEFAULT_MAX_OUTBOUND_BYTES,
    drainTimeoutMs: DEFAULT_DRAIN_TIMEOUT_MS, maxInflight: DEFAULT_MAX_INFLIGHT, maxServerInflight: DEFAULT_MAX_SERVER_INFLIGHT,
    syncPage: DEFAULT_SYNC_PAGE, scryptLogN: DEFAULT_SCRYPT_LOG_N,
    scryptConcurrency: DEFAULT_SCRYPT_CONCURRENCY, tokenTtlMs: DEFAULT_TOKEN_TTL_MS,
    presenceTtlMs: DEFAULT_PRESENCE_TTL_MS, logLevel: 'info',
    msgRate: DEFAULT_MSG_RATE, msgBurst: DEFAULT_MSG_BURST, rateLimitGraceMs: DEFAULT_RATE_LIMIT_GRACE_MS,
    connectRate: DEFAULT_CONNECT_RATE, connectBurst: DEFAULT_CONNECT_BURST,
    loginFailuresPerAccount: DEFAULT_LOGIN_FAILURES_PER_ACCOUNT, loginFailuresPerAddress: DEFAULT_LOGIN_FAILURES_PER_ADDRESS,
    loginFailureWindowMs: DEFAULT_LOGIN_FAILURE_WINDOW_MS, tlsCert: '', tlsKey: '',
    adminPort: DEFAULT_ADMIN_PORT, adminHost: DEFAULT_ADMIN_HOST, shutdownGraceMs: DEFAULT_SHUTDOWN_GRACE_MS,
    strangerPolicy: DEFAULT_STRANGER_POLICY,
  };
}

const INT_RANGES: Partial<Record<keyof ServerOptions, [number, number]>> = {
  port: [0, 65535], idleTimeoutMs: [100, 3_600_000], loginTimeoutMs: [100, 600_000],
  heartbeatMs: [100, 3_600_000], partialFrameTimeoutMs: [100, 600_000],
  maxFrameBytes: [64, 16 * 1024 * 1024], maxBodyBytes: [1, 16 * 1024 * 1024],
  maxConnections: [1, 1_000_000], maxOutboundBytes: [1024, 1024 * 1024 * 1024],
  drainTimeoutMs: [100, 600_000], maxInflight: [1, 1_000_000], maxServerInflight: [0, 1_000_000], syncPage: [1, 10_000],
  maxNoticesPerUser: [1, MAX_NOTICES_PER_USER_LIMIT], scryptLogN: [4, 20], scryptConcurrency: [1, 64], tokenTtlMs: [1000, 365 * 24 * 3600 * 1000],
  presenceTtlMs: [1000, 3_600_000], msgRate: [0, 10_000_000], msgBurst: [1, 10_000_000],
  rateLimitGraceMs: [0, 3_600_000], connectRate: [0, 1_000_000], connectBurst: [1, 1_000_000],
  loginFailuresPerAccount: [0, 1_000_000], loginFailuresPerAddress: [0, 1_000_000],
  loginFailureWindowMs: [1000, 24 * 3600 * 1000], adminPort: [-1, 65535], shutdownGraceMs: [100, 600_000],
};
const ENUMS: Partial<Record<keyof ServerOptions, readonly string[]>> = {
  auth: ['password', 'open'], store: ['sqlite', 'mysql'], sqliteSync: ['FULL', 'NORMAL'],
  cluster: ['embedded', 'redis-rabbit'], strangerPolicy: ['friends', 'anyone'],
  logLevel: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
};

/**
 * Merges `input` over the defaults and validates every field. Strings are accepted for numbers
 * (from flags and the environment). Throws {@link ConfigError} naming the first bad option.
 */
export function parseOptions(input: Partial<Record<keyof ServerOptions, unknown>> = {}): ServerOptions {
  const out = defaultOptions() as unknown as Record<string, unknown>;
  for (const [k, v] of Object.entries(input)) {
    if (v === undefined) continue;
    if (!(k in out)) throw new ConfigError(`unknown option "${k}"`);
    out[k] = v;
  }
  if (out.adminPort === 'off') out.adminPort = -1;
  for (const [k, [lo, hi]] of Object.entries(INT_RANGES) as Array<[string, [number, number]]>) {
    const v = out[k];
    const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < lo || n > hi) {
      throw new ConfigError(`option "${k}" must be an integer from ${lo} to ${hi}, got ${JSON.stringify(out[k])}`);
    }
    out[k] = n;
  }
  for (const [k, allowed] of Object.entries(ENUMS) as Array<[string, readonly string[]]>) {
    if (!allowed.includes(String(out[k]))) {
      throw new ConfigError(`option "${k}" must be one of ${allowed.join(', ')}, got ${JSON.stringify(out[k])}`);
    }
  }
  const o = out as unknown as ServerOptions;
  if (!o.instanceId) o.instanceId = `${os.hostname().replace(/[^A-Za-z0-9._-]/g, '_')}-${o.port}`;
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(o.instanceId)) {
    throw new ConfigError(`option "instanceId" may only hold letters, digits, ".", "_" and "-" (1-64), got ${JSON.stringify(o.instanceId)}`);
  }
  if (!/^[A-Za-z0-9_-]{1,32}$/.test(o.namespace)) {
    throw new ConfigError(`option "namespace" may only hold letters, digits, "_" and "-" (1-32)`);
  }
  for (const k of ['mysqlUrl', 'redisUrl', 'amqpUrl'] as const) {
    try { new URL(o[k]); } catch { throw new ConfigError(`option "${k}" is not a URL: ${JSON.stringify(o[k])}`); }
  }
  if (o.heartbeatMs >= o.idleTimeoutMs) {
    throw new ConfigError(`option "heartbeatMs" (${o.heartbeatMs}) must be below "idleTimeoutMs" (${o.idleTimeoutMs})`);
  }
  if (o.maxBodyBytes > o.maxFrameBytes) {
    throw new ConfigError(`option "maxBodyBytes" (${o.maxBodyBytes}) must not exceed "maxFrameBytes" (${o.maxFrameBytes})`);
  }
  for (const k of ['tlsCert', 'tlsKey'] as const) {
    if (typeof o[k] !== 'string') throw new ConfigError(`option "${k}" must be a file path`);
  }
  if (Boolean(o.tlsCert) !== Boolean(o.tlsKey)) {
    throw new ConfigError(`options "tlsCert" and "tlsKey" go together: give both PEM files, or neither for plain TCP`);
  }
  if (o.adminPort > 0 && o.adminPort === o.port) {
    throw new ConfigError(`option "adminPort" (${o.adminPort}) must differ from "port"`);
  }
  if (typeof o.adminHost !== 'string' || o.adminHost === '') throw new ConfigError('option "adminHost" must be a listen address');
  o.dataDir = path.resolve(o.dataDir);
  return o;
}
