/**
 * Client options: named defaults, one {@link parseOptions} that validates and names the bad field,
 * and the reconnect policy as a plain function of the attempt number (STYLE.md §8, the ioredis
 * `retryStrategy` model).
 */
import type * as tls from 'node:tls';
import type { ConvSeq } from '@hxim/im-common';
import { ClientError } from './errors';

/** Heartbeat after this long without writing, unless the server's LoginAck asks for less (seed.md §4.2). */
export const DEFAULT_HEARTBEAT_MS = 5_000;
/** The connection is considered dead after this long without reading a byte. */
export const DEFAULT_IDLE_TIMEOUT_MS = 15_000;
/** Give up on one TCP (or TLS) connect after this long and try the next server. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/** Give up on a login (OnlineMessage → LoginAck) after this long; scrypt may queue on the server. */
export const DEFAULT_LOGIN_TIMEOUT_MS = 30_000;
/** A send whose STORED ack has not arrived this long after it was written rejects with ACK_TIMEOUT. */
export const DEFAULT_ACK_TIMEOUT_MS = 10_000;
/** A request (SyncRequest, later business requests) unanswered this long rejects with REQUEST_TIMEOUT. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 15_000;
/** Chats written but not yet acked; further sends wait in the queue (the server's own limit is 512). */
export const DEFAULT_MAX_INFLIGHT = 256;
/** DELIVERED acks are coalesced per conversation and flushed this often. */
export const DEFAULT_ACK_DELAY_MS = 50;
/** A gap is given this long to close by itself (an in-flight push or own ack) before a SyncRequest. */
export const DEFAULT_GAP_FILL_DELAY_MS = 50;
/** Platform (device slot). A second login on the same slot replaces the first. */
export const DEFAULT_PLATFORM = 1;
/**
 * Largest frame body accepted from the server. Larger than the server's inbound cap because a
 * LoginAck or SyncResponse carries a whole page of messages.
 */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;
/** Upper bound of one reconnect delay. DESIGN.md: cap backoff at 5 s or less. */
export const RECONNECT_CAP_MS = 5_000;
/** Base of the exponential backoff. */
export const RECONNECT_BASE_MS = 200;
/** Lower bound of one reconnect delay, so a flapping server is not hammered. */
export const RECONNECT_MIN_MS = 100;

/** One server address. */
export interface ServerAddress {
  host: string;
  port: number;
}

/**
 * How to log in: a password, a session token from an earlier LoginAck, or (only against a server
 * started with `--auth open`) a bare user id, as the seed did.
 */
export type ClientAuth =
  | { userName: string; password: string }
  | { token: string }
  | { userId: number };

/** Everything an {@link ImClient} can be told. Only `servers` and `auth` are required. */
export interface ClientOptions {
  /** Servers to use. The first is tried first; every reconnect moves on to the next (fail over). */
  servers: ServerAddress[];
  /** Credentials of the first login. Later logins use the LoginAck's token automatically. */
  auth: ClientAuth;
  /** Device slot (OnlineMessage.userPlatformId). Default {@link DEFAULT_PLATFORM}. */
  platform?: number;
  /**
   * Heartbeat after this long without writing. Default: the server's LoginAck.heartbeatMs, or
   * {@link DEFAULT_HEARTBEAT_MS} before login. An explicit value is still capped by the server's.
   */
  heartbeatMs?: number;
  /** Reconnect after this long without reading. Default {@link DEFAULT_IDLE_TIMEOUT_MS} (at least 3 heartbeats). */
  idleTimeoutMs?: number;
  /** Per-attempt TCP/TLS connect timeout. Default {@link DEFAULT_CONNECT_TIMEOUT_MS}. */
  connectTimeoutMs?: number;
  /** Login (and catch-up page) timeout. Default {@link DEFAULT_LOGIN_TIMEOUT_MS}. */
  loginTimeoutMs?: number;
  /** Reconnect by itself after a lost connection. Default true. */
  reconnect?: boolean;
  /**
   * Delay before reconnect attempt `attempt` (1 for the first). Default {@link defaultReconnectDelay}:
   * capped exponential backoff with full jitter.
   */
  reconnectDelay?: (attempt: number) => number;
  /** See {@link DEFAULT_ACK_TIMEOUT_MS}. */
  ackTimeoutMs?: number;
  /** See {@link DEFAULT_REQUEST_TIMEOUT_MS}. */
  requestTimeoutMs?: number;
  /** See {@link DEFAULT_MAX_INFLIGHT}. */
  maxInflight?: number;
  /** See {@link DEFAULT_ACK_DELAY_MS}. */
  ackDelayMs?: number;
  /** See {@link DEFAULT_GAP_FILL_DELAY_MS}. */
  gapFillDelayMs?: number;
  /** Page size asked for in SyncRequest.limit; 0 lets the server choose. Default 0. */
  syncLimit?: number;
  /** See {@link DEFAULT_MAX_FRAME_BYTES}. */
  maxFrameBytes?: number;
  /** Use TLS: true for the system CAs, or node:tls options (e.g. `{ ca }`). Default false. */
  tls?: tls.ConnectionOptions | boolean;
  /** Local address to bind (load tests spread clients over 127.0.0.x). Default: any. */
  localAddress?: string;
  /**
   * Per-conversation cursors saved from an earlier run ({@link ImClient.cursors}): catch-up starts
   * after them and older messages count as duplicates. Default none (the server's cursors).
   */
  lastSeqs?: ConvSeq[];
}

