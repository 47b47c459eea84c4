/**
 * Shared plumbing of the cluster end-to-end tests, against the real MariaDB, Redis and RabbitMQ.
 *
 * Isolation: each test file builds one {@link TestCluster}, which owns a MySQL database, a Redis
 * and RabbitMQ namespace and instance ids that no other file uses, and removes all of them at
 * the end, so files can run concurrently. A missing service fails loudly (after a short grace,
 * because a fault test in another file may be restarting it); nothing is ever skipped.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import * as mysql from 'mysql2/promise';
import { openStore } from '@hxim/business';
import { ImClient, isAuthError, ServerError, type ClientOptions, type ServerAddress } from '@hxim/im-client';
import { startServer, type ImServer, type ServerDeps, type ServerOptions } from '../../../src';
import { ClusterKeys } from '../../../src/cluster';
import { freePort, kill, SERVER_CLI } from '../../helpers/process';
import { sleep } from '../../cluster/helpers';
import {
  AMQP_URL, cleanupRabbit, cleanupRedis, rabbitmqctl, REDIS_URL, requireRabbit, requireRedis, run,
} from '../cluster/services';
import type { Ledger } from './ledger';

export { sleep, waitFor, within } from '../../cluster/helpers';
export { AMQP_URL, REDIS_URL, adminRedis, rabbitmqctl } from '../cluster/services';

/** MariaDB server under test (HXIM_TEST_MYSQL_URL), without a database: each file adds its own. */
export const MYSQL_SERVER_URL = ((): string => {
  const u = new URL(process.env.HXIM_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306');
  return `${u.protocol}//${u.username ? `${u.username}${u.password ? `:${u.password}` : ''}@` : ''}${u.host}`;
})();

/** Client options for tests: quick reconnects and quick dead-peer detection. */
export const FAST: Partial<ClientOptions> = { reconnectDelay: () => 100, heartbeatMs: 1000, idleTimeoutMs: 5000 };

const PASSWORD = 'secret-pw';

/** Every client {@link online} made; {@link TestCluster.cleanup} closes them, even after a failure. */
const openClients = new Set<ImClient>();
/** Every running {@link Traffic}; cleanup stops them, even after a failure. */
const running = new Set<Traffic>();

async function requireMysql(): Promise<void> {
  const c = await mysql.createConnection({ uri: MYSQL_SERVER_URL, connectTimeout: 3000 }).catch((err: Error) => {
    throw new Error(`MariaDB is not reachable at ${MYSQL_SERVER_URL} (${err.message}). Start it with ` +
      '`bash scripts/services.sh mariadb` or set HXIM_TEST_MYSQL_URL. These tests are never skipped.');
  });
  await c.end();
}

/**
 * Fails (never skips) unless MariaDB, Redis and RabbitMQ answer. Retries for `graceMs` first: a
 * fault test in another file may be restarting Redis or RabbitMQ at this moment.
 */
export async function requireServices(graceMs = 30_000): Promise<void> {
  const deadline = Date.now() + graceMs;
  for (const check of [requireMysql, requireRedis, requireRabbit]) {
    for (;;) {
      try {
        await check();
        break;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await sleep(500);
      }
    }
  }
}

/**
 * Retries `fn` until it resolves, for at most `ms`; then throws an error naming `what`, with the
 * last failure as its cause. A failure for which `stop` returns true is not retried.
 */
export async function retrying<T>(what: string, ms: number, fn: () => Promise<T>,
  stop: (err: unknown) => boolean = () => false): Promise<T> {
  const deadline = Date.now() + ms;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (stop(err) || Date.now() > deadline) {
        throw new Error(`${what} failed after ${attempt} attempt(s): ${describeError(err)}`, { cause: err });
      }
      await sleep(Math.min(1000, 100 * attempt));
    }
  }
}

/** A server process started from the compiled CLI. */
export interface Spawned {
  id: string;
  port: number;
  address: ServerAddress;
  child: ChildProcess;
  /** stdout + stderr of the process. */
  logFile: string;
  /** The last lines of its log (for failure messages). */
  tail(lines?: number): string;
  /** Set by {@link TestCluster.kill9}; any other exit before cleanup is reported as a crash. */
  killed: boolean;
}

