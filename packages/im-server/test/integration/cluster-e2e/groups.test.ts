/**
 * Group fan-out on the real services (issue 5): three in-process instances with MySQL, Redis
 * presence and RabbitMQ, 15 members spread over them (one with a second device on another
 * instance). Every online member connection gets each group message exactly once, each instance
 * receives ONE deliver envelope per message (never one per member), an offline member catches up
 * in order at its next login, and a kicked member gets nothing more, also when the message goes
 * out through an instance that has not yet heard of the kick, and the kicked member cannot post
 * through such an instance (the store refuses it). Never skipped.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { ChatKind, GroupOp, MessageType, type ChatMessage, type GroupResponse } from '@hxim/im-common';
import type { ImServer } from '../../../src';
import { createCluster, silentLogger, type Envelope } from '../../../src/cluster';
import { newUser, relogin, request, type User } from '../../helpers/business';
import { HoldingBus } from '../../helpers/holding-bus';
import type { RawClient } from '../../helpers/raw-client';
import { WIDE_DELIVERY_MIN_USERS } from '../../../src/router';
import { AMQP_URL, REDIS_URL, retrying, sleep, TestCluster } from './helpers';
import { startRecordedInstances } from './recording';

const cluster = new TestCluster('groups');
const seen: Envelope[][] = [[], [], []];
let srv: ImServer[] = [];

before(async () => {
  await cluster.prepare();
  srv = await startRecordedInstances(cluster, 'g', seen);
});
after(() => cluster.cleanup());

function groupOp(u: { c: RawClient }, op: number, fields: Record<string, unknown>): Promise<GroupResponse> {
  return request(u.c, MessageType.GROUP_REQUEST, { op, ...fields }, MessageType.GROUP_RESPONSE, 10_000);
}

function groupChats(c: RawClient, groupId: number): ChatMessage[] {
  return c.frames.filter((f) => f.type === MessageType.CHAT && (f.msg as ChatMessage).groupId === groupId).map((f) => f.msg as ChatMessage);
}

it('fan-out over RabbitMQ: exactly once per connection, one envelope per instance, offline catch-up, kick', async () => {
  const users: User[] = [];
  for (let i = 0; i < 15; i++) users.push(await newUser(srv[i % 3]!.port, `rg${i}`));
  const owner = users[0]!;
  const second = await relogin(srv[2]!.port, users[1]!, 2); // users[1] is on instance 1 too
  const conns: Array<{ c: RawClient }> = [...users, second];
  const members = users.slice(1).map((u) => ({ userId: u.id }));
  const g = (await groupOp(owner, GroupOp.CREATE, { name: 'rabbit', members })).group!;
  for (const u of conns) await u.c.next(MessageType.CHAT, (m) => m.groupId === g.groupId && m.msgType === ChatKind.SYSTEM, 10_000);

  const offline = users[14]!;
  offline.c.destroy();
  await sleep(300); // its location is removed
  for (const s of seen) s.length = 0;
  const N = 10;
  for (let i = 0; i < N; i++) owner.c.send(MessageType.CHAT, { id: `r${i}`, groupId: g.groupId, msgBody: Buffer.from(`r${i}`) });
  for (let i = 0; i < N; i++) await owner.c.next(MessageType.ACK, (m) => m.clientMsgId === `r${i}`, 10_000);
  const online = conns.filter((u) => u !== owner && u !== offline);
  for (const u of online) {
    for (let i = 0; i < N; i++) await u.c.next(MessageType.CHAT, (m) => m.id === `r${i}`, 10_000);
  }
  await sleep(300);
  for (const u of online) assert.deepEqual(groupChats(u.c, g.groupId).map((m) => m.id), [], 'exactly once per connection');
  // owner is on instance 0: instances 1 and 2 each got one envelope per message, carrying their users
  const delivers = seen.map((s) => s.filter((e) => e.kind === 'deliver'));
  assert.equal(delivers[0]!.length, 0, 'the sender\'s instance writes locally');
  for (const i of [1, 2]) {
    assert.equal(delivers[i]!.length, N, `instance ${i}: one envelope per message, not one per member`);
    for (const e of delivers[i]!) if (e.kind === 'deliver') assert.ok(e.userIds.length >= 4);
  }

  const back = await relogin(srv[1]!.port, offline);
  const got = back.ack.messages.filter((m) => m.groupId === g.groupId && m.msgType !== ChatKind.SYSTEM).map((m) => m.id);
  assert.deepEqual(got, Array.from({ length: N }, (_, i) => `r${i}`), 'the offline member catches up in order');

  const kicked = users[2]!; // on instance 2
  await groupOp(owner, GroupOp.KICK, { groupId: g.groupId, members: [{ userId: kicked.id }] });
  await kicked.c.next(MessageType.CHAT, (m) => m.msgType === ChatKind.SYSTEM && m.groupId === g.groupId, 10_000);
  owner.c.send(MessageType.CHAT, { id: 'after-kick', groupId: g.groupId, msgBody: Buffer.from('x') });
  await users[1]!.c.next(MessageType.CHAT, (m) => m.id === 'after-kick', 10_000);
  await sleep(300);
  assert.deepEqual(groupChats(kicked.c, g.groupId).filter((m) => m.msgType !== ChatKind.SYSTEM), [], 'a kicked member gets nothing more');
  for (const u of [...conns, back]) u.c.destroy();
});

it('a big group skips the location lookups: one envelope with every member to each other instance, exactly once per member', async () => {
  const n = WIDE_DELIVERY_MIN_USERS + 5;
  const users: User[] = [];
  for (let i = 0; i < n; i += 15) {
    users.push(...await Promise.all(Array.from({ length: Math.min(15, n - i) }, (_, k) => newUser(srv[(i + k) % 3]!.port, `wg${i + k}`))));
  }
  const owner = users[0]!;
  const g = (await groupOp(owner, GroupOp.CREATE, { name: 'wide', members: users.slice(1).map((u) => ({ userId: u.id })) })).group!;
  assert.equal(g.memberCount, n);
  for (const u of users) await u.c.next(MessageType.CHAT, (m) => m.groupId === g.groupId && m.msgType === ChatKind.SYSTEM, 10_000);
  for (const s of seen) s.length = 0;
  const N = 5;
  for (let i = 0; i < N; i++) owner.c.send(MessageType.CHAT, { id: `w${i}`, groupId: g.groupId, msgBody: Buffer.from(`w${i}`) });
  for (const u of users.slice(1)) {
    for (let i = 0; i < N; i++) await u.c.next(MessageType.CHAT, (m) => m.id === `w${i}`, 10_000);
  }
  await sleep(300);
  for (const u of users.slice(1)) assert.deepEqual(groupChats(u.c, g.groupId).map((m) => m.id), [], 'exactly once per member');
  const delivers = seen.map((s) => s.filter((e) => e.kind === 'deliver'));
  assert.equal(delivers[0]!.length, 0, 'the sender\'s instance writes locally');
  for (const i of [1, 2]) {
    assert.equal(delivers[i]!.length, N, `instance ${i}: one envelope per message`);
    for (const e of delivers[i]!) if (e.kind === 'deliver') assert.equal(e.userIds.length, n, 'the whole member list');
  }
  for (const u of users) u.c.destroy();
});

it('a kick made on one instance holds on another whose member cache has not heard of it yet (MySQL member_seq)', async () => {
  // A fourth instance whose incoming deliver envelopes the test holds back: it keeps the member
  // list it cached before the kick until the kick's SYSTEM message is released.
  const c = await retrying('connecting to Redis and RabbitMQ', 40_000, () => createCluster({
    mode: 'redis-rabbit', redisUrl: REDIS_URL, amqpUrl: AMQP_URL, prefix: cluster.namespace, logger: silentLogger,
  }));
  const bus = new HoldingBus(c.bus);
  const late = await cluster.startInstance('g-late', {}, { presence: c.presence, bus });
  const [owner, kicked, stays] = [await newUser(srv[0]!.port, 'sk0'), await newUser(srv[1]!.port, 'sk1'), await newUser(srv[2]!.port, 'sk2')];
  const sender = await newUser(late.port, 'sk3');
  const all = [owner, kicked, stays, sender];
  const isSystem = (gid: number) => (m: ChatMessage): boolean => m.groupId === gid && m.msgType === ChatKind.SYSTEM;
  const g = (await groupOp(owner, GroupOp.CREATE, { name: 'late', members: [kicked, stays, sender].map((u) => ({ userId: u.id })) })).group!;
  for (const u of all) await u.c.next(MessageType.CHAT, isSystem(g.groupId), 10_000);
  sender.c.send(MessageType.CHAT, { id: 'warm', groupId: g.groupId, msgBody: Buffer.from('w') }); // the late instance caches the list
  for (const u of [owner, kicked, stays]) await u.c.next(MessageType.CHAT, (m) => m.id === 'warm', 10_000);

  bus.holding = true;
  await groupOp(owner, GroupOp.KICK, { groupId: g.groupId, members: [{ userId: kicked.id }] });
  for (const u of [owner, kicked, stays]) await u.c.next(MessageType.CHAT, isSystem(g.groupId), 10_000);
  await bus.heldOne();
  sender.c.send(MessageType.CHAT, { id: 'after-kick', groupId: g.groupId, msgBody: Buffer.from('x') });
  for (const u of [owner, stays]) await u.c.next(MessageType.CHAT, (m) => m.id === 'after-kick', 10_000);
  await bus.release();
  await sender.c.next(MessageType.CHAT, isSystem(g.groupId), 10_000);
  owner.c.send(MessageType.CHAT, { id: 'marker', groupId: g.groupId, msgBody: Buffer.from('m') });
  for (const u of [stays, sender]) await u.c.next(MessageType.CHAT, (m) => m.id === 'marker', 10_000);
  await sleep(300);
  assert.deepEqual(groupChats(kicked.c, g.groupId).map((m) => m.id), [], 'the kicked member gets nothing more');
  for (const u of [owner, stays, sender]) assert.deepEqual(groupChats(u.c, g.groupId).map((m) => m.id), [], 'exactly once');
  for (const u of all) u.c.destroy();
});

it('a member kicked on one instance cannot post through another whose member cache still lists it (MySQL, under the lock)', async () => {
  const c = await retrying('connecting to Redis and RabbitMQ', 40_000, () => createCluster({
    mode: 'redis-rabbit', redisUrl: REDIS_URL, amqpUrl: AMQP_URL, prefix: cluster.namespace, logger: silentLogger,
  }));
  const bus = new HoldingBus(c.bus);
  const late = await cluster.startInstance('g-late-kicked', {}, { presence: c.presence, bus });
  const [owner, stays] = [await newUser(srv[0]!.port, 'sn0'), await newUser(srv[1]!.port, 'sn1')];
  const kicked = await newUser(late.port, 'sn2');
  const isSystem = (gid: number) => (m: ChatMessage): boolean => m.groupId === gid && m.msgType === ChatKind.SYSTEM;
  const g = (await groupOp(owner, GroupOp.CREATE, { name: 'late2', members: [kicked, stays].map((u) => ({ userId: u.id })) })).group!;
  for (const u of [owner, stays, kicked]) await u.c.next(MessageType.CHAT, isSystem(g.groupId), 10_000);
  kicked.c.send(MessageType.CHAT, { id: 'warm', groupId: g.groupId, msgBody: Buffer.from('w') }); // cached list and seq hint on `late`
  for (const u of [owner, stays]) await u.c.next(MessageType.CHAT, (m) => m.id === 'warm', 10_000);

  bus.holding = true;
  await groupOp(owner, GroupOp.KICK, { groupId: g.groupId, members: [{ userId: kicked.id }] });
  for (const u of [owner, stays]) await u.c.next(MessageType.CHAT, isSystem(g.groupId), 10_000);
  await bus.heldOne();
  kicked.c.send(MessageType.CHAT, { id: 'late', groupId: g.groupId, msgBody: Buffer.from('x') });
  assert.equal((await kicked.c.next(MessageType.ERROR, undefined, 10_000)).code, 'NOT_A_MEMBER');
  await bus.release();
  owner.c.send(MessageType.CHAT, { id: 'marker', groupId: g.groupId, msgBody: Buffer.from('m') });
  await stays.c.next(MessageType.CHAT, (m) => m.id === 'marker', 10_000);
  await sleep(300);
  for (const u of [owner, stays, kicked]) assert.ok(!groupChats(u.c, g.groupId).some((m) => m.id === 'late'), 'nobody gets the refused chat');
  const again = await relogin(srv[0]!.port, kicked);
  assert.deepEqual(again.ack.messages.filter((m) => m.groupId === g.groupId), [], 'no catch-up: no member row was re-created');
  for (const u of [owner, stays, kicked, again]) u.c.destroy();
});
