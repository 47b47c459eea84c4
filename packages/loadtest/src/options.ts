/**
 * Options of a load run: named defaults, one {@link parseOptions} that validates everything and
 * names the bad field (STYLE.md §8). The resolved {@link LoadOptions} is plain JSON: the parent
 * sends it to every worker as is.
 */
import { isLoopback, parseSourceAddrs } from './addresses';

/** Scenario names. */
export const SCENARIOS = ['idle', 'chat', 'cross', 'group', 'login-storm', 'soak'] as const;
/** One scenario name. */
export type ScenarioName = (typeof SCENARIOS)[number];

/** Server list when none is given. */
export const DEFAULT_SERVERS = '127.0.0.1:9090';
/** Measured seconds (after the warm-up). Soak runs default to {@link DEFAULT_SOAK_DURATION_S}. */
export const DEFAULT_DURATION_S = 15;
/** Soak duration in seconds. */
export const DEFAULT_SOAK_DURATION_S = 300;
/** Seconds of load before measuring starts (not counted in histograms or rates). */
export const DEFAULT_WARMUP_S = 2;
/** After the load stops, wait at most this long for outstanding acks and deliveries. */
export const DEFAULT_DRAIN_S = 10;
/** Sockets one worker process may hold: the per-process fd limit is 20,000, minus headroom. */
export const MAX_SOCKETS_PER_WORKER = 18_000;
/** Source addresses rotated over when none are given. */
export const DEFAULT_SOURCE_ADDRS = '127.0.0.2-127.0.0.20';
/** Sender/receiver pairs of chat, cross and soak. */
export const DEFAULT_PAIRS = 100;
/** Open-loop rate, messages/s over all pairs. */
export const DEFAULT_RATE = 1000;
/** Soak's open-loop rate (modest on purpose: the point is duration and churn). */
export const DEFAULT_SOAK_RATE = 200;
/** Closed loop: messages in flight per pair (the peer harness used 10). */
export const DEFAULT_WINDOW = 10;
/** Chat body size in bytes (the peer harness used 100). At least {@link MIN_BODY_BYTES}. */
export const DEFAULT_BODY_BYTES = 100;
/** The stamp (run, sender, message number, intended send time) needs this many bytes. */
export const MIN_BODY_BYTES = 24;
/** idle and login-storm connections. */
export const DEFAULT_CONNECTIONS = 1000;
/** idle: seconds to let the server settle after each connection step before sampling RSS. */
export const DEFAULT_SETTLE_S = 10;
/** Connection attempts (connect + login) in flight per worker. */
export const DEFAULT_CONCURRENCY = 200;
/** Password of provisioned test users (password mode). */
export const DEFAULT_PASSWORD = 'lt-password';
/** soak: percentage of connections dropped (and reconnected) every churn interval. */
export const DEFAULT_CHURN_PCT = 2;
/** soak: seconds between churn rounds. */
export const DEFAULT_CHURN_INTERVAL_S = 5;
/** Receivers coalesce DELIVERED acks per conversation and send them this often (as im-client does). */
export const DEFAULT_ACK_DELAY_MS = 50;
/** Catch-up (receivers log in again and sync) must finish within this long. */
export const DEFAULT_CATCHUP_S = 60;
/** group: groups. */
export const DEFAULT_GROUPS = 5;
/** group: members per group (the owner included). */
export const DEFAULT_GROUP_SIZE = 100;
/** The server's cap on members per group (docs/protocol.md §10). */
export const MAX_GROUP_SIZE = 10_000;
/** group: members of each group that send (the first ones; the owner is the first). */
export const DEFAULT_GROUP_SENDERS = 1;
/** group: open-loop rate, group messages/s over all groups (each is delivered to size − 1 members). */
export const DEFAULT_GROUP_RATE = 100;

/** Where a server is. */
export interface ServerAddr { host: string; port: number }

