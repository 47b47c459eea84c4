/**
 * The per-user notice bound (maxNoticesPerUser, src/friends/notice-bound.ts), run against every
 * backend like the friend contract: SQLite in test/business-sqlite.test.ts, MariaDB in
 * test/integration/business-mysql.test.ts. Every insert path is covered (NoticeStore.add, a
 * friend operation, a group application); users are fresh, so stores share one database.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { NOTICE_KIND, type NewNotice } from '../../src/friends/ports';
import type { Store } from '../../src/ports';
import { freshUser } from './friends-contract';

/** How a backend is opened and how it parses the option. */
export interface NoticeBoundBackend {
  /** Opens a store with these extra options (the contract closes it). */
  open(extra: { maxNoticesPerUser?: unknown }): Promise<Store>;
  /** The backend's option parser, reduced to the parsed maxNoticesPerUser. */
  parse(extra: { maxNoticesPerUser?: unknown }): number;
  /** The option's name in the backend's errors, e.g. "sqlite.maxNoticesPerUser". */
  field: string;
}

function notice(userId: number, i: number): NewNotice {
  return { userId, kind: NOTICE_KIND.FRIEND_APPLY, fromUserId: 7, refId: i, convId: '', body: `n${i}` };
}

/** Stores `count` notices for `userId`, `perCall` per NoticeStore.add; returns their ids in order. */
async function addNotices(store: Store, userId: number, count: number, perCall: number): Promise<number[]> {
  const ids: number[] = [];
  for (let done = 0; done < count; done += perCall) {
    const batch = Array.from({ length: Math.min(perCall, count - done) }, (_, k) => notice(userId, done + k));
    ids.push(...(await store.notices.add(batch)).map((n) => n.noticeId));
  }
  return ids;
}

async function pendingIds(store: Store, userId: number): Promise<number[]> {
  return (await store.notices.pending(userId, 10_000)).map((n) => n.noticeId);
}

/** Runs the contract. */
export function runNoticeBoundContract(name: string, backend: NoticeBoundBackend): void {
  describe(`Notice bound contract: ${name}`, () => {
    const opened: Store[] = [];
    const open = async (maxNoticesPerUser?: number): Promise<Store> => {
      const s = await backend.open(maxNoticesPerUser === undefined ? {} : { maxNoticesPerUser });
      opened.push(s);
      return s;
    };
    after(async () => {
      for (const s of opened) await s.close();
    });

    it('defaults to 500 and keeps exactly the newest 500', async () => {
      assert.equal(backend.parse({}), 500);
      const store = await open();
      const u = freshUser();
      const ids = await addNotices(store, u, 505, 101);
      assert.deepEqual(await pendingIds(store, u), ids.slice(5));
    });

    it('inserting bound + k keeps the newest bound; other users are untouched', async () => {
      const store = await open(5);
      const [u, other, atBound] = [freshUser(), freshUser(), freshUser()];
      const otherIds = await addNotices(store, other, 3, 3);
      const atBoundIds = await addNotices(store, atBound, 5, 5);
      const ids = await addNotices(store, u, 8, 1); // one at a time: 3 prunes of one each
      assert.deepEqual(await pendingIds(store, u), ids.slice(3));
      assert.deepEqual(await pendingIds(store, other), otherIds);
      assert.deepEqual(await pendingIds(store, atBound), atBoundIds, 'exactly the bound is not over it');
      // One call that alone exceeds the bound, mixed with another user's notice.
      const mixed = await store.notices.add([...Array.from({ length: 7 }, (_, i) => notice(u, 100 + i)), notice(other, 9)]);
      assert.deepEqual(await pendingIds(store, u), mixed.slice(2, 7).map((n) => n.noticeId));
      assert.deepEqual(await pendingIds(store, other), [...otherIds, mixed[7]!.noticeId]);
      assert.deepEqual(await pendingIds(store, atBound), atBoundIds);
    });

    it('acks still work: a kept notice acks once, a pruned one is gone, and freed room is not pruned', async () => {
      const store = await open(3);
      const u = freshUser();
      const ids = await addNotices(store, u, 5, 1);
      assert.equal(await store.notices.ack(u, ids[0]!), false, 'pruned');
      assert.equal(await store.notices.ack(u, ids[3]!), true);
      assert.equal(await store.notices.ack(u, ids[3]!), false);
      assert.deepEqual(await pendingIds(store, u), [ids[2], ids[4]]);
      const [next] = await addNotices(store, u, 1, 1);
      assert.deepEqual(await pendingIds(store, u), [ids[2], ids[4], next]);
    });

    it('bounds the notices of friend operations: a spammed target keeps the newest applications', async () => {
      const store = await open(4);
      const target = freshUser();
      const applied = [];
      for (let i = 0; i < 7; i++) applied.push(await store.friends.apply(freshUser(), target, `hi ${i}`));
      const pending = await store.notices.pending(target, 100);
      assert.deepEqual(pending.map((n) => n.noticeId), applied.slice(3).map((r) => r.notices[0]!.noticeId));
      assert.deepEqual(pending.map((n) => n.body), ['hi 3', 'hi 4', 'hi 5', 'hi 6']);
      // Only notices are bounded: the applications themselves stay.
      assert.equal((await store.friends.listApplications(target, 'received', 0, 100)).length, 7);
    });

    it('bounds the notices of group applications', async () => {
      const store = await open(2);
      const owner = freshUser();
      const { group } = await store.groups.create(owner, 'bounded', [], 100);
      const ids: number[] = [];
      for (let i = 0; i < 4; i++) {
        const c = await store.groups.apply(freshUser(), group.groupId, `join ${i}`);
        ids.push(c.notices![0]!.noticeId);
      }
      assert.deepEqual(await pendingIds(store, owner), ids.slice(2));
    });

    it('refuses a bad maxNoticesPerUser with a RangeError naming it', async () => {
      const message = new RegExp(`${backend.field.replace('.', '\\.')} must be an integer from 1 to 100000`);
      for (const bad of [0, -1, 2.5, 100_001, Number.NaN, '10', true]) {
        assert.throws(() => backend.parse({ maxNoticesPerUser: bad }), (err: unknown) => {
          assert.ok(err instanceof RangeError, `expected a RangeError for ${String(bad)}, got ${String(err)}`);
          assert.match(err.message, message);
          return true;
        });
      }
      await assert.rejects(backend.open({ maxNoticesPerUser: 0 }), message);
      assert.equal(backend.parse({ maxNoticesPerUser: 1 }), 1);
      assert.equal(backend.parse({ maxNoticesPerUser: 100_000 }), 100_000);
    });
  });
}
