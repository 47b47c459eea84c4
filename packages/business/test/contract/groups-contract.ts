/**
 * The group contract (issue 5), run against every backend: SQLite in test/groups-sqlite.test.ts,
 * MariaDB in test/integration/groups-mysql.test.ts. Every test uses fresh user ids.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ChatKind, groupConvId, privateConvId, RequestError } from '@hxim/im-common';
import { ChatBatcher } from '../../src/batcher';
import { GroupRole, type SystemEvent } from '../../src/groups/ports';
import type { NewChat, Store } from '../../src/ports';
import { freshUser, rejectsCode } from './friends-contract';

function users(n: number): number[] {
  return Array.from({ length: n }, () => freshUser());
}

function event(body: Uint8Array): SystemEvent {
  return JSON.parse(Buffer.from(body).toString('utf8')) as SystemEvent;
}

/** Runs the contract against the store `open` returns (opened once, closed at the end). */
export function runGroupContract(name: string, open: () => Promise<Store>): void {
  describe(`Group contract: ${name}`, () => {
    let store: Store;
    before(async () => { store = await open(); });
    after(async () => { await store?.close(); });

    it('creates a group: the creator owns it, members get group and conversation rows, a SYSTEM create message is seq 1', async () => {
      const [owner, a, b] = users(3);
      const c = await store.groups.create(owner!, '  team  ', [a!, b!, a!, owner!], 10_000);
      const g = c.group;
      assert.ok(g.groupId > 0);
      assert.equal(g.name, 'team');
      assert.equal(g.ownerId, owner);
      assert.equal(g.memberCount, 3);
      assert.deepEqual(c.added.sort(), [owner!, a!, b!].sort());
      assert.deepEqual(await store.groups.memberIds(g.groupId), [owner!, a!, b!].sort((x, y) => x - y));
      assert.equal(await store.groups.roleOf(g.groupId, owner!), GroupRole.OWNER);
      assert.equal(await store.groups.roleOf(g.groupId, a!), GroupRole.MEMBER);
      assert.equal(await store.groups.roleOf(g.groupId, freshUser()), null);
      assert.ok(c.system);
      assert.equal(c.system.seq, 1);
      assert.equal(c.system.msgType, ChatKind.SYSTEM);
      assert.equal(c.system.senderId, 0);
      assert.deepEqual(event(c.system.body).event, 'create');
      assert.deepEqual([...c.notify].sort(), [owner!, a!, b!].sort());
      const conv = groupConvId(g.groupId);
      assert.equal(await store.chats.isMember(a!, conv), true);
      // the create message is unread for the invited members (lagging cursors: catch-up by seq)
      const lag = await store.chats.lagging(a!);
      assert.deepEqual(lag.filter((x) => x.convId === conv).map((x) => [x.lastSeq, x.ackSeq, x.readSeq]), [[1, 0, 0]]);
      const hist = await store.chats.readAfter(conv, 0, 10);
      assert.equal(hist.length, 1);
      assert.equal(await store.groups.get(g.groupId).then((x) => x?.name), 'team');
    });

    it('group chats are stored once with a group seq; unread = last seq − read seq per member; readers', async () => {
      const [owner, a, b] = users(3);
      const { group: g } = await store.groups.create(owner!, 'g', [a!, b!], 100);
      const conv = groupConvId(g.groupId);
      const r = await store.chats.appendBatch([1, 2, 3].map((i) => ({
        senderId: owner!, clientMsgId: `gm${g.groupId}-${i}`, convId: conv, memberIds: [owner!], recipientId: 0,
        groupId: g.groupId, msgType: 0, body: Buffer.from(`m${i}`), clientTime: 0,
      })));
      assert.deepEqual(r.map((x) => x.seq), [2, 3, 4]);
      const [cur] = await store.chats.cursors(b!, [conv]);
      assert.equal(cur!.lastSeq - cur!.readSeq, 4);
      await store.chats.advanceRead([{ userId: a!, convId: conv, seq: 3 }]);
      const rd = await store.groups.readers(g.groupId, 3, 10);
      assert.equal(rd.count, 2, 'owner (sender) and a');
      assert.deepEqual(rd.members.map((m) => m.userId).sort(), [owner!, a!].sort());
      assert.equal((await store.groups.readers(g.groupId, 4, 10)).count, 1);
      const page = await store.groups.members(g.groupId, 0, 2);
      assert.equal(page.length, 2);
      assert.deepEqual((await store.groups.members(g.groupId, page[1]!.userId, 10)).length, 1);
    });

    it('invite adds members from the current seq (history is not unread), skips existing ones, enforces the size limit', async () => {
      const [owner, a, b, c, d] = users(5);
      const { group: g } = await store.groups.create(owner!, 'small', [a!], 3);
      const inv = await store.groups.invite(a!, g.groupId, [owner!, b!]);
      assert.deepEqual(inv.added, [b!]);
      assert.equal(inv.group.memberCount, 3);
      assert.equal(event(inv.system!.body).event, 'join');
      const [cur] = await store.chats.cursors(b!, [groupConvId(g.groupId)]);
      assert.equal(cur!.lastSeq - cur!.readSeq, 1, 'only the join notice is unread');
      await rejectsCode(store.groups.invite(owner!, g.groupId, [c!]), 'GROUP_FULL');
      await rejectsCode(store.groups.invite(d!, g.groupId, [c!]), 'NOT_A_MEMBER');
      await rejectsCode(store.groups.invite(owner!, 999_999_999, [c!]), 'NO_SUCH_GROUP');
      await rejectsCode(store.groups.create(owner!, 'x', [a!, b!, c!], 3), 'GROUP_FULL');
      await rejectsCode(store.groups.create(owner!, '', [a!], 3), 'BAD_REQUEST');
      const noop = await store.groups.invite(owner!, g.groupId, [a!]);
      assert.equal(noop.system, null);
    });

    it('roles: admins rename and kick members; only the owner kicks admins, sets roles, transfers, dismisses', async () => {
      const [owner, adm, m1, m2] = users(4);
      const { group: g } = await store.groups.create(owner!, 'roles', [adm!, m1!, m2!], 100);
      await rejectsCode(store.groups.rename(m1!, g.groupId, 'no'), 'NOT_ALLOWED');
      await rejectsCode(store.groups.setRole(adm!, g.groupId, m1!, GroupRole.ADMIN), 'NOT_ALLOWED');
      await store.groups.setRole(owner!, g.groupId, adm!, GroupRole.ADMIN);
      assert.equal(await store.groups.roleOf(g.groupId, adm!), GroupRole.ADMIN);
      assert.equal((await store.groups.rename(adm!, g.groupId, 'renamed')).group.name, 'renamed');
      await rejectsCode(store.groups.kick(m1!, g.groupId, [m2!]), 'NOT_ALLOWED');
      await rejectsCode(store.groups.kick(adm!, g.groupId, [owner!]), 'NOT_ALLOWED');
      const k = await store.groups.kick(adm!, g.groupId, [m2!]);
      assert.deepEqual(k.removed, [m2!]);
      assert.ok(!k.notify.includes(m2!), 'the kicked member is not told through the group');
      assert.equal(await store.chats.isMember(m2!, groupConvId(g.groupId)), false, 'conversation row gone');
      await rejectsCode(store.groups.leave(owner!, g.groupId), 'NOT_ALLOWED');
      await rejectsCode(store.groups.transfer(adm!, g.groupId, m1!), 'NOT_ALLOWED');
      const t = await store.groups.transfer(owner!, g.groupId, m1!);
      assert.equal(t.group.ownerId, m1);
      assert.equal(await store.groups.roleOf(g.groupId, owner!), GroupRole.ADMIN);
      assert.equal(await store.groups.roleOf(g.groupId, m1!), GroupRole.OWNER);
      const l = await store.groups.leave(owner!, g.groupId);
      assert.deepEqual(l.removed, [owner!]);
      assert.equal(l.group.memberCount, 2);
      await rejectsCode(store.groups.dismiss(adm!, g.groupId), 'NOT_ALLOWED');
      const d = await store.groups.dismiss(m1!, g.groupId);
      assert.deepEqual([...d.notify].sort(), [adm!, m1!].sort());
      assert.equal(event(d.system!.body).event, 'dismiss');
      assert.equal(await store.groups.get(g.groupId), null);
      assert.deepEqual(await store.groups.memberIds(g.groupId), []);
      await rejectsCode(store.groups.invite(m1!, g.groupId, [m2!]), 'NO_SUCH_GROUP');
      // the history stays
      const kinds = (await store.chats.readAfter(groupConvId(g.groupId), 0, 100)).map((m) => event(m.body).event);
      assert.deepEqual(kinds, ['create', 'role', 'rename', 'kick', 'transfer', 'leave', 'dismiss']);
    });

    it('membership changes move member_seq: appends return it (fast and locking paths), memberList reads it with the list', async () => {
      const [owner, a, b, c] = users(4);
      const { group: g } = await store.groups.create(owner!, 'mseq', [a!, b!], 100);
      const conv = groupConvId(g.groupId);
      const fast = (): number => (store.chats as { appendStats?: { fast: number } }).appendStats?.fast ?? 0;
      let n = 0;
      const send = async (from: number): Promise<{ seq: number; memberSeq: number }> => {
        const [r] = await store.chats.appendBatch([{
          senderId: from, clientMsgId: `mseq-${g.groupId}-${++n}`, convId: conv, memberIds: [from], recipientId: 0,
          groupId: g.groupId, msgType: ChatKind.TEXT, body: Buffer.from('x'), clientTime: 0,
        }]);
        return { seq: r!.seq, memberSeq: r!.memberSeq };
      };
      assert.deepEqual(await store.groups.memberList(g.groupId), { ids: [owner!, a!, b!].sort((x, y) => x - y), memberSeq: 1 });
      assert.deepEqual(await send(a!), { seq: 2, memberSeq: 1 });
      await store.groups.rename(owner!, g.groupId, 'renamed'); // seq 3: not a membership change
      await store.groups.setRole(owner!, g.groupId, a!, GroupRole.ADMIN); // seq 4: neither
      assert.deepEqual(await send(a!), { seq: 5, memberSeq: 1 });
      const k = await store.groups.kick(owner!, g.groupId, [b!]);
      assert.equal(k.system!.seq, 6);
      assert.deepEqual(await send(a!), { seq: 7, memberSeq: 6 }, 'the first append after a kick sees it');
      const before = fast();
      assert.deepEqual(await send(owner!), { seq: 8, memberSeq: 6 }, 'and so does the next one');
      if ('appendStats' in store.chats) assert.equal(fast(), before + 1, 'MySQL: the second append took the one-round-trip path');
      assert.deepEqual(await store.groups.memberList(g.groupId), { ids: [owner!, a!].sort((x, y) => x - y), memberSeq: 6 });
      await store.groups.invite(a!, g.groupId, [c!]); // seq 9
      const [dup] = await store.chats.appendBatch([{
        senderId: a!, clientMsgId: `mseq-${g.groupId}-1`, convId: conv, memberIds: [a!], recipientId: 0,
        groupId: g.groupId, msgType: ChatKind.TEXT, body: Buffer.from('x'), clientTime: 0,
      }]);
      assert.deepEqual([dup!.duplicate, dup!.seq, dup!.memberSeq], [true, 2, 9], 'a duplicate carries the current member_seq');
      assert.deepEqual(await send(c!), { seq: 10, memberSeq: 9 });
      await store.groups.leave(c!, g.groupId); // seq 11
      assert.deepEqual(await send(a!), { seq: 12, memberSeq: 11 });
      const d = await store.groups.dismiss(owner!, g.groupId);
      assert.deepEqual(await store.groups.memberList(g.groupId), { ids: [], memberSeq: d.system!.seq });
      assert.deepEqual(await store.groups.memberList(g.groupId + 1_000_000), { ids: [], memberSeq: 0 }, 'unknown group');
      const [p2p] = await store.chats.appendBatch([{
        senderId: a!, clientMsgId: `mseq-p-${g.groupId}`, convId: privateConvId(a!, owner!), memberIds: [a!, owner!],
        recipientId: owner!, groupId: 0, msgType: ChatKind.TEXT, body: Buffer.from('x'), clientTime: 0,
      }]);
      assert.equal(p2p!.memberSeq, 0, '1:1 conversations have no membership changes');
    });

    it('a group chat from a non-member (kicked, stranger) is refused alone: NOT_A_MEMBER, nothing stored, no member row', async () => {
      const [owner, a, kicked, stranger] = users(4);
      const { group: g } = await store.groups.create(owner!, 'guard', [a!, kicked!], 100);
      const conv = groupConvId(g.groupId);
      const stats = (): { fast: number; fastMisses: number } | undefined => {
        const live = (store.chats as { appendStats?: { fast: number; fastMisses: number } }).appendStats;
        return live && { ...live }; // a copy: the store's counters are live
      };
      const gchat = (from: number, id: string): NewChat => ({
        senderId: from, clientMsgId: `guard-${g.groupId}-${id}`, convId: conv, memberIds: [from], recipientId: 0,
        groupId: g.groupId, msgType: ChatKind.TEXT, body: Buffer.from(id), clientTime: 0,
      });
      const [early] = await store.chats.appendBatch([gchat(kicked!, 'early')]); // seq 2, while a member
      assert.equal(early!.seq, 2);
      await store.groups.kick(owner!, g.groupId, [kicked!]); // seq 3
      await store.chats.appendBatch([gchat(owner!, 'warm')]); // seq 4; MySQL: the seq hint is set again
      const p2p: NewChat = { ...gchat(a!, 'p2p'), convId: privateConvId(a!, owner!), memberIds: [a!, owner!], recipientId: owner!, groupId: 0 };
      const r = await store.chats.appendBatch([
        gchat(kicked!, 'late'), gchat(a!, 'ok1'), gchat(stranger!, 'x'), p2p, gchat(kicked!, 'late'), gchat(kicked!, 'early'), gchat(a!, 'ok2'),
      ]);
      assert.deepEqual(r.map((x) => x.refused?.code ?? x.seq), ['NOT_A_MEMBER', 5, 'NOT_A_MEMBER', 1, 'NOT_A_MEMBER', 'NOT_A_MEMBER', 6],
        'non-members refused (a resend of what they sent as members too), everything else stored');
      assert.ok(r[0]!.refused instanceof RequestError);
      assert.deepEqual([r[0]!.serverMsgId, r[0]!.seq, r[0]!.duplicate], [0, 0, false]);
      const hist = await store.chats.readAfter(conv, 0, 100);
      assert.deepEqual(hist.map((m) => [m.seq, m.senderId]), [[1, 0], [2, kicked!], [3, 0], [4, owner!], [5, a!], [6, a!]]);
      for (const u of [kicked!, stranger!]) {
        assert.equal(await store.chats.isMember(u, conv), false, `no conversation_member row for ${u}`);
        assert.deepEqual(await store.chats.cursors(u, [conv]), []);
        assert.ok(!(await store.chats.lagging(u)).some((x) => x.convId === conv), 'no catch-up');
      }
      const before = stats();
      const [alone] = await store.chats.appendBatch([gchat(kicked!, 'alone')]);
      assert.equal(alone!.refused?.code, 'NOT_A_MEMBER', 'a batch of only refused chats');
      if (before) assert.equal(stats()!.fastMisses, before.fastMisses + 1, 'MySQL: the fast packet failed on the guard, the locking path refused');
      await rejectsCode(new ChatBatcher(store.chats).append(gchat(kicked!, 'batched')), 'NOT_A_MEMBER');
      const fastBefore = stats()?.fast ?? 0;
      const [ok] = await store.chats.appendBatch([gchat(a!, 'ok3')]);
      assert.equal(ok!.seq, 7);
      if (before) assert.equal(stats()!.fast, fastBefore + 1, 'MySQL: members still take the one-round-trip path (the guard passes)');
      assert.equal((await store.chats.readAfter(conv, 6, 100)).length, 1);
    });

    it('join by application: apply, duplicate refused, approve adds the member, reject closes it', async () => {
      const [owner, u1, u2] = users(3);
      const { group: g } = await store.groups.create(owner!, 'apply', [], 2);
      const a = await store.groups.apply(u1!, g.groupId, 'let me in');
      assert.ok(a.applyId > 0);
      await rejectsCode(store.groups.apply(u1!, g.groupId, ''), 'APPLY_PENDING');
      await rejectsCode(store.groups.apply(owner!, g.groupId, ''), 'ALREADY_MEMBER');
      await store.groups.apply(u2!, g.groupId, '');
      assert.deepEqual((await store.groups.applications(g.groupId, 10)).map((x) => x.applicantId), [u1!, u2!]);
      await rejectsCode(store.groups.decide(u2!, g.groupId, u1!, true), 'NOT_A_MEMBER');
      const ok = await store.groups.decide(owner!, g.groupId, u1!, true);
      assert.deepEqual(ok.added, [u1!]);
      assert.equal(ok.applyId, a.applyId);
      await rejectsCode(store.groups.decide(owner!, g.groupId, u1!, true), 'NO_APPLICATION');
      await rejectsCode(store.groups.decide(owner!, g.groupId, u2!, true), 'GROUP_FULL');
      await store.groups.decide(owner!, g.groupId, u2!, false);
      assert.deepEqual(await store.groups.applications(g.groupId, 10), []);
      await rejectsCode(store.groups.setMaxMembers(owner!, g.groupId, 1, 10_000), 'BAD_REQUEST');
      assert.equal((await store.groups.setMaxMembers(owner!, g.groupId, 5, 10_000)).group.maxMembers, 5);
    });

    it('a re-joining member gets a fresh member row starting at the current seq', async () => {
      const [owner, a] = users(2);
      const { group: g } = await store.groups.create(owner!, 'rejoin', [a!], 100);
      await store.groups.leave(a!, g.groupId);
      await store.groups.invite(owner!, g.groupId, [a!]);
      const [cur] = await store.chats.cursors(a!, [groupConvId(g.groupId)]);
      assert.equal(cur!.lastSeq - cur!.readSeq, 1, 'only the re-join notice is unread');
    });

    it('creates a 2,000-member group in one call', async () => {
      const owner = freshUser();
      const many = users(1999);
      const c = await store.groups.create(owner, 'big', many, 10_000);
      assert.equal(c.group.memberCount, 2000);
      assert.equal((await store.groups.memberIds(c.group.groupId)).length, 2000);
    });
  });
}
