/**
 * Issue 4's acceptance run as a user sees it: the real server process (friends-only policy) and
 * two `im-client chat` processes with piped stdin. Alice applies, Bob sees the request and
 * accepts, they chat, Bob's /convs shows the unread count, Bob's /read sends Alice a read
 * receipt, and /history and /requests print what happened.
 */
import { test } from 'node:test';
import { register, uname } from './helpers/modern';
import { freePort, kill, spawnServer } from './helpers/process';
import { tempDir } from './helpers/server';
import { testTls } from './helpers/tls';
import { endAll, startCli, type Cli } from './helpers/cli';

test('two CLI sessions: apply, accept, chat, unread counts and a read receipt', async () => {
  const port = await freePort();
  const server = await spawnServer(['--host', '127.0.0.1', '--port', String(port), '--data-dir', tempDir('hxim-bcli'),
    '--scrypt-log-n', '10', '--log-level', 'warn', '--stranger-policy', 'friends'], 15_000, { tls: testTls() });
  const clis: Cli[] = [];
  try {
    const [an, bn] = [uname('alice'), uname('bob')];
    const aid = await register(port, an);
    const bid = await register(port, bn);
    const alice = startCli(port, an);
    const bob = startCli(port, bn);
    clis.push(alice, bob);
    await alice.see(/logged in as/, 'login');
    await bob.see(/logged in as/, 'login');

    alice.say(`@${bid} are we friends?`);
    await alice.see(/not delivered to \d+: NOT_FRIENDS/, 'the stranger refusal');

    alice.say(`/add ${bn} hi bob, it is alice`);
    await alice.see(new RegExp(`friend request sent to ${bn} \\(#${bid}\\)`), 'the /add answer');
    await bob.see(new RegExp(`friend request from ${an} \\(#${aid}\\): "hi bob, it is alice" — /accept ${aid}`), 'the request notice');
    bob.say('/requests');
    await bob.see(new RegExp(`from ${an} \\(#${aid}\\) "hi bob, it is alice" \\[pending\\]`), 'the pending request');

    bob.say(`/accept ${an}`);
    await bob.see(new RegExp(`you and ${an} \\(#${aid}\\) are friends now`), 'the accept answer');
    await alice.see(new RegExp(`${bn} \\(#${bid}\\) accepted your friend request`), 'the accepted notice');

    alice.say(`/to ${bid}`);
    alice.say('first message');
    alice.say('second message');
    await bob.see(new RegExp(`${aid} → you: second message`), 'the second message');
    bob.say('/convs');
    await bob.see(/conversations \(2 unread in total\):\n.*2 unread — \[[\d:]+\] .*: second message/, 'the unread count');
    bob.say('/friends');
    await bob.see(new RegExp(`friends \\(1\\):\\n  ● ${an} \\(#${aid}\\)`), 'the friend list');

    bob.say(`/read ${an}`);
    await bob.see(/read up to #2, 0 unread there, 0 in total/, 'the read answer');
    await alice.see(new RegExp(`${bn} \\(#${bid}\\) read your messages up to #2 in p:\\d+:\\d+`), 'the read receipt');
    alice.say('/convs');
    await alice.see(/read — \[[\d:]+\] you: second message \(seen up to #2\)/, 'the seen mark');

    bob.say(`/history ${aid} 5`);
    await bob.see(/#1 #\d+: first message\n {2}\[[\d:]+\] #2 #\d+: second message/, 'the history');
    await endAll(clis);
  } finally {
    for (const c of clis) c.child.kill('SIGKILL');
    await kill(server);
  }
});
