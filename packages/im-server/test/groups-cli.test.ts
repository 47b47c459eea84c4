/**
 * Issue 5 as a user sees it: the real server process and three `im-client chat` processes with
 * piped stdin. Alice creates a group with Bob and Carol, sends with #<id> and /to g:<id>, Bob's
 * /convs shows the group's unread count, /group members and /group readers answer, Carol is
 * kicked and gets nothing more, Dave joins by application.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { register, uname } from './helpers/modern';
import { freePort, kill, spawnServer } from './helpers/process';
import { tempDir } from './helpers/server';

const CLIENT_CLI = path.join(path.dirname(require.resolve('@hxim/im-client')), 'cli.js');

interface Cli {
  child: ChildProcessWithoutNullStreams;
  out: () => string;
  /** Writes one line to stdin. */
  say(line: string): void;
  /** Waits until stdout matches `re` (after `from`, a length of out() seen earlier). */
  see(re: RegExp, what: string, ms?: number): Promise<void>;
}

function startCli(port: number, user: string): Cli {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'hxim-bcli-'));
  const child = spawn(process.execPath, [CLIENT_CLI, 'chat', '--server', `127.0.0.1:${port}`, '--user', user],
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

test('CLI group chat: create, send with #id and /to g:id, /convs unread, members, readers, kick, join', async () => {
  const port = await freePort();
  const server = await spawnServer(['--host', '127.0.0.1', '--port', String(port), '--data-dir', tempDir('hxim-gcli'),
    '--scrypt-log-n', '10', '--log-level', 'warn']);
  const clis: Cli[] = [];
  try {
    const [an, bn, cn, dn] = [uname('alice'), uname('bob'), uname('carol'), uname('dave')];
    const aid = await register(port, an);
    const bid = await register(port, bn);
    const cid = await register(port, cn);
    const did = await register(port, dn);
    const alice = startCli(port, an);
    const bob = startCli(port, bn);
    const carol = startCli(port, cn);
    const dave = startCli(port, dn);
    clis.push(alice, bob, carol, dave);
    for (const c of clis) await c.see(/logged in as/, 'login');

    alice.say(`/group create team ${bid} ${cid}`);
    await alice.see(/created \d+, \d+, \d+ — #(\d+) "team", 3\/10000 members; send with #\d+ <text>/, 'the create answer');
    const gid = Number(/— #(\d+) "team"/.exec(alice.out())![1]);
    await bob.see(new RegExp(`#${gid} \\* ${aid} created "team" with`), 'the create notice');

    alice.say(`#${gid} hello team`);
    await bob.see(new RegExp(`#${gid} ${aid}: hello team`), 'the group message');
    await carol.see(new RegExp(`#${gid} ${aid}: hello team`), 'the group message');
    alice.say(`/to g:${gid}`);
    await alice.see(new RegExp(`sending to group #${gid}`), 'the /to answer');
    alice.say('second');
    await bob.see(new RegExp(`#${gid} ${aid}: second`), 'the plain line to the group');

    bob.say('/convs');
    await bob.see(new RegExp(`g:${gid}  group #${gid}  3 unread`), 'the group in /convs with unread');
    bob.say(`/group members ${gid}`);
    await bob.see(new RegExp(`group #${gid} "team" — 3 members\\n  ${an} \\(#${aid}\\) owner`), 'the member list');
    bob.say(`/read g:${gid}`);
    await bob.see(/read up to #3, 0 unread there/, 'the read answer');
    alice.say(`/group readers ${gid} 3`);
    await alice.see(new RegExp(`#3 in group #${gid}: read by 2 of 3`), 'the read receipt');

    alice.say(`/group kick ${gid} ${cid}`);
    await alice.see(new RegExp(`removed ${cid} — #${gid}`), 'the kick answer');
    await carol.see(new RegExp(`#${gid} \\* ${cid} removed by ${aid}`), 'the kick notice');
    alice.say('after the kick');
    await bob.see(/after the kick/, 'the next message');
    carol.say(`#${gid} still here?`);
    await carol.see(/not delivered to group #\d+: NOT_A_MEMBER/, 'the refusal');
    assert.doesNotMatch(carol.out(), /after the kick/);

    dave.say(`/group join ${gid} let me in`);
    await dave.see(new RegExp(`asked to join group #${gid}`), 'the join answer');
    alice.say(`/group approve ${gid} ${did}`);
    await dave.see(new RegExp(`#${gid} \\* ${did} joined \\(added by ${aid}\\)`), 'the join notice');
    for (const c of clis) c.child.stdin.end();
    for (const c of clis) {
      const code = await new Promise<number | null>((r) => (c.child.exitCode !== null ? r(c.child.exitCode) : c.child.on('exit', r)));
      assert.equal(code, 0, c.out());
    }
  } finally {
    for (const c of clis) c.child.kill('SIGKILL');
    await kill(server);
  }
});
