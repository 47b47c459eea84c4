/**
 * Two (or more) im-server instances in cluster mode on the real services for the cluster smoke
 * runs: MySQL store in a database of their own, Redis presence and RabbitMQ bus under a namespace
 * nobody else uses, unique instance ids. A missing service is a loud failure (the database cannot
 * be created, or an instance does not start), never a skip. stop() removes the database, the
 * namespace's Redis keys, and the instances' RabbitMQ queues and exchange.
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import * as amqp from 'amqplib';
import { startServer, type RunningServer } from './server';

/** im-server's one module of key and queue names (compiled; the server is built before the tests). */
interface ClusterKeysLike { exchange: string; queue(instanceId: string): string }
const { ClusterKeys } = require(path.resolve(__dirname, '..', '..', '..', '..', 'im-server', 'dist', 'src', 'cluster', 'keys.js')) as {
  ClusterKeys: new (prefix: string) => ClusterKeysLike;
};

/** Deletes the instances' queues and the namespace's exchange (they are durable). */
async function cleanupRabbit(ns: string, instanceIds: readonly string[]): Promise<void> {
  const keys = new ClusterKeys(ns);
  const c = await amqp.connect('amqp://guest:guest@127.0.0.1:5672', { timeout: 5_000 });
  try {
    const ch = await c.createChannel();
    for (const id of instanceIds) await ch.deleteQueue(keys.queue(id));
    await ch.deleteExchange(keys.exchange);
    await ch.close();
  } finally {
    await c.close().catch(() => undefined);
  }
}

/** MariaDB on loopback, as root without a password (the project's test services). */
export const MYSQL_HOST = '127.0.0.1';

function run(cmd: string, args: string[], timeoutMs = 20_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')} failed (is the service running? scripts/services.sh): ${err.message} ${stderr}`));
      else resolve(stdout);
    });
  });
}

/** Running instances and how to remove everything they own. */
export interface TestCluster {
  servers: RunningServer[];
  /** "127.0.0.1:p1,127.0.0.1:p2,...": the --servers of a load run. */
  addresses: string;
  stop(): Promise<void>;
}

/** Starts `n` instances sharing a fresh database and a fresh namespace. */
export async function startCluster(tag: string, n = 2): Promise<TestCluster> {
  const ns = `ltsmoke_${tag}_${process.pid}_${Date.now().toString(36)}`;
  const db = ns;
  await run('mariadb', [`-h${MYSQL_HOST}`, '-uroot', '-e', `CREATE DATABASE ${db}`]);
  const servers: RunningServer[] = [];
  const ids = Array.from({ length: n }, (_, k) => `${ns}-i${k}`);
  const stop = async (): Promise<void> => {
    await Promise.all(servers.map((s) => s.stop()));
    await cleanupRabbit(ns, ids);
    await run('mariadb', [`-h${MYSQL_HOST}`, '-uroot', '-e', `DROP DATABASE IF EXISTS ${db}`]);
    // Every key of a namespace starts with "<namespace>:" (im-server's ClusterKeys.redisPattern()).
    const keys = (await run('redis-cli', ['-h', '127.0.0.1', '--scan', '--pattern', `${ns}:*`])).split('\n').filter((k) => k.length > 0);
    for (let i = 0; i < keys.length; i += 500) await run('redis-cli', ['-h', '127.0.0.1', 'del', ...keys.slice(i, i + 500)]);
  };
  try {
    for (let k = 0; k < n; k++) {
      servers.push(await startServer(['--auth', 'open', '--store', 'mysql', '--mysql-url', `mysql://root@${MYSQL_HOST}:3306/${db}`,
        '--cluster', 'redis-rabbit', '--namespace', ns, '--instance-id', ids[k]!], 60_000));
    }
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
  return { servers, addresses: servers.map((s) => `127.0.0.1:${s.port}`).join(','), stop };
}
