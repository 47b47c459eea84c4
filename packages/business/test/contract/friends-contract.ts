/**
 * The friend and notice contract (issue 4), run against every backend like the Store contract:
 * SQLite in test/business-sqlite.test.ts, MariaDB in test/integration/business-mysql.test.ts.
 * Every test uses fresh user ids, so one store serves the whole suite.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { RequestError } from '@hxim/im-common';
import { APPLY_STATUS, NOTICE_KIND, type FriendChange } from '../../src/friends/ports';
import type { Store } from '../../src/ports';

let nextId = 3_000_000_000 + Math.floor(Math.random() * 1_000_000) * 1000;
/** A user id no other test uses (friend tables do not require accounts). */
export function freshUser(): number {
  return ++nextId;
}

/** Asserts that `p` rejects with a RequestError of `code`. */
export async function rejectsCode(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof RequestError, `expected a RequestError ${code}, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  });
}

/** Two fresh users who are friends. */
export async function friends(store: Store): Promise<[number, number]> {
  const a = freshUser(), b = freshUser();
  await store.friends.apply(a, b, '');
  await store.friends.decide(b, a, true);
  return [a, b];
}

/** Runs the contract against the store `open` returns (opened once, closed at the end). */
export function runFriendContract(name: string, open: () => Promise<Store>): void {
  describe(`Friend contract: ${name}`, () => {
    let store: Store;
    before(async () => { store = await open(); });
    after(async () => { await store?.close(); });

    it('files an application, listed received and sent with its status, note and names, and tells the target', async () => {
      const alice = await store.accounts.createAccount(`fa_${randomBytes(5).toString('hex')}`, 'h');
      const bob = await store.accounts.createAccount(`fb_${randomBytes(5).toString('hex')}`, 'h');
      const r = await store.friends.apply(alice.userId, bob.userId, 'hi bob, 我是 alice');
      assert.equal(r.outcome, 'applied');
      assert.ok(r.applyId > 0);
      assert.equal(r.peerName, bob.userName);
      assert.equal(r.notices.length, 1);
      const n = r.notices[0]!;
      assert.deepEqual({ ...n, noticeId: 0, createdAt: 0 }, {
        noticeId: 0, userId: bob.userId, kind: NOTICE_KIND.FRIEND_APPLY, fromUserId: alice.userId, fromUserName: alice.userName,
        refId: r.applyId, convId: '', body: 'hi bob, 我是 alice', createdAt: 0,
      });
      assert.ok(n.noticeId > 0);
      const [got] = await store.friends.listApplications(bob.userId, 'received', 0, 10);
      assert.deepEqual({ ...got!, createdAt: 0, updatedAt: 0 }, {
        applyId: r.applyId, applicantId: alice.userId, applicantName: alice.userName, targetId: bob.userId,
        targetName: bob.userName, status: APPLY_STATUS.PENDING, message: 'hi bob, 我是 alice', createdAt: 0, updatedAt: 0,
      });
      assert.deepEqual((await store.friends.listApplications(alice.userId, 'sent', 0, 10)).map((x) => x.applyId), [r.applyId]);
      assert.deepEqual(await store.friends.listApplications(alice.userId, 'received', 0, 10), []);
      const pending = await store.notices.pending(bob.userId, 10);
      assert.deepEqual(pending, [n]);
    });

    it('refuses yourself, a duplicate pending application and a note over 200 characters', async () => {
      const a = freshUser(), b = freshUser();
      await rejectsCode(store.friends.apply(a, a, ''), 'BAD_REQUEST');
      await rejectsCode(store.friends.apply(a, b, 'x'.repeat(201)), 'BAD_REQUEST');
      await rejectsCode(store.friends.apply(a, 0, ''), 'BAD_REQUEST');
      await store.friends.apply(a, b, 'x'.repeat(200));
      await rejectsCode(store.friends.apply(a, b, 'again'), 'APPLY_PENDING');
      assert.equal((await store.friends.listApplications(b, 'received', 0, 10)).length, 1);
    });

    it('turns a reverse application into an accept', async () => {
      const a = freshUser(), b = freshUser();
      const first = await store.friends.apply(a, b, 'hello');
      const back = await store.friends.apply(b, a, 'hello back');
      assert.equal(back.outcome, 'accepted');
      assert.equal(back.applyId, first.applyId);
      assert.deepEqual(back.notices.map((n) => [n.userId, n.kind, n.fromUserId, n.refId]),
        [[a, NOTICE_KIND.FRIEND_ACCEPTED, b, first.applyId]]);
      assert.deepEqual((await store.friends.relation(a, b)).friends, true);
      assert.deepEqual((await store.friends.listFriends(a, 0, 10)).map((f) => f.userId), [b]);
      assert.deepEqual((await store.friends.listFriends(b, 0, 10)).map((f) => f.userId), [a]);
      const [app] = await store.friends.listApplications(b, 'received', 0, 10);
      assert.equal(app!.status, APPLY_STATUS.ACCEPTED);
      assert.equal((await store.friends.listApplications(a, 'received', 0, 10)).length, 0, 'no second application was filed');
    });

    it('accepts once: a repeated accept and applying while friends are ALREADY_FRIENDS', async () => {
      const a = freshUser(), b = freshUser();
      const ap = await store.friends.apply(a, b, '');
      const ok = await store.friends.decide(b, a, true);
      assert.deepEqual([ok.outcome, ok.applyId], ['accepted', ap.applyId]);
      assert.deepEqual(ok.notices.map((n) => [n.userId, n.kind, n.fromUserId]), [[a, NOTICE_KIND.FRIEND_ACCEPTED, b]]);
      await rejectsCode(store.friends.decide(b, a, true), 'ALREADY_FRIENDS');
      await rejectsCode(store.friends.apply(a, b, ''), 'ALREADY_FRIENDS');
      await rejectsCode(store.friends.apply(b, a, ''), 'ALREADY_FRIENDS');
      assert.equal((await store.friends.listFriends(a, 0, 10)).length, 1);
      assert.ok((await store.friends.listFriends(a, 0, 10))[0]!.since > 0);
    });

    it('rejects: the applicant is told, a later decision is NO_APPLICATION, and a new application may follow', async () => {
      const a = freshUser(), b = freshUser();
      const ap = await store.friends.apply(a, b, '');
      await rejectsCode(store.friends.decide(a, b, true), 'NO_APPLICATION'); // only the target decides
      const r = await store.friends.decide(b, a, false);
      assert.deepEqual([r.outcome, r.applyId], ['rejected', ap.applyId]);
      assert.deepEqual(r.notices.map((n) => [n.userId, n.kind, n.refId]), [[a, NOTICE_KIND.FRIEND_REJECTED, ap.applyId]]);
      await rejectsCode(store.friends.decide(b, a, true), 'NO_APPLICATION');
      await rejectsCode(store.friends.decide(b, a, false), 'NO_APPLICATION');
      assert.equal((await store.friends.relation(a, b)).friends, false);
      const again = await store.friends.apply(a, b, 'please');
      assert.equal(again.outcome, 'applied');
      assert.ok(again.applyId > ap.applyId);
      const apps = await store.friends.listApplications(b, 'received', 0, 10);
      assert.deepEqual(apps.map((x) => [x.applyId, x.status]), [[again.applyId, APPLY_STATUS.PENDING], [ap.applyId, APPLY_STATUS.REJECTED]]);
    });

    it('removes a friendship both ways and tells the other; removing a non-friend is NOT_FRIENDS', async () => {
      const [a, b] = await friends(store);
      const r = await store.friends.remove(b, a);
      assert.equal(r.outcome, 'removed');
      assert.deepEqual(r.notices.map((n) => [n.userId, n.kind, n.fromUserId, n.refId]), [[a, NOTICE_KIND.FRIEND_REMOVED, b, 0]]);
      assert.deepEqual(await store.friends.listFriends(a, 0, 10), []);
      assert.deepEqual(await store.friends.listFriends(b, 0, 10), []);
      await rejectsCode(store.friends.remove(a, b), 'NOT_FRIENDS');
      assert.equal((await store.friends.apply(a, b, '')).outcome, 'applied', 'they may become friends again');
    });

    it('blocks: ends the friendship, cancels applications, refuses both ways until unblocked; idempotent', async () => {
      const [a, b] = await friends(store);
      const c = freshUser();
      await store.friends.apply(c, a, '');
      const blk = await store.friends.block(a, b);
      assert.deepEqual([blk.outcome, blk.notices], ['blocked', []], 'blocking is silent');
      assert.deepEqual(await store.friends.relation(a, b), { friends: false, aBlockedB: true, bBlockedA: false });
      assert.deepEqual(await store.friends.relation(b, a), { friends: false, aBlockedB: false, bBlockedA: true });
      await rejectsCode(store.friends.apply(b, a, ''), 'BLOCKED');
      await rejectsCode(store.friends.apply(a, b, ''), 'BLOCKED');
      assert.equal((await store.friends.block(a, b)).outcome, 'unchanged');
      await store.friends.block(a, c); // cancels c's pending application
      assert.equal((await store.friends.listApplications(a, 'received', 0, 10))[0]!.status, APPLY_STATUS.REJECTED);
      assert.deepEqual((await store.friends.listBlocked(a, 0, 10)).map((u) => u.userId), [b, c].sort((x, y) => x - y));
      assert.equal((await store.friends.unblock(b, a)).outcome, 'unchanged', 'only the blocker can unblock');
      assert.equal((await store.friends.unblock(a, b)).outcome, 'unblocked');
      assert.equal((await store.friends.unblock(a, b)).outcome, 'unchanged');
      assert.deepEqual(await store.friends.relation(a, b), { friends: false, aBlockedB: false, bBlockedA: false });
      assert.equal((await store.friends.apply(b, a, '')).outcome, 'applied');
    });

    it('pages friends by id and applications newest first', async () => {
      const me = freshUser();
      const others = [freshUser(), freshUser(), freshUser(), freshUser(), freshUser()];
      for (const o of others) {
        await store.friends.apply(o, me, `from ${o}`);
      }
      const apps1 = await store.friends.listApplications(me, 'received', 0, 2);
      const apps2 = await store.friends.listApplications(me, 'received', apps1[1]!.applyId, 2);
      const apps3 = await store.friends.listApplications(me, 'received', apps2[1]!.applyId, 2);
      assert.deepEqual([...apps1, ...apps2, ...apps3].map((x) => x.applicantId), [...others].reverse());
      for (const o of others) await store.friends.decide(me, o, true);
      const p1 = await store.friends.listFriends(me, 0, 3);
      const p2 = await store.friends.listFriends(me, p1[2]!.userId, 3);
      assert.deepEqual([...p1, ...p2].map((f) => f.userId), others);
      assert.deepEqual(await store.friends.listFriends(me, 0, 0), []);
    });

    it('keeps notices until their recipient acks them, oldest first', async () => {
      const a = freshUser(), b = freshUser(), c = freshUser();
      await store.friends.apply(b, a, 'one');
      await store.friends.apply(c, a, 'two');
      const added = await store.notices.add([{ userId: a, kind: 9, fromUserId: 0, refId: 0, convId: 'g:1', body: 'three' }]);
      assert.equal(added.length, 1);
      const list = await store.notices.pending(a, 10);
      assert.deepEqual(list.map((n) => n.body), ['one', 'two', 'three']);
      assert.equal(list[2]!.convId, 'g:1');
      assert.equal(await store.notices.ack(b, list[0]!.noticeId), false, 'not b\'s notice');
      assert.equal(await store.notices.ack(a, list[0]!.noticeId), true);
      assert.equal(await store.notices.ack(a, list[0]!.noticeId), false);
      assert.deepEqual((await store.notices.pending(a, 1)).map((n) => n.body), ['two']);
      assert.deepEqual(await store.notices.add([]), []);
    });

    it('races: concurrent accepts of one application make one friendship, crossing applications one accept', async () => {
      for (let i = 0; i < 20; i++) {
        const a = freshUser(), b = freshUser();
        await store.friends.apply(a, b, '');
        const results = await Promise.allSettled([1, 2, 3].map(() => store.friends.decide(b, a, true)));
        const won = results.filter((r): r is PromiseFulfilledResult<FriendChange> => r.status === 'fulfilled');
        assert.equal(won.length, 1, 'exactly one accept wins');
        for (const r of results) if (r.status === 'rejected') assert.equal((r.reason as RequestError).code, 'ALREADY_FRIENDS');
        assert.equal((await store.friends.listFriends(a, 0, 10)).length, 1);
        assert.equal((await store.friends.listFriends(b, 0, 10)).length, 1);
        assert.equal((await store.notices.pending(a, 10)).length, 1, 'the applicant is told once');

        const c = freshUser(), d = freshUser();
        const cross = await Promise.all([store.friends.apply(c, d, ''), store.friends.apply(d, c, '')]);
        assert.deepEqual(cross.map((x) => x.outcome).sort(), ['accepted', 'applied']);
        assert.equal((await store.friends.relation(c, d)).friends, true);
        assert.equal((await store.friends.listApplications(c, 'sent', 0, 10)).length
          + (await store.friends.listApplications(d, 'sent', 0, 10)).length, 1, 'one application, not two');
      }
    });
  });
}
