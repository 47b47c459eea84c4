/** Conversation-id helpers: both sides must compute the same id, and parsing never throws. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { groupConvId, parseConvId, peerOf, privateConvId } from '../src/index';
import { HOSTILE_STRINGS } from './util';

test('conv: a private id does not depend on who sends', () => {
  assert.equal(privateConvId(1001, 1002), 'p:1001:1002');
  assert.equal(privateConvId(1002, 1001), 'p:1001:1002');
  // A self-conversation can be built but is not a valid id to parse (a >= b): the server refuses
  // chats to oneself, so parseConvId() rejecting it is the safer side.
  assert.equal(privateConvId(7, 7), 'p:7:7');
  assert.equal(parseConvId('p:7:7'), null);
});

test('conv: group ids', () => {
  assert.equal(groupConvId(5), 'g:5');
  assert.deepEqual(parseConvId('g:5'), { kind: 'group', groupId: 5 });
});

test('conv: parse round trips what the builders make', () => {
  for (const [a, b] of [[1, 2], [1001, 1002], [2 ** 40, 3], [0, 9]]) {
    const p = parseConvId(privateConvId(a, b));
    assert.deepEqual(p, { kind: 'private', a: Math.min(a, b), b: Math.max(a, b) });
  }
  assert.deepEqual(parseConvId(groupConvId(2 ** 50)), { kind: 'group', groupId: 2 ** 50 });
});

test('conv: malformed ids parse to null and never throw', () => {
  const bad = ['', 'test', 'p:1002:1001', 'p:5:5', 'p:1:2:3', 'p:-1:2', 'p:1', 'g:', 'g:-1', 'g:1.5', 'P:1:2', ' p:1:2',
    'p:1:2 ', 'g:99999999999999999', 'p:1:99999999999999999', 'g:1\n', ...HOSTILE_STRINGS];
  for (const id of bad) assert.equal(parseConvId(id), null, JSON.stringify(id));
});

test('conv: peerOf', () => {
  const p = parseConvId('p:1001:1002')!;
  assert.equal(peerOf(p, 1001), 1002);
  assert.equal(peerOf(p, 1002), 1001);
  assert.equal(peerOf(p, 1003), null);
  assert.equal(peerOf(parseConvId('g:1')!, 1), null);
});