/** Everything one test file owns: database, namespace, instance ids, servers and processes. */
export class TestCluster {
  readonly namespace: string;
  readonly database: string;
  readonly mysqlUrl: string;
  readonly keys: ClusterKeys;
  readonly instanceIds = new Set<string>();
  readonly servers: ImServer[] = [];
  readonly procs: Spawned[] = [];
  readonly logDir: string;
  /** Health changes of the in-process instances' backends: an outage some other file caused. */
  outages = 0;
  /** Keep the spawned instances' logs after cleanup (set when a test fails). */
  keepLogs = !!process.env.HXIM_TEST_KEEP_LOGS;
  private readonly down = new Set<string>();

  constructor(tag: string) {
    const rand = randomBytes(3).toString('hex');
    this.namespace = `hxe_${tag}_${process.pid}_${rand}`.slice(0, 32);
    this.database = `hxim_c_${process.pid}_${rand}`;
    this.mysqlUrl = `${MYSQL_SERVER_URL}/${this.database}`;
    this.keys = new ClusterKeys(this.namespace);
    this.logDir = fs.mkdtempSync(path.join(os.tmpdir(), `hxim-e2e-${tag}-`));
  }

  /** Checks the services, creates the database and applies the schema once (instances then start in parallel). */
  async prepare(): Promise<void> {
    await requireServices();
    const store = await openStore({ kind: 'mysql', url: this.mysqlUrl });
    await store.close();
  }

  /** A unique instance id. */
  id(label: string): string {
    const id = `${this.namespace}-${label}`;
    this.instanceIds.add(id);
    return id;
  }

  /** True while some in-process instance reports a backend down. */
  get degraded(): boolean {
    return this.down.size > 0;
  }

  /**
   * Starts an in-process instance in cluster mode. Start-up is retried for 40 s, because another
   * test file may be restarting Redis or RabbitMQ.
   */
  async startInstance(label: string, over: Partial<ServerOptions> = {}, deps: ServerDeps = {}): Promise<ImServer> {
    const instanceId = this.id(label);
    const opts: Partial<ServerOptions> = {
      host: '127.0.0.1', port: 0, instanceId, cluster: 'redis-rabbit', store: 'mysql', mysqlUrl: this.mysqlUrl,
      redisUrl: REDIS_URL, amqpUrl: AMQP_URL, namespace: this.namespace, scryptLogN: 10, presenceTtlMs: 10_000,
      logLevel: 'silent', strangerPolicy: 'anyone', ...over,
    };
    const logger = pino({ level: process.env.HXIM_TEST_LOG ?? 'silent' });
    const srv = await retrying(`starting ${instanceId}`, 40_000, async () => startServer(opts, { logger, ...deps }));
    this.servers.push(srv);
    for (const [name, src] of [['bus', srv.bus], ['presence', srv.presence]] as const) {
      src.onHealth((h) => {
        const key = `${instanceId}/${name}`;
        if (h === 'down') {
          this.outages++;
          this.down.add(key);
        } else {
          this.down.delete(key);
        }
      });
    }
    return srv;
  }

