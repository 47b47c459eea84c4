/**
 * Group chat over TCP (issue 5): create/invite/kick/leave with SYSTEM messages in the history;
 * a group message stored once (one seq), acked STORED, pushed exactly once to every online
 * member; NOT_A_MEMBER for outsiders; a kicked member gets nothing more; offline members catch up
 * in order at login; group read receipts; groups in the conversation list with unread counts;
 * fan-out across three instances of an embedded cluster; a kick on one instance is honoured by a
 * send through another whose member cache has not heard of it, and a kicked member's own send
 * through that instance is refused by the store; a stalled member is evicted without
 * holding up the others; and a 2,000-member group.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AckKind, ChatKind, GroupOp, MessageType, NoticeKind, type ChatMessage, type GroupResponse } from '@hxim/im-common';
import { GroupRole } from '@hxim/business';
import { MemoryBus, MemoryBusHub } from '../src/cluster';
import type { ImServer } from '../src';
import { newUser, nextNotice, rejectsWith, relogin, request, type User } from './helpers/business';
import { HoldingBus } from './helpers/holding-bus';
import { login } from './helpers/modern';
import type { RawClient } from './helpers/raw-client';
import { startTestServer } from './helpers/server';

type C = { c: RawClient };

function groupOp(u: C, op: number, fields: Record<string, unknown>): Promise<GroupResponse> {
  return request(u.c, MessageType.GROUP_REQUEST, { op, ...fields }, MessageType.GROUP_RESPONSE);
}

function ids(...users: number[]): Array<{ userId: number }> {
  return users.map((userId) => ({ userId }));
}

async function sendGroup(u: C, groupId: number, id: string, text = id): Promise<{ seq: number; convId: string }> {
  u.c.send(MessageType.CHAT, { id, groupId, receiveId: 0, msgBody: Buffer.from(text) });
  const ack = await u.c.next(MessageType.ACK, (m) => m.clientMsgId === id || false);
  assert.equal(ack.kind, AckKind.STORED);
  return { seq: ack.seq, convId: ack.convId };
}

function nextChat(u: C, pred: (m: ChatMessage) => boolean = () => true, ms = 5000): Promise<ChatMessage> {
  return u.c.next(MessageType.CHAT, pred, ms);
}

function chatsSoFar(u: C, groupId: number): ChatMessage[] {
  return u.c.frames.filter((f) => f.type === MessageType.CHAT && (f.msg as ChatMessage).groupId === groupId).map((f) => f.msg as ChatMessage);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function event(m: ChatMessage): { event: string; users: number[] } {
  return JSON.parse(Buffer.from(m.msgBody).toString('utf8')) as { event: string; users: number[] };
}

describe('groups on one instance', () => {
  let srv: ImServer;
  before(async () => { srv = await startTestServer(); });
  after(async () => { await srv.stop(); });

  it('create, send, exactly-once delivery, NOT_A_MEMBER, kick stops delivery, offline catch-up, receipts, conv list', async () => {
    const [a, b, c, d, e] = await Promise.all(['ga', 'gb', 'gc', 'gd', 'ge'].map((t) => newUser(srv.port, t))) as User[];
    const created = await groupOp(a!, GroupOp.CREATE, { name: 'team', members: ids(b!.id, c!.id, e!.id) });
    const g = created.group!;
    assert.equal(g.ownerId, a!.id);
    assert.equal(g.memberCount, 4);
    assert.equal(g.myRole, 2);
    assert.equal(created.seq, 1);
    for (const u of [a!, b!, c!, e!]) {
      const sys = await nextChat(u, (m) => m.groupId === g.groupId);
      assert.equal(sys.msgType, ChatKind.SYSTEM);
      assert.equal(event(sys).event, 'create');
    }
    e!.c.destroy(); // e is offline from now on

    // unknown users cannot be invited; non-members cannot send
    await rejectsWith(groupOp(a!, GroupOp.INVITE, { groupId: g.groupId, members: ids(999_999_999) }), 'UNKNOWN_USER');
    d!.c.send(MessageType.CHAT, { id: 'intruder', groupId: g.groupId, msgBody: Buffer.from('hi') });
    const err = await d!.c.next(MessageType.ERROR);
    assert.equal(err.code, 'NOT_A_MEMBER');

    const s1 = await sendGroup(a!, g.groupId, 'm1', 'hello group');
    assert.deepEqual(s1, { seq: 2, convId: `g:${g.groupId}` });
    for (const u of [b!, c!]) {
      const m = await nextChat(u, (x) => x.id === 'm1');
      assert.deepEqual([m.userId, m.groupId, m.seq, m.receiveId, Buffer.from(m.msgBody).toString()], [a!.id, g.groupId, 2, 0, 'hello group']);
    }
    await sleep(50);
    assert.equal(chatsSoFar(a!, g.groupId).filter((m) => m.id === 'm1').length, 0, 'the sending connection gets its ack, not a copy');
    for (const u of [b!, c!]) assert.equal(chatsSoFar(u, g.groupId).length, 0, 'exactly once');

    // kick c: c gets the kick notice, then nothing more
    const k = await groupOp(a!, GroupOp.KICK, { groupId: g.groupId, members: ids(c!.id) });
    assert.deepEqual(k.members.map((m) => m.userId), [c!.id]);
    assert.equal(event(await nextChat(c!, (m) => m.groupId === g.groupId)).event, 'kick');
    await nextChat(b!, (m) => m.msgType === ChatKind.SYSTEM);
    await sendGroup(b!, g.groupId, 'm2');
    await nextChat(a!, (m) => m.id === 'm2');
    c!.c.send(MessageType.CHAT, { id: 'c-after-kick', groupId: g.groupId, msgBody: Buffer.from('x') });
    assert.equal((await c!.c.next(MessageType.ERROR)).code, 'NOT_A_MEMBER');
    await sleep(50);
    assert.deepEqual(chatsSoFar(c!, g.groupId), [], 'a kicked member receives nothing more');
    await rejectsWith(request(c!.c, MessageType.HISTORY_REQUEST, { convId: `g:${g.groupId}` }, MessageType.HISTORY_RESPONSE), 'NOT_A_MEMBER');
    c!.c.send(MessageType.ACK, { id: 'ack-after-kick', kind: AckKind.DELIVERED, convId: `g:${g.groupId}`, seq: 1 });
    assert.equal((await c!.c.next(MessageType.ERROR)).code, 'NOT_A_MEMBER', 'a kicked member cannot move its cursor');

    // offline e catches up in order at login: create, m1, kick, m2
    const e2 = await relogin(srv.port, e!);
    const got = e2.ack.messages.filter((m) => m.groupId === g.groupId);
    assert.deepEqual(got.map((m) => m.seq), [1, 2, 3, 4]);
    assert.deepEqual(got.map((m) => m.id).filter((x) => !x.startsWith('sys:')), ['m1', 'm2']);
    const conv = e2.ack.unread.find((u) => u.convId === `g:${g.groupId}`);
    assert.equal(conv?.unread, 4);

    // conversation list shows the group with its unread count
    const list = await request(a!.c, MessageType.CONV_LIST_REQUEST, {}, MessageType.CONV_LIST);
    const row = list.convs.find((x) => x.convId === `g:${g.groupId}`)!;
    assert.deepEqual([row.convType, row.groupId, row.lastSeq, row.unread], [1, g.groupId, 4, 2]);

    // read receipts: b reads up to 2; who has read m1 (seq 2)?
    await request(b!.c, MessageType.READ_REQUEST, { convId: `g:${g.groupId}`, seq: 2 }, MessageType.READ_RESPONSE);
    const rr = await request(a!.c, MessageType.GROUP_READ_REQUEST, { groupId: g.groupId, seq: 2 }, MessageType.GROUP_READ_RESPONSE);
    assert.deepEqual([rr.readCount, rr.memberCount], [2, 3]);
    assert.deepEqual(rr.readers.map((r) => r.userId).sort(), [a!.id, b!.id].sort());
    await rejectsWith(request(d!.c, MessageType.GROUP_READ_REQUEST, { groupId: g.groupId, seq: 2 }, MessageType.GROUP_READ_RESPONSE), 'NOT_A_MEMBER');

    const mem = await request(b!.c, MessageType.GROUP_MEMBERS_REQUEST, { groupId: g.groupId }, MessageType.GROUP_MEMBERS);
    assert.deepEqual(mem.members.map((m) => [m.userId, m.userName, m.role]),
      [[a!.id, a!.name, 2], [b!.id, b!.name, 0], [e!.id, e!.name, 0]].sort((x, y) => (x[0] as number) - (y[0] as number)));

    // rename, leave, and the typed errors
    await rejectsWith(groupOp(b!, GroupOp.RENAME, { groupId: g.groupId, name: 'x' }), 'NOT_ALLOWED');
    assert.equal((await groupOp(a!, GroupOp.RENAME, { groupId: g.groupId, name: 'renamed' })).group!.name, 'renamed');
    await rejectsWith(groupOp(a!, GroupOp.LEAVE, { groupId: g.groupId }), 'NOT_ALLOWED');
    const left = await groupOp(b!, GroupOp.LEAVE, { groupId: g.groupId });
    assert.equal(left.group!.memberCount, 2);
    await rejectsWith(groupOp(a!, GroupOp.INVITE, { groupId: 987654321, members: ids(b!.id) }), 'NO_SUCH_GROUP');
    await rejectsWith(groupOp(a!, GroupOp.OP_NONE, {}), 'BAD_REQUEST');
    for (const u of [a!, b!, c!, d!]) u.c.destroy();
    e2.c.destroy();
  });

  it('join by application: apply, approve (the applicant gets the join notice), GROUP_FULL', async () => {
    const [o, x, y] = await Promise.all(['go', 'gx', 'gy'].map((t) => newUser(srv.port, t))) as User[];
    const g = (await groupOp(o!, GroupOp.CREATE, { name: 'club', maxMembers: 2 })).group!;
    assert.equal(g.maxMembers, 2);
    const ap = await groupOp(x!, GroupOp.APPLY, { groupId: g.groupId, message: 'please' });
    assert.ok(ap.applyId > 0);
    await groupOp(y!, GroupOp.APPLY, { groupId: g.groupId });
    const ok = await groupOp(o!, GroupOp.APPROVE, { groupId: g.groupId, userId: x!.id });
    assert.deepEqual(ok.members.map((m) => m.userId), [x!.id]);
    assert.equal(event(await nextChat(x!, (m) => m.groupId === g.groupId)).event, 'join');
    await rejectsWith(groupOp(o!, GroupOp.APPROVE, { groupId: g.groupId, userId: y!.id }), 'GROUP_FULL');
    await groupOp(o!, GroupOp.REJECT, { groupId: g.groupId, userId: y!.id });
    for (const u of [o!, x!, y!]) u.c.destroy();
  });

  it('a join application notifies the owner and the admins (stored until acked), not plain members', async () => {
    const [o, ad, m, x] = await Promise.all(['no', 'nad', 'nm', 'nx'].map((t) => newUser(srv.port, t))) as User[];
    const g = (await groupOp(o!, GroupOp.CREATE, { name: 'desk', members: ids(ad!.id, m!.id) })).group!;
    await groupOp(o!, GroupOp.SET_ROLE, { groupId: g.groupId, userId: ad!.id, role: GroupRole.ADMIN });
    m!.c.destroy(); // offline: would get it at login if it were a decider
    const ap = await groupOp(x!, GroupOp.APPLY, { groupId: g.groupId, message: 'let me in' });
    for (const u of [o!, ad!]) {
      const n = await nextNotice(u.c, NoticeKind.GROUP_APPLY);
      assert.deepEqual([n.fromUserId, n.fromUserName, n.applyId, n.convId, n.message], [x!.id, x!.name, ap.applyId, `g:${g.groupId}`, 'let me in']);
      assert.ok(n.noticeId > 0);
    }
    const back = await relogin(srv.port, m!);
    const o2 = await relogin(srv.port, o!, 2); // not acked yet: re-sent at login
    assert.equal((await nextNotice(o2.c, NoticeKind.GROUP_APPLY)).applyId, ap.applyId);
    await sleep(200);
    assert.deepEqual(back.c.frames.filter((f) => f.type === MessageType.NOTIFICATION), [], 'a plain member is not asked');
    for (const u of [o!, ad!, x!, back, o2]) u.c.destroy();
  });
});

describe('group fan-out across three instances (embedded cluster)', () => {
  it('every online member connection gets the message exactly once; offline members catch up', async () => {
    const hub = new MemoryBusHub();
    const s1 = await startTestServer({ instanceId: `gx1-${process.pid}` }, { hub });
    const s2 = await startTestServer({ instanceId: `gx2-${process.pid}` }, { hub, store: s1.store });
    const s3 = await startTestServer({ instanceId: `gx3-${process.pid}` }, { hub, store: s1.store });
    const servers = [s1, s2, s3];
    try {
      const users: User[] = [];
      for (let i = 0; i < 12; i++) users.push(await newUser(servers[i % 3]!.port, `gm${i}`));
      const owner = users[0]!;
      // a second device of users[1] on another instance
      const extra = await relogin(servers[2]!.port, users[1]!, 2);
      const conns: C[] = [...users, extra];
      const g = (await groupOp(owner, GroupOp.CREATE, { name: 'x3', members: ids(...users.slice(1).map((u) => u.id)) })).group!;
      for (const u of conns) await nextChat(u, (m) => m.groupId === g.groupId && m.msgType === ChatKind.SYSTEM);

      const offline = users[11]!;
      offline.c.destroy();
      await sleep(50);
      const N = 20;
      for (let i = 0; i < N; i++) owner.c.send(MessageType.CHAT, { id: `x${i}`, groupId: g.groupId, msgBody: Buffer.from(`x${i}`) });
      for (let i = 0; i < N; i++) await owner.c.next(MessageType.ACK, (m) => m.clientMsgId === `x${i}`);
      const online = conns.filter((u) => u !== owner && u !== offline);
      for (const u of online) {
        for (let i = 0; i < N; i++) await nextChat(u, (m) => m.id === `x${i}`);
      }
      await sleep(100);
      for (const u of online) assert.deepEqual(chatsSoFar(u, g.groupId).map((m) => m.id), [], 'exactly once per connection');

      const back = await relogin(s2.port, offline);
      const seqs = back.ack.messages.filter((m) => m.groupId === g.groupId && m.msgType !== ChatKind.SYSTEM).map((m) => m.id);
      assert.deepEqual(seqs, Array.from({ length: N }, (_, i) => `x${i}`), 'offline member catches up in order');

      // A kick made on instance 1 reaches instance 2's member cache at once (the SYSTEM message
      // invalidates it), not after the TTL: a send from instance 2 right after skips the kicked user.
      const s2member = users[2]!; // on s3 (index 2)
      const kicked = users[4]!; // on s2 (index 1)
      await sendGroup(s2member, g.groupId, 'warm'); // instance 3 caches the member list
      await nextChat(kicked, (m) => m.id === 'warm');
      await groupOp(owner, GroupOp.KICK, { groupId: g.groupId, members: ids(kicked.id) });
      await nextChat(kicked, (m) => m.msgType === ChatKind.SYSTEM && m.groupId === g.groupId);
      await nextChat(s2member, (m) => m.msgType === ChatKind.SYSTEM && m.groupId === g.groupId);
      await sendGroup(s2member, g.groupId, 'after-remote-kick');
      await nextChat(owner, (m) => m.id === 'after-remote-kick');
      await sleep(100);
      assert.deepEqual(chatsSoFar(kicked, g.groupId), [], 'the kicked member gets nothing more, whichever instance sends');
      back.c.destroy();
      for (const u of conns) u.c.destroy();
    } finally {
      await s3.stop();
      await s2.stop();
      await s1.stop();
    }
  });
});

describe('a kick on one instance while another instance still has the old member list', () => {
  it('a message sent through that instance after the kick never reaches the kicked member; the others get it once', async () => {
    const hub = new MemoryBusHub();
    const s1 = await startTestServer({ instanceId: `gk1-${process.pid}` }, { hub });
    const bus2 = new HoldingBus(new MemoryBus(hub));
    const s2 = await startTestServer({ instanceId: `gk2-${process.pid}` }, { hub, store: s1.store, bus: bus2 });
    try {
      const [owner, kicked, stays] = await Promise.all(['gko', 'gkk', 'gks'].map((t) => newUser(s1.port, t))) as User[];
      const sender = await newUser(s2.port, 'gkx');
      const all = [owner!, kicked!, stays!, sender];
      const g = (await groupOp(owner!, GroupOp.CREATE, { name: 'stale', members: ids(kicked!.id, stays!.id, sender.id) })).group!;
      for (const u of all) await nextChat(u, (m) => m.groupId === g.groupId && m.msgType === ChatKind.SYSTEM);
      await sendGroup(sender, g.groupId, 'warm'); // instance 2 caches the member list, kicked included
      for (const u of [owner!, kicked!, stays!]) await nextChat(u, (m) => m.id === 'warm');

      bus2.holding = true;
      await groupOp(owner!, GroupOp.KICK, { groupId: g.groupId, members: ids(kicked!.id) });
      for (const u of [owner!, kicked!, stays!]) await nextChat(u, (m) => m.msgType === ChatKind.SYSTEM && m.groupId === g.groupId);
      await bus2.heldOne(); // the kick is on its way to instance 2, which has not seen it
      await sendGroup(sender, g.groupId, 'after-kick');
      for (const u of [owner!, stays!]) await nextChat(u, (m) => m.id === 'after-kick');
      await bus2.release();
      await nextChat(sender, (m) => m.msgType === ChatKind.SYSTEM && m.groupId === g.groupId);
      await sendGroup(owner!, g.groupId, 'marker'); // after this, nothing of the group is in flight to instance 1
      for (const u of [stays!, sender]) await nextChat(u, (m) => m.id === 'marker');
      await sleep(50);
      assert.deepEqual(chatsSoFar(kicked!, g.groupId).map((m) => m.id), [], 'the kicked member gets nothing more');
      for (const u of [owner!, stays!, sender]) assert.deepEqual(chatsSoFar(u, g.groupId).map((m) => m.id), [], 'exactly once');
      for (const u of all) u.c.destroy();
    } finally {
      await s2.stop();
      await s1.stop();
    }
  });
});

describe('a kicked member sending through an instance that has not heard of the kick', () => {
  it('is refused by the store (NOT_A_MEMBER): nothing stored, nobody gets it, history and catch-up stay closed', async () => {
    const hub = new MemoryBusHub();
    const s1 = await startTestServer({ instanceId: `gn1-${process.pid}` }, { hub });
    const bus2 = new HoldingBus(new MemoryBus(hub));
    const s2 = await startTestServer({ instanceId: `gn2-${process.pid}` }, { hub, store: s1.store, bus: bus2 });
    try {
      const [owner, stays] = await Promise.all(['gno', 'gns'].map((t) => newUser(s1.port, t))) as User[];
      const [kicked, peer] = await Promise.all(['gnk', 'gnp'].map((t) => newUser(s2.port, t))) as User[];
      const g = (await groupOp(owner!, GroupOp.CREATE, { name: 'late', members: ids(kicked!.id, stays!.id, peer!.id) })).group!;
      const conv = `g:${g.groupId}`;
      for (const u of [owner!, kicked!, stays!, peer!]) await nextChat(u, (m) => m.groupId === g.groupId && m.msgType === ChatKind.SYSTEM);
      await sendGroup(kicked!, g.groupId, 'warm'); // instance 2 caches the member list, kicked included
      for (const u of [owner!, stays!, peer!]) await nextChat(u, (m) => m.id === 'warm');

      bus2.holding = true;
      await groupOp(owner!, GroupOp.KICK, { groupId: g.groupId, members: ids(kicked!.id) });
      for (const u of [owner!, stays!]) await nextChat(u, (m) => m.msgType === ChatKind.SYSTEM && m.groupId === g.groupId);
      await bus2.heldOne(); // instance 2 still lists the kicked member
      kicked!.c.send(MessageType.CHAT, { id: 'late', groupId: g.groupId, receiveId: 0, msgBody: Buffer.from('x') });
      assert.equal((await kicked!.c.next(MessageType.ERROR)).code, 'NOT_A_MEMBER', 'the store checks membership under the lock');
      assert.ok(!(await s1.store.chats.readAfter(conv, 0, 100)).some((m) => m.clientMsgId === 'late'), 'nothing stored');
      assert.equal(await s1.store.chats.isMember(kicked!.id, conv), false, 'no member row re-created');
      kicked!.c.send(MessageType.CHAT, { id: 'late2', groupId: g.groupId, receiveId: 0, msgBody: Buffer.from('x') });
      assert.equal((await kicked!.c.next(MessageType.ERROR)).code, 'NOT_A_MEMBER', 'again (the cache was invalidated)');

      await bus2.release();
      await nextChat(peer!, (m) => m.msgType === ChatKind.SYSTEM && m.groupId === g.groupId);
      await sendGroup(owner!, g.groupId, 'marker'); // after this, nothing of the group is in flight
      for (const u of [stays!, peer!]) await nextChat(u, (m) => m.id === 'marker');
      await sleep(50);
      for (const u of [owner!, kicked!, stays!, peer!]) {
        assert.deepEqual(chatsSoFar(u, g.groupId).filter((m) => m.id.startsWith('late')), [], 'nobody receives the refused chat');
      }
      assert.ok(!chatsSoFar(kicked!, g.groupId).some((m) => m.id === 'marker'), 'the kicked member receives nothing more');
      await rejectsWith(request(kicked!.c, MessageType.HISTORY_REQUEST, { convId: conv }, MessageType.HISTORY_RESPONSE), 'NOT_A_MEMBER');
      kicked!.c.destroy();
      const again = await relogin(s2.port, kicked!);
      assert.deepEqual(again.ack.messages.filter((m) => m.groupId === g.groupId), [], 'no catch-up of the group at login');
      assert.ok(!again.ack.unread.some((u) => u.convId === conv));
      for (const u of [owner!, stays!, peer!, again]) u.c.destroy();
    } finally {
      await s2.stop();
      await s1.stop();
    }
  });
});

describe('a stalled member', () => {
  it('is evicted as a slow consumer while the others receive everything', async () => {
    const srv = await startTestServer({ auth: 'open' }); // maxOutboundBytes: the 1 MiB default
    try {
      const sender = await login(srv.port, { userId: 9101 });
      const stalled = await login(srv.port, { userId: 9102 });
      const others = await Promise.all([9103, 9104, 9105].map((userId) => login(srv.port, { userId })));
      const g = (await groupOp(sender, GroupOp.CREATE, { name: 'flood', members: ids(9102, 9103, 9104, 9105) })).group!;
      for (const u of [stalled, ...others]) await nextChat(u, (m) => m.groupId === g.groupId);
      stalled.c.socket.pause(); // stops reading: the kernel buffers fill, then the server's
      const got = others.map(() => 0);
      const drain = (): void => others.forEach((o, i) => {
        got[i] += o.c.frames.filter((f) => f.type === MessageType.CHAT).length;
        o.c.frames.length = 0; // keep the test's memory flat
      });
      const body = Buffer.alloc(8 * 1024, 'x');
      let n = 0;
      while (!srv.stats.errors.get('SLOW_CONSUMER') && n < 20_000) {
        for (let k = 0; k < 20; k++, n++) sender.c.send(MessageType.CHAT, { id: `f${n}`, groupId: g.groupId, msgBody: body });
        await sender.c.next(MessageType.ACK, (m) => m.clientMsgId === `f${n - 1}`, 10_000);
        sender.c.frames.length = 0;
        drain();
      }
      assert.equal(srv.stats.errors.get('SLOW_CONSUMER'), 1, `not evicted after ${n} messages`);
      assert.ok(n < 20_000);
      // the others received everything sent so far, and keep receiving
      const deadline = Date.now() + 10_000;
      while (got.some((x) => x < n) && Date.now() < deadline) {
        await sleep(10);
        drain();
      }
      assert.deepEqual(got, others.map(() => n), 'every other member got every message');
      await sendGroup(sender, g.groupId, 'after');
      for (const o of others) await nextChat(o, (m) => m.id === 'after');
      for (const u of [sender, stalled, ...others]) u.c.destroy();
    } finally {
      await srv.stop();
    }
  });
});

describe('a 2,000-member group', () => {
  it('every member gets the message once', { timeout: 60_000 }, async () => {
    const srv = await startTestServer({ auth: 'open' });
    try {
      const N = 2000;
      const base = 700_000;
      const members: Array<{ c: RawClient }> = [];
      for (let i = 0; i < N; i += 100) {
        members.push(...await Promise.all(Array.from({ length: Math.min(100, N - i) }, (_, k) => login(srv.port, { userId: base + i + k }))));
      }
      const owner = members[0]!;
      const g = (await groupOp(owner, GroupOp.CREATE, { name: 'big', members: ids(...Array.from({ length: N - 1 }, (_, i) => base + 1 + i)) })).group!;
      assert.equal(g.memberCount, N);
      await Promise.all(members.map((u) => nextChat(u, (m) => m.groupId === g.groupId, 20_000)));
      const t0 = Date.now();
      await sendGroup(owner, g.groupId, 'big1');
      await Promise.all(members.slice(1).map((u) => nextChat(u, (m) => m.id === 'big1', 20_000)));
      const ms = Date.now() - t0;
      await sleep(50);
      for (const u of members.slice(1)) assert.equal(chatsSoFar(u, g.groupId).length, 0);
      assert.ok(ms < 10_000, `fan-out to 2,000 took ${ms} ms`);
      for (const u of members) u.c.destroy();
    } finally {
      await srv.stop();
    }
  });
});
