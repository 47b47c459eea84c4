/**
 * Runs the real server CLI as a child process, for tests that kill it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';
import { TEST_TLS } from './tls';

/** Path of the compiled server CLI. */
export const SERVER_CLI = path.resolve(__dirname, '..', '..', 'src', 'cli.js');

/** A free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** Extra settings of {@link spawnServer}. */
export interface SpawnOptions {
  /** Pipe the server's stdout (its JSON log) instead of discarding it: read child.stdout. */
  stdout?: boolean;
  /** Extra environment variables (e.g. HXIM_* options). */
  env?: NodeJS.ProcessEnv;
  /**
   * Serve TLS with the test certificate (helpers/tls.ts). Pass `testTls()` to follow
   * HXIM_TEST_TLS like RawClient does; the default is plain TCP, for tests whose clients do not
   * follow it.
   */
  tls?: boolean;
}

/** A spawned server; `startupLog` is what it wrote to stderr up to "listening on". */
export type SpawnedServer = ChildProcess & { startupLog: string };

/** Starts `im-server start` with the given flags; resolves once it listens. */
export async function spawnServer(flags: string[], timeoutMs = 15_000, opts: SpawnOptions = {}): Promise<SpawnedServer> {
  const tlsFlags = opts.tls && !flags.includes('--tls-cert') ? ['--tls-cert', TEST_TLS.cert, '--tls-key', TEST_TLS.key] : [];
  const child = spawn(process.execPath, [SERVER_CLI, 'start', ...flags, ...tlsFlags], {
    stdio: ['ignore', opts.stdout ? 'pipe' : 'ignore', 'pipe'],
    // Strangers may chat unless a test says otherwise (a --stranger-policy flag wins over this):
    // most tests are not about friendship; the production default is "friends".
    env: { HXIM_STRANGER_POLICY: 'anyone', ...process.env, ...opts.env },
  });
  let err = '';
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`server did not start in ${timeoutMs} ms: ${err}`)), timeoutMs);
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('listening on')) { clearTimeout(t); resolve(); }
    });
    child.once('exit', (code) => { clearTimeout(t); reject(new Error(`server exited with ${code}: ${err}`)); });
  });
  child.removeAllListeners('exit');
  return Object.assign(child, { startupLog: err });
}

/** Kills a child with a signal and waits for it to exit. */
export function kill(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
    child.once('exit', (code) => resolve(code));
    child.kill(signal);
  });
}