/** Every option of a run, resolved. */
export interface LoadOptions {
  scenario: ScenarioName;
  /** Label in reports. Default: the scenario name. */
  label: string;
  /** Servers; connections are spread over them. Loopback only. Default {@link DEFAULT_SERVERS}. */
  servers: ServerAddr[];
  /** Measured seconds. Default {@link DEFAULT_DURATION_S} (soak {@link DEFAULT_SOAK_DURATION_S}). */
  durationS: number;
  /** Default {@link DEFAULT_WARMUP_S}. */
  warmupS: number;
  /** Default {@link DEFAULT_DRAIN_S}. */
  drainS: number;
  /** Stop sending after this many messages in all (0: no limit). Default 0. */
  maxMessages: number;
  /** Worker processes; 0 picks ceil(sockets / {@link MAX_SOCKETS_PER_WORKER}). Default 0. */
  workers: number;
  /** Local addresses rotated over. Default {@link DEFAULT_SOURCE_ADDRS}. */
  sourceAddrs: string[];
  /** "open" (user ids) or "password" (register lt_<run>_<i>, log in, re-login by token). Default "open". */
  auth: 'open' | 'password';
  /** Default {@link DEFAULT_PASSWORD}. */
  password: string;
  /** Server processes to sample (/proc CPU and RSS). Default none. */
  serverPids: number[];
  /**
   * Backing services' processes (mariadbd, redis-server, RabbitMQ's beam.smp), sampled apart from
   * the server so their CPU is not counted as "other processes". Default none.
   */
  servicePids: number[];
  /** Directory for result.json and summary.md; "" prints JSON on stdout only. Default "". */
  outDir: string;
  /** Connect with TLS (certificates not verified: loopback only). Default false. */
  tls: boolean;
  /** Run id stamped in every body and user name. Default: derived from the clock. */
  runId: number;
  /** Open mode: first user id. Default: derived from the run id, so each run has fresh conversations. */
  userBase: number;
  /** Default {@link DEFAULT_BODY_BYTES}. */
  bodyBytes: number;
  /** Heartbeat interval; 0 uses the server's LoginAck.heartbeatMs. Default 0. */
  heartbeatMs: number;
  /** Default {@link DEFAULT_CONCURRENCY}. */
  concurrency: number;
  /** Print the live progress line on stderr. Default true. */
  progress: boolean;
  /** Chat pairs. Default {@link DEFAULT_PAIRS}. */
  pairs: number;
  /** "open" (fixed rate, latency from the intended send time) or "closed" (window). Default "open". */
  mode: 'open' | 'closed';
  /** Default {@link DEFAULT_RATE} (soak {@link DEFAULT_SOAK_RATE}). */
  rate: number;
  /** Default {@link DEFAULT_WINDOW}. */
  window: number;
  /** "raw" (pre-encoded frames on im-common) or "lib" (one ImClient per user). Default "raw". */
  client: 'raw' | 'lib';
  /** idle / login-storm connections. Default {@link DEFAULT_CONNECTIONS}. */
  connections: number;
  /** idle: intermediate connection counts to sample at (the last step is `connections`). Default none. */
  steps: number[];
  /** Default {@link DEFAULT_SETTLE_S}. */
  settleS: number;
  /** Default {@link DEFAULT_CHURN_PCT}. */
  churnPct: number;
  /** Default {@link DEFAULT_CHURN_INTERVAL_S}. */
  churnIntervalS: number;
  /** Default {@link DEFAULT_ACK_DELAY_MS}. */
  ackDelayMs: number;
  /** Default {@link DEFAULT_CATCHUP_S}. */
  catchupS: number;
  /** group: groups. Default {@link DEFAULT_GROUPS}. */
  groups: number;
  /** group: members per group. Default {@link DEFAULT_GROUP_SIZE}. */
  groupSize: number;
  /** group: senders per group. Default {@link DEFAULT_GROUP_SENDERS}. */
  groupSenders: number;
}

/** A bad option: the message names the flag and what it accepts. */
export class OptionError extends Error {
  constructor(readonly field: string, what: string) {
    super(`--${field}: ${what}`);
    this.name = 'OptionError';
  }
}

/** Parses "host:port[,host:port...]" and refuses anything that is not loopback. */
export function parseServers(text: string): ServerAddr[] {
  const out: ServerAddr[] = [];
  for (const part of text.split(',').map((s) => s.trim()).filter((s) => s.length > 0)) {
    const m = /^\[([^\]]+)\]:(\d+)$/.exec(part) ?? /^([^:\s]+):(\d+)$/.exec(part);
    if (!m) throw new OptionError('servers', `"${part}" is not host:port`);
    const port = Number(m[2]);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new OptionError('servers', `port ${m[2]} is not 1-65535`);
    if (!isLoopback(m[1]!)) {
      throw new OptionError('servers', `${m[1]} is not a loopback address: the load tool only sends to this machine (127.0.0.0/8, ::1, localhost)`);
    }
    out.push({ host: m[1]!, port });
  }
  if (out.length === 0) throw new OptionError('servers', 'give at least one host:port');
  return out;
}

/** Sockets a run needs at once (chat: a sender and a receiver per pair; group: every member). */
export function socketsNeeded(o: Pick<LoadOptions, 'scenario' | 'pairs' | 'connections' | 'groups' | 'groupSize'>): number {
  if (o.scenario === 'group') return o.groups * o.groupSize;
  return o.scenario === 'idle' || o.scenario === 'login-storm' ? o.connections : 2 * o.pairs;
}

