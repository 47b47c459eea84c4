/**
 * The CLI as a user runs it: a child process with piped stdin against the fake server.
 */
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { MessageType } from '@hxim/im-common';
import { FakeServer, testTls } from './fake-server';
import { until } from './helpers';

const CLI = path.join(__dirname, '..', 'src', 'cli.js');

interface Run {
  child: ChildProcessWithoutNullStreams;
  out: () => string;
  err: () => string;
  exited: Promise<number | null>;
  /** The HOME the CLI ran with. */
  home: string;
}

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function run(args: string[], env: NodeJS.ProcessEnv = {}): Run {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'hxim-cli-'));
  const base: NodeJS.ProcessEnv = { ...process.env, HOME: home };
  delete base.HXIM_PASSWORD;
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...base, ...env }, stdio: 'pipe' });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  cleanups.push(() => { child.kill('SIGKILL'); fs.rmSync(home, { recursive: true, force: true }); });
  return { child, out: () => out, err: () => err, exited, home };
}

async function setup(): Promise<FakeServer> {
  const fake = await FakeServer.start();
  cleanups.push(() => fake.close());
  return fake;
}

async function exitCode(r: Run, ms = 5000): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([r.exited, new Promise<'timeout'>((res) => { timer = setTimeout(() => res('timeout'), ms); })]);
  clearTimeout(timer);
  assert.notEqual(code, 'timeout', `the CLI did not exit; stdout:\n${r.out()}\nstderr:\n${r.err()}`);
  return code as number | null;
}

describe('im-client chat', () => {
  it('sends "@2 hello", prints an incoming message, and quits with /quit', async () => {
    const fake = await setup();
    const r = run(['chat', '--server', `127.0.0.1:${fake.port}`, '--user-id', '1']);
    await until(() => r.out().includes('logged in as'), 5000, `login; stdout: ${r.out()} stderr: ${r.err()}`);

    r.child.stdin.write('@2 hello\n');
    const chat = await fake.waitFor((x) => x.frame.type === MessageType.CHAT, 5000, 'the chat from the CLI');
    const msg = chat.frame.msg as { receiveId: number; msgBody: Uint8Array };
    assert.equal(msg.receiveId, 2);
    assert.equal(Buffer.from(msg.msgBody).toString(), 'hello');

    fake.push(fake.storeChat(2, 1, 'hi there'), 1);
    await until(() => /\[\d\d:\d\d:\d\d\] 2 → you: hi there/.test(r.out()), 5000, `the incoming line; stdout: ${r.out()}`);

    r.child.stdin.write('/to 2\nplain line\n');
    await fake.waitFor((x) => x.frame.type === MessageType.CHAT && Buffer.from((x.frame.msg as { msgBody: Uint8Array }).msgBody).toString() === 'plain line', 5000, 'the /to line');

    r.child.stdin.write('/quit\n');
    assert.equal(await exitCode(r), 0);
    await fake.waitFor((x) => x.frame.type === MessageType.ONLINE && (x.frame.msg as { msgType: number }).msgType === 1, 2000, 'OFFLINE');
  });

  it('sends piped lines and exits at end of input after they are acked', async () => {
    const fake = await setup();
    const r = run(['chat', '--server', `127.0.0.1:${fake.port}`, '--user-id', '1']);
    r.child.stdin.end('@3 first\n@3 second\n');
    assert.equal(await exitCode(r), 0);
    const bodies = fake.framesOf(MessageType.CHAT).map((c) => Buffer.from(c.msgBody).toString());
    assert.deepEqual(bodies, ['first', 'second']);
  });

  it('prints hints for bad input and unknown commands', async () => {
    const fake = await setup();
    const r = run(['chat', '--server', `127.0.0.1:${fake.port}`, '--user-id', '1']);
    await until(() => r.out().includes('logged in as'), 5000, 'login');
    r.child.stdin.write('hello?\n/nope\n@x hi\n/help\n/who\n');
    await until(() => r.out().includes('— online on'), 5000, `/who; stdout: ${r.out()}`);
    assert.match(r.out(), /no recipient: use \/to <userId>/);
    assert.match(r.out(), /unknown command \/nope/);
    assert.match(r.out(), /usage: @<userId> <text>/);
    assert.match(r.out(), /\/to \[<userId>\|off\]/);
    r.child.stdin.end();
    assert.equal(await exitCode(r), 0);
  });

  it('logs in with a password from HXIM_PASSWORD and saves the token with mode 0600', async () => {
    const fake = await setup();
    fake.users.set('dave', { userId: 5, password: 'pw' });
    const r = run(['chat', '--server', `127.0.0.1:${fake.port}`, '--user', 'dave', '--save-token'], { HXIM_PASSWORD: 'pw' });
    await until(() => r.out().includes('logged in as dave (#5)'), 5000, `login; ${r.out()} ${r.err()}`);
    r.child.stdin.end();
    assert.equal(await exitCode(r), 0);
    const online = fake.framesOf(MessageType.ONLINE)[0]!;
    assert.equal(online.password, 'pw');
    const file = path.join(r.home, '.hxim', `127.0.0.1_${fake.port}-dave.token`);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    const token = fs.readFileSync(file, 'utf8').trim();
    assert.match(token, /^tok-5-/);
    assert.ok(!r.out().includes(token), 'the token is never printed');

    // The next run logs in with the saved token, no password needed.
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: r.home };
    delete env.HXIM_PASSWORD;
    const again = spawn(process.execPath, [CLI, 'chat', '--server', `127.0.0.1:${fake.port}`, '--user', 'dave'], { env, stdio: 'pipe' });
    cleanups.push(() => again.kill('SIGKILL'));
    let out = '';
    again.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    again.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    const exited = new Promise((res) => again.on('exit', res));
    await until(() => out.includes('logged in as dave (#5)'), 5000, `token login; ${out}`);
    again.stdin.end();
    assert.equal(await exited, 0);
    assert.equal(fake.framesOf(MessageType.ONLINE).filter((o) => o.msgType === 0)[1]!.token, token);
  });

  it('prints a status line while reconnecting, and exits 3 when the session is replaced', async () => {
    const fake = await setup();
    const r = run(['chat', '--server', `127.0.0.1:${fake.port}`, '--user-id', '1']);
    await until(() => r.out().includes('logged in as'), 5000, 'login');
    fake.online(1)[0]!.destroy();
    await until(() => r.out().includes('reconnected to'), 5000, 'reconnect');
    assert.match(r.out(), new RegExp(`disconnected \\(.+\\) — reconnecting in \\d+\\.\\d s \\(attempt 1\\) to 127\\.0\\.0\\.1:${fake.port}`));
    fake.online(1)[0]!.kick('SESSION_REPLACED', 'logged in elsewhere');
    assert.equal(await exitCode(r), 3);
    assert.match(r.out(), /replaced by another login/);
  });

  it('refuses to start without a way to log in when stdin is not a terminal', async () => {
    const fake = await setup();
    const r = run(['chat', '--server', `127.0.0.1:${fake.port}`, '--user', 'erin']);
    assert.equal(await exitCode(r), 2);
    assert.match(r.err(), /no password/);
  });
});

