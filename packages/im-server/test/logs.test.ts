/**
 * Logs redact secrets and message bodies by default, at every level (issue 7): the real server
 * process runs at --log-level trace while a user registers, logs in with a password, fails a
 * login, sends a chat and logs in with a token; none of the password, the token or the body
 * appears anywhere in its output, while the log itself is there.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageType } from '@hxim/im-common';
import { freePort, kill, spawnServer } from './helpers/process';
import { login, register, uname } from './helpers/modern';
import { RawClient } from './helpers/raw-client';
import { tempDir } from './helpers/server';
import { testTls } from './helpers/tls';
import { createLogger } from '../src/logger';

const PASSWORD = 'Pa55-Secret-Zebra';
const WRONG = 'Wr0ng-Guess-Okapi';
const BODY = 'body-text-Narwhal-7f3a';

test('a trace-level server log holds no password, token or chat body', async () => {
  const port = await freePort();
  const child = await spawnServer(['--host', '127.0.0.1', '--port', String(port), '--data-dir', tempDir('hxim-logs'),
    '--scrypt-log-n', '10', '--log-level', 'trace', '--stranger-policy', 'anyone'], 15_000, { stdout: true, tls: testTls() });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  try {
    const [an, bn] = [uname('loga'), uname('logb')];
    await register(port, an, PASSWORD);
    const bid = await register(port, bn, PASSWORD);
    const bad = await RawClient.connect(port);
    bad.send(MessageType.ONLINE, { id: 'x', protocolVersion: 1, userName: an, password: WRONG, userPlatformId: 1 });
    await bad.next(MessageType.ERROR);
    bad.destroy();
    const a = await login(port, { userName: an, password: PASSWORD });
    const b = await login(port, { userName: bn, password: PASSWORD });
    a.c.send(MessageType.CHAT, { id: 'secret-chat', receiveId: bid, msgBody: Buffer.from(BODY) });
    await a.c.next(MessageType.ACK);
    await b.c.next(MessageType.CHAT);
    a.c.send(MessageType.CHAT, { id: 'too-big', receiveId: bid, msgBody: Buffer.alloc(20_000, BODY) });
    await a.c.next(MessageType.ERROR);
    const again = await login(port, { token: a.ack.token });
    for (const c of [a.c, b.c, again.c]) c.destroy();
    assert.equal(await kill(child, 'SIGTERM'), 0);
    assert.match(out, /"logged in"/, 'the log is there');
    assert.match(out, /"level":20/, 'debug lines are there');
    // A connection's lines carry its connId, and its userId from the login on.
    const aid = a.ack.userId;
    assert.ok(out.split('\n').some((l) => l.includes('"logged in"') && l.includes('"connId":') && l.includes(`"userId":${aid}`)),
      'the login line names the connection and the user');
    for (const secret of [PASSWORD, WRONG, BODY, a.ack.token, Buffer.from(BODY).toString('base64')]) {
      assert.equal(out.includes(secret), false, `the log contains ${secret}`);
    }
  } finally {
    await kill(child);
  }
});

test('the logger redacts secret fields wherever they are nested', () => {
  const lines: string[] = [];
  const log = createLogger('trace', 'redact-test', { write: (s: string) => { lines.push(s); } });
  log.info({ password: PASSWORD, msg: { msgBody: BODY, token: 't0k3n' }, req: { user: { password: PASSWORD } } }, 'x');
  log.child({ mysqlUrl: 'mysql://root:hunter2@db/hxim' }).warn({ body: BODY }, 'y');
  const all = lines.join('');
  for (const s of [PASSWORD, BODY, 't0k3n', 'hunter2']) assert.equal(all.includes(s), false, s);
  assert.match(all, /\[redacted\]/);
});