/** Worker processes for `sockets`: the explicit count (checked), or as many as the fd limit needs. */
export function workersFor(sockets: number, explicit: number): number {
  const needed = Math.max(1, Math.ceil(sockets / MAX_SOCKETS_PER_WORKER));
  if (explicit === 0) return needed;
  if (explicit < needed) {
    throw new OptionError('workers', `${explicit} worker(s) cannot hold ${sockets} sockets (at most ${MAX_SOCKETS_PER_WORKER} each): use ${needed} or more, or leave it out`);
  }
  return explicit;
}

/** The [start, end) share of `total` items that worker `w` of `count` gets (as even as possible). */
export function sliceOf(total: number, count: number, w: number): { start: number; end: number } {
  const base = Math.floor(total / count);
  const extra = total % count;
  const start = w * base + Math.min(w, extra);
  return { start, end: start + base + (w < extra ? 1 : 0) };
}

/** A run id from the clock: distinct for runs started a second apart, fits in 32 bits. */
export function defaultRunId(nowMs = Date.now()): number {
  return Math.floor(nowMs / 1000) % 1_000_000_000;
}

/** Open-mode user id base for a run: 10^10 + (run mod 10^5) × 10^5, so runs do not share users. */
export function defaultUserBase(runId: number): number {
  return 10_000_000_000 + (runId % 100_000) * 100_000;
}

type Input = Partial<Record<keyof LoadOptions, unknown>> & { scenario: string };

/** Validates raw option values (strings from the command line, or typed values) and fills defaults. */
export function parseOptions(input: Input): LoadOptions {
  if (!(SCENARIOS as readonly string[]).includes(input.scenario)) {
    throw new OptionError('scenario', `"${input.scenario}" is not one of ${SCENARIOS.join(', ')}`);
  }
  const scenario = input.scenario as ScenarioName;
  const soak = scenario === 'soak';
  const group = scenario === 'group';
  const runId = int(input, 'runId', 'run-id', defaultRunId(), 1, 4_294_967_295);
  const o: LoadOptions = {
    scenario,
    label: str(input, 'label', scenario),
    servers: parseServers(str(input, 'servers', DEFAULT_SERVERS)),
    durationS: num(input, 'durationS', 'duration', soak ? DEFAULT_SOAK_DURATION_S : DEFAULT_DURATION_S, 0.1, 86_400),
    warmupS: num(input, 'warmupS', 'warmup', DEFAULT_WARMUP_S, 0, 3600),
    drainS: num(input, 'drainS', 'drain-timeout', DEFAULT_DRAIN_S, 0, 3600),
    maxMessages: int(input, 'maxMessages', 'max-messages', 0, 0, 1e12),
    workers: int(input, 'workers', 'workers', 0, 0, 64),
    sourceAddrs: addrs(input),
    auth: oneOf(input, 'auth', 'auth', ['open', 'password'] as const, 'open'),
    password: str(input, 'password', DEFAULT_PASSWORD),
    serverPids: pids(input, 'serverPids', 'server-pid'),
    servicePids: pids(input, 'servicePids', 'service-pid'),
    outDir: str(input, 'outDir', ''),
    tls: bool(input, 'tls', false),
    runId,
    userBase: int(input, 'userBase', 'user-base', defaultUserBase(runId), 1, 2 ** 52),
    bodyBytes: int(input, 'bodyBytes', 'body-bytes', DEFAULT_BODY_BYTES, MIN_BODY_BYTES, 60_000),
    heartbeatMs: int(input, 'heartbeatMs', 'heartbeat-ms', 0, 0, 3_600_000),
    concurrency: int(input, 'concurrency', 'concurrency', DEFAULT_CONCURRENCY, 1, 10_000),
    progress: bool(input, 'progress', true),
    pairs: int(input, 'pairs', 'pairs', DEFAULT_PAIRS, 1, 200_000),
    mode: oneOf(input, 'mode', 'mode', ['open', 'closed'] as const, 'open'),
    rate: num(input, 'rate', 'rate', soak ? DEFAULT_SOAK_RATE : group ? DEFAULT_GROUP_RATE : DEFAULT_RATE, 0.001, 10_000_000),
    window: int(input, 'window', 'window', DEFAULT_WINDOW, 1, 100_000),
    client: oneOf(input, 'client', 'client', ['raw', 'lib'] as const, 'raw'),
    connections: int(input, 'connections', 'connections', DEFAULT_CONNECTIONS, 1, 1_000_000),
    steps: steps(input),
    settleS: num(input, 'settleS', 'settle', DEFAULT_SETTLE_S, 0, 3600),
    churnPct: num(input, 'churnPct', 'churn', DEFAULT_CHURN_PCT, 0, 100),
    churnIntervalS: num(input, 'churnIntervalS', 'churn-interval', DEFAULT_CHURN_INTERVAL_S, 0.1, 3600),
    ackDelayMs: int(input, 'ackDelayMs', 'ack-delay-ms', DEFAULT_ACK_DELAY_MS, 1, 60_000),
    catchupS: num(input, 'catchupS', 'catchup-timeout', DEFAULT_CATCHUP_S, 1, 3600),
    groups: int(input, 'groups', 'groups', DEFAULT_GROUPS, 1, 100_000),
    groupSize: int(input, 'groupSize', 'group-size', DEFAULT_GROUP_SIZE, 2, MAX_GROUP_SIZE),
    groupSenders: int(input, 'groupSenders', 'group-senders', DEFAULT_GROUP_SENDERS, 1, MAX_GROUP_SIZE),
  };
  if (o.password.length < 6) throw new OptionError('password', 'must be at least 6 characters (the server refuses shorter ones)');
  if (o.scenario === 'cross' && o.servers.length < 2) {
    throw new OptionError('servers', 'cross needs at least two servers (sender and receiver on different instances)');
  }
  if (o.client === 'lib' && o.scenario !== 'chat' && o.scenario !== 'cross') {
    throw new OptionError('client', '"lib" is only for chat and cross (soak drops sockets, which ImClient does not expose)');
  }
  if (o.groupSenders > o.groupSize) throw new OptionError('group-senders', `must be at most --group-size (${o.groupSize})`);
  if (o.steps.some((s) => s >= o.connections)) throw new OptionError('steps', `every step must be below --connections (${o.connections})`);
  if (o.userBase + Math.max(2 * o.pairs, 2 * o.connections, o.groups * o.groupSize) > Number.MAX_SAFE_INTEGER) throw new OptionError('user-base', 'too large');
  return o;
}