describe('im-client register', () => {
  it('registers with --password and prints the new id', async () => {
    const fake = await setup();
    const r = run(['register', '--server', `127.0.0.1:${fake.port}`, '--user', 'carol', '--password', 'pw']);
    assert.equal(await exitCode(r), 0);
    assert.match(r.out(), /registered carol as user #100/);
  });

  it('reads the password from piped stdin and reports USER_EXISTS', async () => {
    const fake = await setup();
    fake.users.set('carol', { userId: 9, password: 'x' });
    const r = run(['register', '--server', `127.0.0.1:${fake.port}`, '--user', 'carol']);
    r.child.stdin.end('pw\n');
    assert.equal(await exitCode(r), 1);
    assert.match(r.err(), /USER_EXISTS/);
  });

  it('registers over TLS with --ca', async () => {
    const t = testTls();
    const fake = await FakeServer.start({}, { key: t.key, cert: t.cert });
    cleanups.push(() => fake.close());
    const r = run(['register', '--server', `127.0.0.1:${fake.port}`, '--user', 'tina', '--password', 'pw', '--ca', t.caFile]);
    assert.equal(await exitCode(r), 0, r.err());
    assert.match(r.out(), /registered tina/);
  });

  it('explains every option in --help', async () => {
    const r = run(['chat', '--help']);
    assert.equal(await exitCode(r), 0);
    for (const flag of ['--server', '--user', '--password', '--token-file', '--save-token', '--user-id', '--platform', '--tls', '--ca']) {
      assert.ok(r.out().includes(flag), `chat --help mentions ${flag}`);
    }
    assert.match(r.out(), /default: 1/);
  });
});