  /** Starts `im-server start` in cluster mode as a child process; resolves once it listens. */
  async spawnInstance(label: string, flags: string[] = []): Promise<Spawned> {
    const id = this.id(label);
    const port = await freePort();
    const logFile = path.join(this.logDir, `${id}.log`);
    const out = fs.openSync(logFile, 'a');
    const child = spawn(process.execPath, [SERVER_CLI, 'start', '--host', '127.0.0.1', '--port', String(port),
      '--instance-id', id, '--cluster', 'redis-rabbit', '--store', 'mysql', '--mysql-url', this.mysqlUrl,
      '--redis-url', REDIS_URL, '--amqp-url', AMQP_URL, '--namespace', this.namespace, '--scrypt-log-n', '10',
      '--log-level', 'warn', '--stranger-policy', 'anyone', ...flags], { stdio: ['ignore', out, out] });
    fs.closeSync(out);
    const tail = (lines = 30): string => fs.readFileSync(logFile, 'utf8').split('\n').slice(-lines).join('\n');
    const p: Spawned = { id, port, address: { host: '127.0.0.1', port }, child, logFile, tail, killed: false };
    this.procs.push(p);
    const deadline = Date.now() + 40_000;
    while (!fs.readFileSync(logFile, 'utf8').includes('listening on')) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${id} exited during start-up:\n${tail()}`);
      if (Date.now() > deadline) throw new Error(`${id} did not listen within 40 s:\n${tail()}`);
      await sleep(50);
    }
    return p;
  }

  /** Wraps a test body: when it fails, the instances' logs are kept and the error says where. */
  keepLogsOnFailure<A extends unknown[]>(body: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
    return async (...args: A) => {
      try {
        await body(...args);
      } catch (err) {
        this.keepLogs = true;
        if (err instanceof Error && this.procs.length > 0) err.message += `\n(instance logs kept in ${this.logDir})`;
        throw err;
      }
    };
  }

  /** kill -9 of a spawned instance; resolves once it is gone. */
  async kill9(p: Spawned): Promise<void> {
    p.killed = true;
    await kill(p.child, 'SIGKILL');
  }

  /**
   * Stops the traffic, closes the clients, stops every instance and process. Throws if a spawned
   * instance had crashed (exited without {@link kill9}), with the end of its log.
   */
  async stopAll(): Promise<void> {
    for (const t of running) t.stop();
    for (const c of openClients) c.close();
    openClients.clear();
    const servers = this.servers.splice(0);
    const procs = this.procs.splice(0);
    await Promise.allSettled(servers.map((s) => s.stop()));
    const crashed = procs.filter((p) => !p.killed && (p.child.exitCode !== null || p.child.signalCode !== null));
    await Promise.allSettled(procs.map((p) => kill(p.child, 'SIGKILL')));
    if (crashed.length > 0) {
      throw new Error(crashed.map((p) => `${p.id} exited by itself (code ${p.child.exitCode}, signal ` +
        `${p.child.signalCode}); logs in ${this.logDir}:\n${p.tail(15)}`).join('\n'));
    }
  }

  /**
   * {@link stopAll}, then drops the database and every key, queue and exchange of the namespace.
   * Throws (keeping the logs) if anything failed.
   */
  async cleanup(): Promise<void> {
    const errors: unknown[] = [];
    await this.stopAll().catch((e: unknown) => errors.push(e));
    await retrying('dropping the test database', 20_000, async () => {
      const c = await mysql.createConnection({ uri: MYSQL_SERVER_URL, connectTimeout: 3000 });
      try {
        await c.query(`DROP DATABASE IF EXISTS \`${this.database}\``);
      } finally {
        await c.end();
      }
    }).catch((e: unknown) => errors.push(e));
    await retrying('cleaning Redis', 20_000, () => cleanupRedis(this.keys)).catch((e: unknown) => errors.push(e));
    await retrying('cleaning RabbitMQ', 20_000, () => cleanupRabbit(this.keys, this.instanceIds)).catch((e: unknown) => errors.push(e));
    if (errors.length > 0) {
      throw new AggregateError(errors, `cleanup of ${this.namespace} failed (logs kept in ${this.logDir}): ` +
        errors.map((e) => describeError(e)).join('; '));
    }
    // HXIM_TEST_KEEP_LOGS=1 keeps the spawned instances' logs of a passing run too.
    if (!this.keepLogs) fs.rmSync(this.logDir, { recursive: true, force: true });
  }
}

/** An error's message, with its cause chain and any aggregated errors (AggregateError's own message may be empty). */
function describeError(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  let text = e.message || e.name;
  if (e instanceof AggregateError) text += ` [${e.errors.map(describeError).join(', ')}]`;
  if (e.cause) text += ` (cause: ${describeError(e.cause)})`;
  return text;
}

/** The address of an in-process instance. */
export function addr(srv: ImServer): ServerAddress {
  return { host: '127.0.0.1', port: srv.port };
}

/** A unique user name. */
export function uname(tag: string): string {
  return `${tag}_${process.pid}_${randomBytes(3).toString('hex')}`;
}

/** Registers an account (retried briefly); resolves with its user id. */
export async function registerUser(server: ServerAddress, name: string): Promise<number> {
  return (await retrying(`registering ${name}`, 20_000, () => ImClient.register(server, name, PASSWORD))).userId;
}

/** A connected user of a test. */
export interface User {
  name: string;
  id: number;
  client: ImClient;
}

/**
 * Creates a client for `name` on `servers` (the first is tried first; reconnects fail over to the
 * next), records its messages in `ledger`, and connects. The first connect is retried for 30 s
 * (a login needs Redis, which a fault test elsewhere may be restarting); a refused login is not.
 */