/** {@link ClientOptions} after defaults and validation. */
export interface ResolvedOptions {
  servers: ServerAddress[];
  auth: ClientAuth;
  platform: number;
  /** Undefined when the caller left it to the server. */
  heartbeatMs: number | undefined;
  /** Undefined when the caller left it to the default rule. */
  idleTimeoutMs: number | undefined;
  connectTimeoutMs: number;
  loginTimeoutMs: number;
  reconnect: boolean;
  reconnectDelay: (attempt: number) => number;
  ackTimeoutMs: number;
  requestTimeoutMs: number;
  maxInflight: number;
  ackDelayMs: number;
  gapFillDelayMs: number;
  syncLimit: number;
  maxFrameBytes: number;
  tls: tls.ConnectionOptions | undefined;
  localAddress: string | undefined;
  lastSeqs: ConvSeq[];
}

/**
 * The default reconnect policy: `max(100, random() × min(5000, 200 × 2^attempt))` ms, i.e. capped
 * exponential backoff with full jitter, so a restarted server is not hit by every client at once.
 */
export function defaultReconnectDelay(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(RECONNECT_CAP_MS, RECONNECT_BASE_MS * 2 ** Math.max(0, attempt));
  return Math.max(RECONNECT_MIN_MS, Math.floor(random() * ceiling));
}

/** Parses "host:port" (IPv6 as "[::1]:9090"); throws a BAD_OPTION error naming `field`. */
export function parseServerAddress(text: string, field = 'server'): ServerAddress {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text.trim()) ?? /^([^:\s]+):(\d+)$/.exec(text.trim());
  if (!m) throw badOption(field, `"${text}" is not host:port`);
  const port = Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw badOption(field, `port ${m[2]} is not 1-65535`);
  return { host: m[1]!, port };
}

/** Parses a comma-separated "host:port,host:port" list. */
export function parseServerList(text: string, field = 'server'): ServerAddress[] {
  const parts = text.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (parts.length === 0) throw badOption(field, 'give at least one host:port');
  return parts.map((p) => parseServerAddress(p, field));
}

