/**
 * Real-service plumbing for the cluster integration tests: service URLs (overridable with
 * HXIM_TEST_REDIS_URL / HXIM_TEST_AMQP_URL), loud checks that the services answer (a missing
 * service FAILS the suite with a message saying what to start; it is never skipped), cleanup of
 * everything a run created, rabbitmqctl, and a TCP proxy that can cut or stall a connection.
 */
import { execFile } from 'node:child_process';
import * as net from 'node:net';
import * as amqp from 'amqplib';
import Redis from 'ioredis';
import { ClusterKeys } from '../../../src/cluster';

/** Redis under test. */
export const REDIS_URL = process.env.HXIM_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** RabbitMQ under test. */
export const AMQP_URL = process.env.HXIM_TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/** Throws a clear error unless Redis answers PING within 3 s. */
export async function requireRedis(): Promise<void> {
  const r = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 3_000, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  let cause = '';
  r.on('error', (err: Error) => {
    cause = err.message;
  });
  try {
    await r.connect();
    await r.ping();
  } catch (err) {
    throw new Error(`Redis is not reachable at ${REDIS_URL} (${cause || (err as Error).message}). ` +
      'Start it with `bash scripts/services.sh redis` or set HXIM_TEST_REDIS_URL. These tests are never skipped.');
  } finally {
    r.disconnect();
  }
}

/** Throws a clear error unless RabbitMQ accepts a connection within 5 s. */
export async function requireRabbit(): Promise<void> {
  try {
    const c = await amqp.connect(AMQP_URL, { timeout: 5_000 });
    await c.close();
  } catch (err) {
    throw new Error(`RabbitMQ is not reachable at ${AMQP_URL} (${(err as Error).message}). ` +
      'Start it with `bash scripts/services.sh rabbitmq` or set HXIM_TEST_AMQP_URL. These tests are never skipped.');
  }
}

/** A plain admin client for the test's own checks and cleanup. */
export function adminRedis(): Redis {
  const r = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, connectTimeout: 3_000 });
  r.on('error', () => {});
  return r;
}

/** Deletes every Redis key under the namespace of `keys`. */
export async function cleanupRedis(keys: ClusterKeys): Promise<void> {
  const r = adminRedis();
  try {
    let cursor = '0';
    do {
      const [next, found] = await r.scan(cursor, 'MATCH', keys.redisPattern(), 'COUNT', 1000);
      cursor = next;
      if (found.length > 0) await r.del(...found);
    } while (cursor !== '0');
  } finally {
    r.disconnect();
  }
}

/** Deletes the queues of `instanceIds` and the exchange of `keys`. */
export async function cleanupRabbit(keys: ClusterKeys, instanceIds: Iterable<string>): Promise<void> {
  const c = await amqp.connect(AMQP_URL, { timeout: 5_000 });
  try {
    const ch = await c.createChannel();
    for (const id of instanceIds) await ch.deleteQueue(keys.queue(id));
    await ch.deleteExchange(keys.exchange);
    await ch.close();
  } finally {
    await c.close().catch(() => {});
  }
}

/** Runs a command with a hard timeout; resolves with its stdout, rejects on failure. */
export function run(cmd: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')} failed: ${err.message} ${stderr}`));
      else resolve(stdout);
    });
  });
}

/** `rabbitmqctl <args>` bounded by `timeoutMs` (through `sudo -n` when not root, like services.sh). */
export function rabbitmqctl(args: string[], timeoutMs = 60_000): Promise<string> {
  if (process.getuid?.() === 0) return run('rabbitmqctl', args, timeoutMs);
  return run('sudo', ['-n', 'rabbitmqctl', ...args], timeoutMs);
}

/**
 * A TCP proxy in front of a service. 'forward' relays; 'refuse' closes the listener and every
 * relayed connection (the service looks down); 'stall' keeps connections open but relays
 * nothing (a hung service). Bytes are paused, not dropped, so a stream never desyncs.
 */
export class TcpProxy {
  private server: net.Server | null = null;
  private readonly pairs = new Set<[net.Socket, net.Socket]>();
  private held: [net.Socket, Buffer][] = [];
  private stalled = false;
  port = 0;

  constructor(private readonly host: string, private readonly targetPort: number) {}

  /** Relays again (flushing what a stall held back); listens on an ephemeral, then the same, port. */
  async forward(): Promise<void> {
    this.stalled = false;
    const held = this.held;
    this.held = [];
    for (const [to, chunk] of held) if (!to.destroyed) to.write(chunk);
    if (this.server) return;
    const server = net.createServer((client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  /** Closes the listener and every connection. */
  async refuse(): Promise<void> {
    const s = this.server;
    this.server = null;
    for (const [a, b] of this.pairs) {
      a.destroy();
      b.destroy();
    }
    this.pairs.clear();
    this.held = [];
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }

  /** Holds every byte on existing and new connections without closing them (a hung service). */
  stall(): void {
    this.stalled = true;
  }

  private accept(client: net.Socket): void {
    const upstream = net.connect(this.targetPort, this.host);
    const pair: [net.Socket, net.Socket] = [client, upstream];
    this.pairs.add(pair);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      this.pairs.delete(pair);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    const relay = (from: net.Socket, to: net.Socket): void => {
      from.on('data', (chunk: Buffer) => {
        if (this.stalled) this.held.push([to, chunk]);
        else to.write(chunk);
      });
    };
    relay(client, upstream);
    relay(upstream, client);
  }
}

/** host and port of a redis:// or amqp:// URL. */
export function hostPort(url: string, defPort: number): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname, port: u.port ? Number(u.port) : defPort };
}