// ------------------------------------------------------------------ field parsers

function raw(input: Input, key: keyof LoadOptions): unknown {
  const v = input[key];
  return v === undefined || v === null || v === '' ? undefined : v;
}

function str(input: Input, key: keyof LoadOptions, dflt: string): string {
  const v = raw(input, key);
  return v === undefined ? dflt : String(v);
}

function num(input: Input, key: keyof LoadOptions, flag: string, dflt: number, min: number, max: number): number {
  const v = raw(input, key);
  if (v === undefined) return dflt;
  const n = typeof v === 'number' ? v : Number(String(v).trim());
  if (!Number.isFinite(n) || n < min || n > max) throw new OptionError(flag, `"${String(v)}" is not a number from ${min} to ${max}`);
  return n;
}

function int(input: Input, key: keyof LoadOptions, flag: string, dflt: number, min: number, max: number): number {
  const n = num(input, key, flag, dflt, min, max);
  if (!Number.isInteger(n)) throw new OptionError(flag, `"${String(input[key])}" is not a whole number`);
  return n;
}

function bool(input: Input, key: keyof LoadOptions, dflt: boolean): boolean {
  const v = raw(input, key);
  if (v === undefined) return dflt;
  return v === true || v === 'true' || v === '1';
}

function oneOf<T extends string>(input: Input, key: keyof LoadOptions, flag: string, allowed: readonly T[], dflt: T): T {
  const v = raw(input, key);
  if (v === undefined) return dflt;
  if (!(allowed as readonly string[]).includes(String(v))) throw new OptionError(flag, `"${String(v)}" is not one of ${allowed.join(', ')}`);
  return String(v) as T;
}

function addrs(input: Input): string[] {
  const v = raw(input, 'sourceAddrs');
  if (Array.isArray(v)) return parseSourceAddrs(v.join(','));
  try {
    return parseSourceAddrs(v === undefined ? DEFAULT_SOURCE_ADDRS : String(v));
  } catch (err) {
    throw new OptionError('source-addrs', (err as Error).message);
  }
}

function pids(input: Input, key: keyof LoadOptions, flag: string): number[] {
  const v = raw(input, key);
  if (v === undefined) return [];
  const parts = Array.isArray(v) ? v.map(String) : String(v).split(',');
  return parts.map((p) => p.trim()).filter((p) => p.length > 0).map((p) => {
    const n = Number(p);
    if (!Number.isInteger(n) || n <= 0) throw new OptionError(flag, `"${p}" is not a process id`);
    return n;
  });
}

function steps(input: Input): number[] {
  const v = raw(input, 'steps');
  if (v === undefined) return [];
  const parts = Array.isArray(v) ? v.map(String) : String(v).split(',');
  const out = parts.map((p) => p.trim()).filter((p) => p.length > 0).map((p) => {
    const n = Number(p);
    if (!Number.isInteger(n) || n <= 0) throw new OptionError('steps', `"${p}" is not a positive connection count`);
    return n;
  });
  for (let i = 1; i < out.length; i++) if (out[i]! <= out[i - 1]!) throw new OptionError('steps', 'must increase');
  return out;
}
