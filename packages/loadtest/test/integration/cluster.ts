/**
 * Two (or more) im-server instances in cluster mode on the real services for the cluster smoke
 * runs: MySQL store in a database of their own, Redis presence and RabbitMQ bus under a namespace
 * nobody else uses, unique instance ids. A missing service is a loud failure (the database cannot
 * be created, or an instance does not start), never a skip. stop() removes the database, the
 * namespace's Redis keys, and the instances' RabbitMQ queues and exchange.
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { startServer, type RunningServer } from './server';

/**
 * im-server's compiled cluster test plumbing (the server is built before the tests): its key
 * module names every Redis key, queue and exchange, and its helpers delete them.
 */
type Keys = object;
const IM_SERVER_DIST = path.resolve(__dirname, '..', '..', '..', '..', 'im-server', 'dist');
const { ClusterKeys } = require(path.join(IM_SERVER_DIST, 'src', 'cluster', 'keys.js')) as { ClusterKeys: new (prefix: string) => Keys };
const { cleanupRabbit, cleanupRedis } = require(path.join(IM_SERVER_DIST, 'test', 'integration', 'cluster', 'services.js')) as {
  cleanupRabbit(keys: Keys, instanceIds: Iterable<string>): Promise<void>;
  cleanupRedis(keys: Keys): Promise<void>;
};

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
    const keys = new ClusterKeys(ns);
    await cleanupRabbit(keys, ids);
    await cleanupRedis(keys);
    await run('mariadb', [`-h${MYSQL_HOST}`, '-uroot', '-e', `DROP DATABASE IF EXISTS ${db}`]);
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