export async function online(ledger: Ledger | null, servers: ServerAddress[], name: string, id: number,
  over: Partial<ClientOptions> = {}): Promise<User> {
  const client = new ImClient({ servers, auth: { userName: name, password: PASSWORD }, ...FAST, ...over });
  client.on('error', () => undefined);
  openClients.add(client);
  if (ledger) ledger.watch(client, id);
  await retrying(`logging in ${name}`, 30_000, () => client.connect(),
    (err) => isAuthError(err as Error) || (err instanceof ServerError && err.code === 'SESSION_REPLACED'));
  return { name, id, client };
}

/** Paced sends: every `everyMs`, each pair sends its next message. */
export class Traffic {
  private timer: NodeJS.Timeout | null = null;
  private n = 0;

  constructor(private readonly ledger: Ledger, private readonly pairs: ReadonlyArray<[User, User]>,
    private readonly tag: string, private readonly everyMs = 20) {}

  /** Starts sending. */
  start(): void {
    this.timer ??= setInterval(() => this.tick(), this.everyMs);
    running.add(this);
  }

  /** Sends one round now. */
  tick(): void {
    this.n++;
    for (const [a, b] of this.pairs) this.ledger.send(a.client, a.id, b.id, `${this.tag}:${a.id}>${b.id}:${this.n}`);
  }

  /** Stops sending. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    running.delete(this);
  }

  /** Rounds sent. */
  get rounds(): number {
    return this.n;
  }
}

// ------------------------------------------------------------------ service faults (faults.test.ts)

/** Throws unless the services under test are the local ones this file may stop and start. */
export function requireLocalServices(): void {
  const r = new URL(REDIS_URL);
  const a = new URL(AMQP_URL);
  if (r.hostname !== '127.0.0.1' || (r.port || '6379') !== '6379' || a.hostname !== '127.0.0.1' || (a.port || '5672') !== '5672') {
    throw new Error(`the fault tests restart the local Redis (127.0.0.1:6379) and RabbitMQ (127.0.0.1:5672); ` +
      `HXIM_TEST_REDIS_URL/HXIM_TEST_AMQP_URL point elsewhere (${REDIS_URL}, ${AMQP_URL})`);
  }
}

function asRoot(cmd: string, args: string[], timeoutMs: number): Promise<string> {
  return process.getuid?.() === 0 ? run(cmd, args, timeoutMs) : run('sudo', ['-n', cmd, ...args], timeoutMs);
}

/** Resolves once Redis answers PING (bounded). */
export async function waitRedisUp(timeoutMs = 30_000): Promise<void> {
  await retrying('waiting for Redis', timeoutMs, () => requireRedis());
}

/** Resolves once RabbitMQ accepts an AMQP connection (bounded). */
export async function waitRabbitUp(timeoutMs = 60_000): Promise<void> {
  await retrying('waiting for RabbitMQ', timeoutMs, () => requireRabbit());
}

/** `redis-cli -p 6379 shutdown nosave` (Redis keeps nothing: every key is gone). */
export async function redisShutdown(): Promise<void> {
  await run('redis-cli', ['-p', '6379', 'shutdown', 'nosave'], 10_000).catch((err: Error) => {
    // redis-cli reports the dropped connection of a successful shutdown on some versions.
    if (!/connection|closed|refused/i.test(err.message)) throw err;
  });
}

/** Starts Redis exactly as scripts/services.sh does, and waits until it answers. */
export async function redisStart(): Promise<void> {
  await asRoot('redis-server', ['--daemonize', 'yes', '--bind', '127.0.0.1', '-::1', '--port', '6379', '--save', '',
    '--appendonly', 'no', '--dir', '/var/lib/redis', '--logfile', '/var/log/redis/ci.log'], 15_000);
  await waitRedisUp();
}

/** Starts Redis if it does not answer (the `finally` of a fault test). */
export async function ensureRedis(): Promise<void> {
  if (await requireRedis().then(() => true, () => false)) return;
  await redisStart();
}

/** Starts the RabbitMQ app if it is stopped, and waits until it accepts connections. */
export async function ensureRabbit(): Promise<void> {
  if (await requireRabbit().then(() => true, () => false)) return;
  await rabbitmqctl(['start_app'], 60_000).catch(() => undefined);
  await waitRabbitUp();
}
