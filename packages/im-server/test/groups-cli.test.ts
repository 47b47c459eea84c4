/**
 * Issue 5 as a user sees it: the real server process and three `im-client chat` processes with
 * piped stdin. Alice creates a group with Bob and Carol, sends with #<id> and /to g:<id>, Bob's
 * /convs shows the group's unread count, /group members and /group readers answer, Carol is
 * kicked and gets nothing more, Dave joins by application.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { register, uname } from './helpers/modern';
import { freePort, kill, spawnServer } from './helpers/process';
import { tempDir } from './helpers/server';
import { testTls } from './helpers/tls';
import { endAll, startCli, type Cli } from './helpers/cli';

test('CLI group chat: create, send with #id and /to g:id, /convs unread, members, readers, kick, join', async () => {
  const port = await freePort();
  const server = await spawnServer(['--host', '127.0.0.1', '--port', String(port), '--data-dir', tempDir('hxim-gcli'),
    '--scrypt-log-n', '10', '--log-level', 'warn'], 15_000, { tls: testTls() });
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
    await endAll(clis);
  } finally {
    for (const c of clis) c.child.kill('SIGKILL');
    await kill(server);
  }
});
