/**
 * Friends over TCP (issue 4): apply → accept → chat under the default "friends" policy,
 * notifications live and at the next login, typed errors that leave the connection usable,
 * racing accepts from two connections, blocks, the "anyone" policy, and seed-mode connections
 * that never see the new frame types.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FriendListKind, FriendOp, FriendResult, MessageType, NoticeKind, ApplyStatus } from '@hxim/im-common';
import type { ImServer } from '../src';
import {
  befriend, ErrorAnswer, friendOp, newUser, nextNotice, noNotice, ping, rejectsWith, relogin, request,
} from './helpers/business';
import { login } from './helpers/modern';
import { RawClient } from './helpers/raw-client';
import { startTestServer } from './helpers/server';

describe('friends (strangerPolicy "friends")', () => {
  let srv: ImServer;
  before(async () => { srv = await startTestServer({ strangerPolicy: 'friends' }); });
  after(async () => { await srv.stop(); });

  it('apply → live notice → accept → the applicant is told → they chat; a stranger gets NOT_FRIENDS', async () => {
    const a = await newUser(srv.port, 'fa');
    const b = await newUser(srv.port, 'fb');
    a.c.send(MessageType.CHAT, { id: 'early', receiveId: b.id, msgBody: Buffer.from('hi?') });
    const err = await a.c.next(MessageType.ERROR, (e) => e.requestId === 'early');
    assert.deepEqual([err.code, err.fatal], ['NOT_FRIENDS', false]);

    const r = await friendOp(a.c, FriendOp.APPLY, b.id, 'hello, I am a');
    assert.deepEqual([r.result, r.user?.userId, r.user?.userName], [FriendResult.APPLIED, b.id, b.name]);
    const n = await nextNotice(b.c, NoticeKind.FRIEND_APPLY);
    assert.deepEqual([n.fromUserId, n.fromUserName, n.message, n.applyId], [a.id, a.name, 'hello, I am a', r.applyId]);
    assert.ok(n.noticeId > 0);
    b.c.send(MessageType.NOTIFICATION_ACK, { noticeId: n.noticeId });

    const list = await request(b.c, MessageType.FRIEND_LIST_REQUEST, { kind: FriendListKind.RECEIVED }, MessageType.FRIEND_LIST);
    assert.deepEqual(list.applications.map((x) => [x.applicantId, x.status, x.message]), [[a.id, ApplyStatus.PENDING, 'hello, I am a']]);

    const ok = await friendOp(b.c, FriendOp.ACCEPT, a.name); // by name
    assert.deepEqual([ok.result, ok.applyId], [FriendResult.ACCEPTED, r.applyId]);
    const told = await nextNotice(a.c, NoticeKind.FRIEND_ACCEPTED);
    assert.deepEqual([told.fromUserId, told.applyId], [b.id, r.applyId]);

    a.c.send(MessageType.CHAT, { id: 'now', receiveId: b.id, msgBody: Buffer.from('friends now') });
    await a.c.next(MessageType.ACK, (m) => m.clientMsgId === 'now');
    assert.equal(Buffer.from((await b.c.next(MessageType.CHAT)).msgBody).toString(), 'friends now');

    const friends = await request(a.c, MessageType.FRIEND_LIST_REQUEST, { kind: FriendListKind.FRIENDS }, MessageType.FRIEND_LIST);
    assert.deepEqual(friends.friends.map((f) => [f.userId, f.userName, f.online]), [[b.id, b.name, true]]);
    a.c.destroy();
    b.c.destroy();
  });

  it('tells an offline target at the next login, until a device acks; the applicant learns the outcome', async () => {
    const a = await newUser(srv.port, 'oa');
    const b = await newUser(srv.port, 'ob');
    b.c.destroy();
    await friendOp(a.c, FriendOp.APPLY, b.id, 'while you were out');
    const again = await relogin(srv.port, b);
    const n = await nextNotice(again.c, NoticeKind.FRIEND_APPLY);
    assert.deepEqual([n.fromUserId, n.message], [a.id, 'while you were out']);
    assert.equal(again.c.frames.length, 0);
    again.c.destroy(); // not acked: it comes again
    const third = await relogin(srv.port, b);
    const n2 = await nextNotice(third.c, NoticeKind.FRIEND_APPLY);
    assert.equal(n2.noticeId, n.noticeId);
    third.c.send(MessageType.NOTIFICATION_ACK, { noticeId: n2.noticeId });
    a.c.destroy();
    await friendOp(third.c, FriendOp.REJECT, a.id);
    await ping(third.c); // the ack was handled before this answer
    third.c.destroy();
    const fourth = await relogin(srv.port, b);
    await noNotice(fourth.c);
    fourth.c.destroy();
    const aBack = await relogin(srv.port, a);
    const told = await nextNotice(aBack.c, NoticeKind.FRIEND_REJECTED);
    assert.equal(told.fromUserId, b.id);
    aBack.c.destroy();
  });

  it('refuses bad requests with typed errors and keeps the connection usable', async () => {
    const a = await newUser(srv.port, 'ea');
    const b = await newUser(srv.port, 'eb');
    await rejectsWith(friendOp(a.c, FriendOp.APPLY, 2 ** 40), 'UNKNOWN_USER');
    await rejectsWith(friendOp(a.c, FriendOp.APPLY, 'no_such_user_anywhere'), 'UNKNOWN_USER');
    await rejectsWith(friendOp(a.c, FriendOp.APPLY, a.id), 'BAD_REQUEST');
    await rejectsWith(friendOp(a.c, FriendOp.OP_NONE, b.id), 'BAD_REQUEST');
    await rejectsWith(friendOp(a.c, FriendOp.APPLY, b.id, 'x'.repeat(201)), 'BAD_REQUEST');
    await rejectsWith(friendOp(a.c, FriendOp.ACCEPT, b.id), 'NO_APPLICATION');
    await rejectsWith(friendOp(a.c, FriendOp.REMOVE, b.id), 'NOT_FRIENDS');
    await friendOp(a.c, FriendOp.APPLY, b.id);
    await rejectsWith(friendOp(a.c, FriendOp.APPLY, b.id), 'APPLY_PENDING');
    await rejectsWith(request(a.c, MessageType.FRIEND_LIST_REQUEST, { kind: 0, limit: 201 }, MessageType.FRIEND_LIST), 'PAGE_TOO_LARGE');
    await rejectsWith(request(a.c, MessageType.FRIEND_LIST_REQUEST, { kind: 9 }, MessageType.FRIEND_LIST), 'BAD_REQUEST');
    await ping(a.c);
    assert.equal(a.c.closed, false);
    a.c.destroy();
    b.c.destroy();
  });

  it('racing the same accept from two connections leaves exactly one friendship (many rounds)', async () => {
    for (let round = 0; round < 15; round++) {
      const a = await newUser(srv.port, `ra${round}`);
      const b1 = await newUser(srv.port, `rb${round}`);
      const b2 = await relogin(srv.port, b1, 2); // b's second device
      await friendOp(a.c, FriendOp.APPLY, b1.id);
      const results = await Promise.allSettled([friendOp(b1.c, FriendOp.ACCEPT, a.id), friendOp(b2.c, FriendOp.ACCEPT, a.id)]);
      const won = results.filter((x) => x.status === 'fulfilled');
      assert.equal(won.length, 1, `round ${round}: one accept wins`);
      const lost = results.find((x) => x.status === 'rejected') as PromiseRejectedResult;
      assert.equal((lost.reason as ErrorAnswer).code, 'ALREADY_FRIENDS');
      const fa = await request(a.c, MessageType.FRIEND_LIST_REQUEST, { kind: FriendListKind.FRIENDS }, MessageType.FRIEND_LIST);
      assert.deepEqual(fa.friends.map((f) => f.userId), [b1.id]);
      const fb = await request(b2.c, MessageType.FRIEND_LIST_REQUEST, { kind: FriendListKind.FRIENDS }, MessageType.FRIEND_LIST);
      assert.deepEqual(fb.friends.map((f) => f.userId), [a.id]);
      await nextNotice(a.c, NoticeKind.FRIEND_ACCEPTED);
      await noNotice(a.c, 20); // told once
      for (const c of [a.c, b1.c, b2.c]) c.destroy();
    }
  });

  it('blocks: no messages and no requests either way until unblocked; remove tells the other', async () => {
    const a = await newUser(srv.port, 'ba');
    const b = await newUser(srv.port, 'bb');
    await befriend(a, b);
    assert.equal((await friendOp(b.c, FriendOp.BLOCK, a.id)).result, FriendResult.BLOCKED);
    a.c.send(MessageType.CHAT, { id: 'blocked-1', receiveId: b.id, msgBody: Buffer.from('x') });
    assert.equal((await a.c.next(MessageType.ERROR, (e) => e.requestId === 'blocked-1')).code, 'BLOCKED');
    b.c.send(MessageType.CHAT, { id: 'blocked-2', receiveId: a.id, msgBody: Buffer.from('x') });
    assert.equal((await b.c.next(MessageType.ERROR, (e) => e.requestId === 'blocked-2')).code, 'BLOCKED');
    await rejectsWith(friendOp(a.c, FriendOp.APPLY, b.id), 'BLOCKED');
    assert.equal((await friendOp(b.c, FriendOp.BLOCK, a.id)).result, FriendResult.UNCHANGED);
    const blocked = await request(b.c, MessageType.FRIEND_LIST_REQUEST, { kind: FriendListKind.BLOCKED }, MessageType.FRIEND_LIST);
    assert.deepEqual(blocked.friends.map((f) => f.userId), [a.id]);
    assert.equal((await friendOp(b.c, FriendOp.UNBLOCK, a.id)).result, FriendResult.UNBLOCKED);
    await befriend(a, b);
    assert.equal((await friendOp(a.c, FriendOp.REMOVE, b.id)).result, FriendResult.REMOVED);
    assert.equal((await nextNotice(b.c, NoticeKind.FRIEND_REMOVED)).fromUserId, a.id);
    a.c.send(MessageType.CHAT, { id: 'after-remove', receiveId: b.id, msgBody: Buffer.from('x') });
    assert.equal((await a.c.next(MessageType.ERROR, (e) => e.requestId === 'after-remove')).code, 'NOT_FRIENDS');
    a.c.destroy();
    b.c.destroy();
  });
});

describe('stranger policy "anyone" and seed mode', () => {
  it('lets strangers chat under "anyone", but not past a block', async () => {
    const srv = await startTestServer({ strangerPolicy: 'anyone' });
    try {
      const a = await newUser(srv.port, 'sa');
      const b = await newUser(srv.port, 'sb');
      a.c.send(MessageType.CHAT, { id: 'hello', receiveId: b.id, msgBody: Buffer.from('hi stranger') });
      await a.c.next(MessageType.ACK, (m) => m.clientMsgId === 'hello');
      await b.c.next(MessageType.CHAT);
      await friendOp(b.c, FriendOp.BLOCK, a.id);
      a.c.send(MessageType.CHAT, { id: 'again', receiveId: b.id, msgBody: Buffer.from('hi?') });
      assert.equal((await a.c.next(MessageType.ERROR, (e) => e.requestId === 'again')).code, 'BLOCKED');
      a.c.destroy();
      b.c.destroy();
    } finally {
      await srv.stop();
    }
  });

  it('never sends the new frame types to a seed-mode connection (--auth open means anyone)', async () => {
    const srv = await startTestServer({ auth: 'open', strangerPolicy: 'friends' });
    try {
      const seed = await RawClient.connect(srv.port);
      seed.seedLogin(7001);
      await ping(seed);
      const modern = await login(srv.port, { userId: 7002 });
      const r = await friendOp(modern.c, FriendOp.APPLY, 7001, 'seed, are you there?');
      assert.equal(r.result, FriendResult.APPLIED);
      modern.c.send(MessageType.CHAT, { id: 'to-seed', receiveId: 7001, msgBody: Buffer.from('plain chat still works') });
      await modern.c.next(MessageType.ACK, (m) => m.clientMsgId === 'to-seed');
      await seed.next(MessageType.CHAT);
      await new Promise((res) => setTimeout(res, 100));
      assert.deepEqual(seed.types().filter((t) => t > 5), [], 'no type above 5 reached the seed client');
      seed.destroy();
      modern.c.destroy();
    } finally {
      await srv.stop();
    }
  });
});

describe('stored notifications per user (--max-notices-per-user)', () => {
  it('keeps the newest N of an offline user: three applications, a bound of 2, two notices at login', async () => {
    const srv = await startTestServer({ strangerPolicy: 'friends', maxNoticesPerUser: 2 });
    try {
      const target = await newUser(srv.port, 'nb');
      target.c.destroy();
      const applicants = [await newUser(srv.port, 'n1'), await newUser(srv.port, 'n2'), await newUser(srv.port, 'n3')];
      for (const a of applicants) await friendOp(a.c, FriendOp.APPLY, target.id, `from ${a.name}`);
      const back = await relogin(srv.port, target);
      const got = [await nextNotice(back.c, NoticeKind.FRIEND_APPLY), await nextNotice(back.c, NoticeKind.FRIEND_APPLY)];
      assert.deepEqual(got.map((n) => n.fromUserId), [applicants[1]!.id, applicants[2]!.id], 'the oldest notice was pruned');
      await noNotice(back.c);
      // The applications themselves are kept: all three can still be decided.
      const list = await request(back.c, MessageType.FRIEND_LIST_REQUEST, { kind: FriendListKind.RECEIVED }, MessageType.FRIEND_LIST);
      assert.equal(list.applications.length, 3);
      for (const c of [back.c, ...applicants.map((a) => a.c)]) c.destroy();
    } finally {
      await srv.stop();
    }
  });
});
