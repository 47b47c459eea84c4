/**
 * `im-client chat` processes with piped stdin, for tests that drive the CLI as a user does. They
 * follow HXIM_TEST_TLS like the other helpers: with it set, they connect with --tls and trust the
 * test CA (spawn the server with `{ tls: testTls() }`).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TEST_TLS, testTls } from './tls';

const CLIENT_CLI = path.join(path.dirname(require.resolve('@hxim/im-client')), 'cli.js');

/** One running CLI session. */
export interface Cli {
  child: ChildProcessWithoutNullStreams;
  /** Everything it printed so far (stdout and stderr). */
  out: () => string;
  /** Writes one line to stdin. */
  say(line: string): void;
  /** Waits until the output matches `re`; fails with the output when it does not in `ms`. */
  see(re: RegExp, what: string, ms?: number): Promise<void>;
}

/** Starts `im-client chat --server 127.0.0.1:<port> --user <user>` (password "secret-pw"), in a HOME of its own. */
export function startCli(port: number, user: string): Cli {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'hxim-cli-'));
  const tls = testTls() ? ['--tls', '--ca', TEST_TLS.ca] : [];
  const child = spawn(process.execPath, [CLIENT_CLI, 'chat', '--server', `127.0.0.1:${port}`, '--user', user, ...tls],
    { env: { ...process.env, HOME: home, HXIM_PASSWORD: 'secret-pw' }, stdio: 'pipe' });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
  child.on('exit', () => fs.rmSync(home, { recursive: true, force: true }));
  return {
    child,
    out: () => out,
    say: (line) => child.stdin.write(`${line}\n`),
    async see(re, what, ms = 8000) {
      const deadline = Date.now() + ms;
      while (!re.test(out)) {
        if (Date.now() > deadline) throw new Error(`${user}: no ${what} within ${ms} ms; output:\n${out}`);
        if (child.exitCode !== null) throw new Error(`${user}: the CLI exited (${child.exitCode}) before ${what}; output:\n${out}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
}

/** Ends every session's stdin (the CLI then logs out) and asserts each exits with 0. */
export async function endAll(clis: readonly Cli[]): Promise<void> {
  for (const c of clis) c.child.stdin.end();
  for (const c of clis) {
    const code = await new Promise<number | null>((r) => (c.child.exitCode !== null ? r(c.child.exitCode) : c.child.on('exit', r)));
    assert.equal(code, 0, c.out());
  }
}
