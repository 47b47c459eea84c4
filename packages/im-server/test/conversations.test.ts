/**
 * Conversations over TCP (issue 4): unread counts (last seq − read seq) in LoginAck and the
 * conversation list, right after a reconnect and on a second device; read marks that never move
 * back, with UNREAD_CHANGED to the reader's other devices and READ_RECEIPT to the peer; history
 * paging; typed errors (not a member, bad seq, page too large) that leave the connection usable;
 * and the same pushes between two instances of an embedded cluster.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MessageType, NoticeKind, privateConvId } from '@hxim/im-common';
import { MemoryBusHub } from '../src/cluster';
import type { ImServer } from '../src';
import { befriend, newUser, nextNotice, noNotice, ping, rejectsWith, relogin, request, type User } from './helpers/business';
import { startTestServer } from './helpers/server';

async function sendChats(from: User, to: User, n: number, tag: string): Promise<void> {
  for (let i = 1; i <= n; i++) from.c.send(MessageType.CHAT, { id: `${tag}${i}`, receiveId: to.id, msgBody: Buffer.from(`${tag} message ${i}`) });
  for (let i = 1; i <= n; i++) await from.c.next(MessageType.ACK, (m) => m.clientMsgId === `${tag}${i}`);
}

function convList(u: { c: User['c'] }, limit = 0, cursor = '') {
  return request(u.c, MessageType.CONV_LIST_REQUEST, { limit, cursor }, MessageType.CONV_LIST);
}

function markRead(u: { c: User['c'] }, convId: string, seq: number) {
  return request(u.c, MessageType.READ_REQUEST, { convId, seq }, MessageType.READ_RESPONSE);
}

function history(u: { c: User['c'] }, convId: string, beforeSeq: number, limit: number) {
  return request(u.c, MessageType.HISTORY_REQUEST, { convId, beforeSeq, limit }, MessageType.HISTORY_RESPONSE);
}

describe('conversations, unread counts and read receipts', () => {
  let srv: ImServer;
  before(async () => { srv = await startTestServer({ strangerPolicy: 'friends' }); });
  after(async () => { await srv.stop(); });

  it('apply → accept → chat → unread counts → read receipts, on two devices and after a reconnect', async () => {
    const a = await newUser(srv.port, 'ca');
    const b = await newUser(srv.port, 'cb');
    await befriend(a, b);
    const conv = privateConvId(a.id, b.id);
    await sendChats(a, b, 3, 'u');

    const list = await convList(b);
    assert.equal(list.totalUnread, 3);
    const [s] = list.convs;
    assert.deepEqual([s!.convId, s!.peerId, s!.peerName, s!.unread, s!.lastSeq, s!.lastSenderId, s!.preview],
      [conv, a.id, a.name, 3, 3, a.id, 'u message 3']);

    const b2 = await relogin(srv.port, b, 2); // b's second device
    assert.equal(b2.ack.totalUnread, 3);
    assert.deepEqual(b2.ack.unread, [{ convId: conv, lastSeq: 3, readSeq: 0, unread: 3 }]);

    const r = await markRead(b, conv, 2);
    assert.deepEqual([r.readSeq, r.lastSeq, r.unread, r.totalUnread], [2, 3, 1, 1]);
    const changed = await nextNotice(b2.c, NoticeKind.UNREAD_CHANGED);
    assert.deepEqual([changed.convId, changed.seq, changed.unread, changed.totalUnread], [conv, 2, 1, 1]);
    const receipt = await nextNotice(a.c, NoticeKind.READ_RECEIPT);
    assert.deepEqual([receipt.convId, receipt.fromUserId, receipt.fromUserName, receipt.seq, receipt.noticeId], [conv, b.id, b.name, 2, 0]);
    await noNotice(b.c, 20); // the reading device is not told about itself

    const back = await markRead(b2, conv, 1); // never backwards, and nobody is told
    assert.deepEqual([back.readSeq, back.unread], [2, 1]);
    await noNotice(a.c);

    b.c.destroy();
    const b3 = await relogin(srv.port, b); // reconnect of the first device
    assert.equal(b3.ack.totalUnread, 1);
    assert.deepEqual(b3.ack.unread.map((x) => [x.convId, x.unread]), [[conv, 1]]);
    const aList = await convList(a);
    assert.deepEqual([aList.convs[0]!.unread, aList.convs[0]!.peerReadSeq, aList.totalUnread], [0, 2, 0]);

    await sendChats(a, b, 1, 'v'); // a new message is unread on every device
    assert.equal((await convList(b2)).totalUnread, 2);
    const all = await markRead(b3, conv, 0);
    assert.deepEqual([all.readSeq, all.unread, all.totalUnread], [4, 0, 0]);
    assert.equal((await nextNotice(a.c, NoticeKind.READ_RECEIPT)).seq, 4);
    assert.equal((await nextNotice(b2.c, NoticeKind.UNREAD_CHANGED)).totalUnread, 0);
    for (const c of [a.c, b2.c, b3.c]) c.destroy();
  });

  it('pages history backwards and the list by cursor; refuses non-members, bad seqs and big pages', async () => {
    const a = await newUser(srv.port, 'ha');
    const b = await newUser(srv.port, 'hb');
    const c = await newUser(srv.port, 'hc');
    await befriend(a, b);
    await befriend(a, c);
    const ab = privateConvId(a.id, b.id);
    await sendChats(a, b, 5, 'h');
    await sendChats(c, a, 1, 'k');

    const p1 = await history(b, ab, 0, 2);
    assert.deepEqual([p1.messages.map((m) => m.seq), p1.hasMore], [[4, 5], true]);
    assert.deepEqual([p1.messages[0]!.convId, Buffer.from(p1.messages[0]!.msgBody).toString()], [ab, 'h message 4']);
    const p2 = await history(b, ab, p1.messages[0]!.seq, 10);
    assert.deepEqual([p2.messages.map((m) => m.seq), p2.hasMore], [[1, 2, 3], false]);

    const l1 = await convList(a, 1);
    assert.deepEqual([l1.convs.length, l1.hasMore, l1.convs[0]!.peerId], [1, true, c.id]);
    const l2 = await convList(a, 1, l1.nextCursor);
    assert.deepEqual([l2.convs.length, l2.hasMore, l2.convs[0]!.peerId], [1, false, b.id]);

    await rejectsWith(history(c, ab, 0, 10), 'NOT_A_MEMBER');
    await rejectsWith(history(b, ab, -1, 10), 'BAD_SEQ');
    await rejectsWith(history(b, ab, 0, 201), 'PAGE_TOO_LARGE');
    await rejectsWith(history(b, 'not-a-conv', 0, 10), 'BAD_REQUEST');
    await rejectsWith(markRead(c, ab, 1), 'NOT_A_MEMBER');
    await rejectsWith(markRead(b, ab, -5), 'BAD_SEQ');
    await rejectsWith(convList(b, 101), 'PAGE_TOO_LARGE');
    await rejectsWith(convList(b, 10, 'bogus cursor'), 'BAD_REQUEST');
    await ping(b.c);
    await ping(c.c);
    assert.equal((await history(b, ab, 0, 1)).messages.length, 1, 'still answering');
    for (const u of [a, b, c]) u.c.destroy();
  });
});

describe('conversations across two instances (embedded cluster)', () => {
  it('pushes notices, read receipts and unread changes to users on the other instance', async () => {
    const hub = new MemoryBusHub();
    const s1 = await startTestServer({ strangerPolicy: 'friends', instanceId: `bx1-${process.pid}` }, { hub });
    const s2 = await startTestServer({ strangerPolicy: 'friends', instanceId: `bx2-${process.pid}` }, { hub, store: s1.store });
    try {
      const a = await newUser(s1.port, 'xa');
      const b = await newUser(s2.port, 'xb');
      await befriend(a, b); // FRIEND_APPLY to s2, FRIEND_ACCEPTED back to s1
      await sendChats(a, b, 2, 'x');
      await b.c.next(MessageType.CHAT);
      const b2 = await relogin(s1.port, b, 2); // b's second device, on the other instance
      assert.equal(b2.ack.totalUnread, 2);
      await markRead(b, privateConvId(a.id, b.id), 2);
      assert.equal((await nextNotice(a.c, NoticeKind.READ_RECEIPT)).seq, 2);
      assert.equal((await nextNotice(b2.c, NoticeKind.UNREAD_CHANGED)).totalUnread, 0);
      for (const c of [a.c, b.c, b2.c]) c.destroy();
    } finally {
      await s2.stop();
      await s1.stop();
    }
  });
});