/** Formats an address as "host:port". */
export function formatAddress(a: ServerAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** Validates `opts` and fills in the defaults. Throws {@link ClientError} BAD_OPTION naming the field. */
export function parseOptions(opts: ClientOptions): ResolvedOptions {
  if (opts === null || typeof opts !== 'object') throw badOption('options', 'pass an options object');
  if (!Array.isArray(opts.servers) || opts.servers.length === 0) {
    throw badOption('servers', 'give at least one { host, port }');
  }
  opts.servers.forEach((s, i) => {
    if (!s || typeof s.host !== 'string' || s.host.length === 0) throw badOption(`servers[${i}].host`, 'must be a non-empty string');
    if (!Number.isInteger(s.port) || s.port < 1 || s.port > 65535) throw badOption(`servers[${i}].port`, 'must be an integer 1-65535');
  });
  checkAuth(opts.auth);
  if (opts.reconnectDelay !== undefined && typeof opts.reconnectDelay !== 'function') {
    throw badOption('reconnectDelay', 'must be a function (attempt) => milliseconds');
  }
  return {
    servers: opts.servers.map((s) => ({ host: s.host, port: s.port })),
    auth: opts.auth,
    platform: int(opts, 'platform', DEFAULT_PLATFORM, 0),
    heartbeatMs: opts.heartbeatMs === undefined ? undefined : int(opts, 'heartbeatMs', 0, 10),
    idleTimeoutMs: opts.idleTimeoutMs === undefined ? undefined : int(opts, 'idleTimeoutMs', 0, 20),
    connectTimeoutMs: int(opts, 'connectTimeoutMs', DEFAULT_CONNECT_TIMEOUT_MS, 1),
    loginTimeoutMs: int(opts, 'loginTimeoutMs', DEFAULT_LOGIN_TIMEOUT_MS, 1),
    reconnect: opts.reconnect ?? true,
    reconnectDelay: opts.reconnectDelay ?? ((attempt: number) => defaultReconnectDelay(attempt)),
    ackTimeoutMs: int(opts, 'ackTimeoutMs', DEFAULT_ACK_TIMEOUT_MS, 1),
    requestTimeoutMs: int(opts, 'requestTimeoutMs', DEFAULT_REQUEST_TIMEOUT_MS, 1),
    maxInflight: int(opts, 'maxInflight', DEFAULT_MAX_INFLIGHT, 1),
    ackDelayMs: int(opts, 'ackDelayMs', DEFAULT_ACK_DELAY_MS, 0),
    gapFillDelayMs: int(opts, 'gapFillDelayMs', DEFAULT_GAP_FILL_DELAY_MS, 0),
    syncLimit: int(opts, 'syncLimit', 0, 0),
    maxFrameBytes: int(opts, 'maxFrameBytes', DEFAULT_MAX_FRAME_BYTES, 1024),
    tls: opts.tls === true ? {} : opts.tls === false || opts.tls === undefined ? undefined : opts.tls,
    localAddress: opts.localAddress,
    lastSeqs: checkSeqs(opts.lastSeqs),
  };
}

function checkAuth(auth: ClientAuth | undefined): void {
  if (!auth || typeof auth !== 'object') throw badOption('auth', 'give { userName, password }, { token } or { userId }');
  if ('token' in auth) {
    if (typeof auth.token !== 'string' || auth.token.length === 0) throw badOption('auth.token', 'must be a non-empty string');
  } else if ('userName' in auth) {
    if (typeof auth.userName !== 'string' || auth.userName.length === 0) throw badOption('auth.userName', 'must be a non-empty string');
    if (typeof auth.password !== 'string') throw badOption('auth.password', 'must be a string');
  } else if ('userId' in auth) {
    if (!Number.isSafeInteger(auth.userId) || auth.userId <= 0) throw badOption('auth.userId', 'must be a positive integer');
  } else {
    throw badOption('auth', 'give { userName, password }, { token } or { userId }');
  }
}

function checkSeqs(seqs: ConvSeq[] | undefined): ConvSeq[] {
  if (seqs === undefined) return [];
  if (!Array.isArray(seqs)) throw badOption('lastSeqs', 'must be an array of { convId, seq }');
  seqs.forEach((c, i) => {
    if (!c || typeof c.convId !== 'string' || c.convId.length === 0) throw badOption(`lastSeqs[${i}].convId`, 'must be a non-empty string');
    if (!Number.isSafeInteger(c.seq) || c.seq < 0) throw badOption(`lastSeqs[${i}].seq`, 'must be an integer >= 0');
  });
  return seqs.map((c) => ({ convId: c.convId, seq: c.seq }));
}

function int<K extends keyof ClientOptions>(opts: ClientOptions, key: K, dflt: number, min: number): number {
  const v = opts[key];
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw badOption(key, `must be an integer >= ${min} (got ${String(v)})`);
  }
  return v;
}

function badOption(field: string, what: string): ClientError {
  return new ClientError('BAD_OPTION', `option "${field}" ${what}`);
}
