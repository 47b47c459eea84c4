/**
 * Starts a real im-server for the integration tests: `--port 0` on 127.0.0.1, a temp data dir,
 * and the port read back from its "listening on" line. A missing build is a failure with a clear
 * message, never a skip.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** The compiled server CLI. */
export const SERVER_CLI = path.resolve(__dirname, '..', '..', '..', '..', 'im-server', 'dist', 'src', 'cli.js');

/** A running server. */
export interface RunningServer {
  port: number;
  pid: number;
  dataDir: string;
  /** stderr so far (for failure messages). */
  log(): string;
  /** SIGTERM, then SIGKILL after 5 s; removes the data dir. */
  stop(): Promise<void>;
}

/** Starts `im-server start --port 0 ...extra` and resolves once it listens. */
export async function startServer(extra: string[], timeoutMs = 20_000): Promise<RunningServer> {
  if (!fs.existsSync(SERVER_CLI)) throw new Error(`${SERVER_CLI} is missing: build the server first (npx tsc -b)`);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lt-smoke-'));
  const child: ChildProcess = spawn(process.execPath,
    [SERVER_CLI, 'start', '--host', '127.0.0.1', '--port', '0', '--data-dir', dataDir, '--log-level', 'warn', ...extra],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not listen within ${timeoutMs} ms:\n${log}`)), timeoutMs);
    child.stderr!.on('data', (d: Buffer) => {
      log += d.toString();
      const m = /listening on [^\s]*:(\d+)/.exec(log);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`the server exited (code ${code}) before listening:\n${log}`)); });
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    port, pid: child.pid!, dataDir, log: () => log,
    async stop() {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
