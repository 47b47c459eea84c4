/**
 * Config validation through the real CLI: a bad value (flag or HXIM_* variable), an unusable
 * TLS file or an unknown flag stops start-up with exit code 2 and a message naming the
 * option; good values start and stop cleanly (SIGTERM -> exit 0).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as http from 'node:http';
import { freePort, kill, SERVER_CLI, spawnServer } from './helpers/process';
import { tempDir } from './helpers/server';
import { TEST_TLS } from './helpers/tls';

/** Runs `im-server start ...` expecting it to exit by itself; resolves with code and stderr. */
function runToExit(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SERVER_CLI, 'start', '--port', '0', '--data-dir', tempDir('hxim-cli'), ...args],
      { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const t = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`did not exit: ${stderr}`)); }, 10_000);
    child.on('exit', (code) => { clearTimeout(t); resolve({ code, stderr }); });
  });
}

const BAD: Array<[string, string[], NodeJS.ProcessEnv, RegExp]> = [
  ['negative rate', ['--msg-rate', '-5'], {}, /option "msgRate" must be an integer from 0/],
  ['not a number', ['--max-frame-bytes', 'lots'], {}, /option "maxFrameBytes"/],
  ['out of range', ['--admin-port', '70000'], {}, /option "adminPort"/],
  ['bad enum', ['--log-level', 'loud'], {}, /option "logLevel" must be one of/],
  ['from the environment', [], { HXIM_CONNECT_RATE: 'fast' }, /option "connectRate"/],
  ['cert without key', ['--tls-cert', TEST_TLS.cert], {}, /"tlsCert" and "tlsKey" go together/],
  ['unreadable cert', ['--tls-cert', '/nonexistent/cert.pem', '--tls-key', TEST_TLS.key], {}, /option "tlsCert": cannot read/],
  ['a key that is not a key', ['--tls-cert', TEST_TLS.cert, '--tls-key', TEST_TLS.ca], {}, /"tlsCert"\/"tlsKey": not a usable/],
  ['inconsistent limits', ['--max-body-bytes', '100000', '--max-frame-bytes', '65536'], {}, /"maxBodyBytes" \(100000\) must not exceed "maxFrameBytes"/],
  ['unknown flag', ['--max-conections', '5'], {}, /unknown option '--max-conections'/],
  ['notice bound 0', ['--max-notices-per-user', '0'], {}, /option "maxNoticesPerUser" must be an integer from 1 to 100000/],
  ['notice bound from the environment', [], { HXIM_MAX_NOTICES_PER_USER: '1e9' }, /option "maxNoticesPerUser"/],
];

for (const [name, args, env, message] of BAD) {
  test(`bad config (${name}) exits 2 naming the option`, async () => {
    const r = await runToExit(args, env);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, message);
  });
}

test('start --help documents --max-notices-per-user with its default', async () => {
  const out = await new Promise<{ code: number | null; stdout: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [SERVER_CLI, 'start', '--help'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    const t = setTimeout(() => { child.kill('SIGKILL'); reject(new Error('--help did not exit')); }, 10_000);
    child.on('exit', (code) => { clearTimeout(t); resolve({ code, stdout }); });
  });
  assert.equal(out.code, 0);
  assert.match(out.stdout.replace(/\s+/g, ' '), /--max-notices-per-user <n> stored notifications .*oldest.*\(default 500\)/);
});

test('valid new flags start the server; the admin port answers; SIGTERM exits 0', async () => {
  const [port, admin] = [await freePort(), await freePort()];
  const child = await spawnServer(['--host', '127.0.0.1', '--port', String(port), '--data-dir', tempDir('hxim-cli'),
    '--msg-rate', '0', '--connect-rate', '100', '--connect-burst', '10', '--login-failures-per-account', '0',
    '--tls-cert', TEST_TLS.cert, '--tls-key', TEST_TLS.key, '--admin-port', String(admin), '--shutdown-grace-ms', '3000',
    '--max-notices-per-user', '50']);
  try {
    const body = await new Promise<string>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: admin, path: '/healthz' }, (res) => {
        let b = '';
        res.on('data', (d: Buffer) => { b += d.toString(); });
        res.on('end', () => resolve(b));
      }).on('error', reject);
    });
    assert.equal(JSON.parse(body).ready, true);
    assert.match(child.startupLog, new RegExp(`listening on 127\\.0\\.0\\.1:${port} \\(TLS\\).*admin http://127\\.0\\.0\\.1:${admin}/healthz`));
    assert.equal(await kill(child, 'SIGTERM'), 0);
  } finally {
    await kill(child);
  }
});

test('--admin-port off serves no HTTP, and the flag wins over HXIM_ADMIN_PORT', async () => {
  const port = await freePort();
  const child = await spawnServer(['--host', '127.0.0.1', '--port', String(port), '--data-dir', tempDir('hxim-cli'), '--admin-port', 'off'],
    15_000, { env: { HXIM_ADMIN_PORT: '0' } });
  try {
    assert.match(child.startupLog, /listening on/);
    assert.doesNotMatch(child.startupLog, /admin http/, 'no admin port was opened');
  } finally {
    assert.equal(await kill(child, 'SIGTERM'), 0);
  }
});
