/**
 * Friends, notices and conversation lists on the embedded store: the contracts, then the
 * services on top (FriendService's cache and stranger policy, ConversationService's paging,
 * history and read marks), which are backend-independent and so run here only.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { privateConvId } from '@hxim/im-common';
import {
  ConversationService, decodeConvCursor, encodeConvCursor, FriendService, parseSqliteOptions, previewText, RelationCache,
  SqliteStore, type FriendServiceOptions,
} from '../src/index';
import { runConversationContract } from './contract/conversations-contract';
import { freshUser, friends, rejectsCode, runFriendContract } from './contract/friends-contract';
import { runNoticeBoundContract } from './contract/notice-bound-contract';
import { chat } from './contract/store-contract';
import { tempDir } from './helpers/temp-dir';

runFriendContract('SqliteStore', async () => new SqliteStore({ dataDir: tempDir(), synchronous: 'NORMAL' }));
runConversationContract('SqliteStore', async () => new SqliteStore({ dataDir: tempDir(), synchronous: 'NORMAL' }));
runNoticeBoundContract('SqliteStore', {
  open: async (extra) => new SqliteStore({ dataDir: tempDir(), synchronous: 'NORMAL', ...extra as { maxNoticesPerUser?: number } }),
  parse: (extra) => parseSqliteOptions({ dataDir: 'unused', ...extra as { maxNoticesPerUser?: number } }).maxNoticesPerUser,
  field: 'sqlite.maxNoticesPerUser',
});

describe('RelationCache', () => {
  it('answers both orientations, expires entries, and ignores a lookup that raced an invalidation', () => {
    const c = new RelationCache(3);
    c.set(5, 2, { friends: true, aBlockedB: true, bBlockedA: false }, 100, 1000);
    assert.deepEqual(c.get(5, 2, 1050), { friends: true, aBlockedB: true, bBlockedA: false });
    assert.deepEqual(c.get(2, 5, 1050), { friends: true, aBlockedB: false, bBlockedA: true });
    assert.equal(c.get(5, 2, 1100), undefined, 'expired');
    const epoch = c.epoch;
    c.invalidate(5, 2);
    c.set(5, 2, { friends: false, aBlockedB: false, bBlockedA: false }, 100, 1000, epoch);
    assert.equal(c.get(5, 2, 1001), undefined, 'stale lookup not cached');
    for (let i = 10; i < 14; i++) c.set(1, i, { friends: true, aBlockedB: false, bBlockedA: false }, 100, 1000);
    assert.ok(c.size <= 3, 'bounded');
  });
});

describe('FriendService and ConversationService', () => {
  let store: SqliteStore;
  let clock = 1_000_000;
  const service = (over: Partial<FriendServiceOptions> = {}): FriendService => new FriendService(store, {
    strangerPolicy: 'friends', userExists: async (id) => id > 0 && id < 4_000_000_000_000, now: () => clock, ...over,
  });
  before(() => { store = new SqliteStore({ dataDir: tempDir(), synchronous: 'NORMAL' }); });
  after(async () => { await store.close(); });

  it('resolves users by id or name, with UNKNOWN_USER and BAD_REQUEST', async () => {
    const s = service({ userExists: async (id) => id === 7 });
    const acc = await store.accounts.createAccount(`svc_${process.pid}_${freshUser()}`, 'h');
    assert.equal(await s.resolveUser({ userId: 7, userName: '' }), 7);
    assert.equal(await s.resolveUser({ userId: 0, userName: acc.userName }), acc.userId);
    await rejectsCode(s.resolveUser({ userId: 8, userName: '' }), 'UNKNOWN_USER');
    await rejectsCode(s.resolveUser({ userId: 0, userName: 'nobody_here_at_all' }), 'UNKNOWN_USER');
    await rejectsCode(s.resolveUser({ userId: 0, userName: '' }), 'BAD_REQUEST');
    await rejectsCode(s.resolveUser({ userId: -3, userName: '' }), 'BAD_REQUEST');
  });

  it('enforces the stranger policy and blocks, from a cache invalidated by local changes', async () => {
    const s = service();
    const a = freshUser(), b = freshUser();
    await rejectsCode(s.checkChat(a, b), 'NOT_FRIENDS');
    await s.apply(a, b, '');
    await s.accept(b, a);
    await s.checkChat(a, b); // invalidated by the accept: no wait for the refused entry to expire
    await s.checkChat(b, a);
    await s.block(b, a);
    await rejectsCode(s.checkChat(a, b), 'BLOCKED');
    await rejectsCode(s.checkChat(b, a), 'BLOCKED');
    await s.unblock(b, a);
    await rejectsCode(s.checkChat(a, b), 'NOT_FRIENDS', );
    const open = service({ strangerPolicy: 'anyone' });
    await open.checkChat(a, b);
    await open.block(a, b);
    await rejectsCode(open.checkChat(b, a), 'BLOCKED');
  });

  it('trusts a cached relation for its TTL only (changes made by another instance)', async () => {
    const here = service({ relationTtlMs: 5000, refusedTtlMs: 1000 });
    const elsewhere = service();
    const [a, b] = await friends(store);
    await here.checkChat(a, b);
    await elsewhere.remove(a, b); // another instance: this cache is not told
    await here.checkChat(a, b); // still allowed, within the bound
    clock += 5000;
    await rejectsCode(here.checkChat(a, b), 'NOT_FRIENDS');
    await elsewhere.apply(a, b, '');
    await elsewhere.accept(b, a);
    await rejectsCode(here.checkChat(a, b), 'NOT_FRIENDS');
    clock += 1000;
    await here.checkChat(a, b);
  });

  it('shares one store lookup between concurrent misses, which resume in the order they asked', async () => {
    let calls = 0;
    const slow = {
      ...store,
      friends: {
        ...store.friends,
        relation: async () => {
          calls++;
          await new Promise((r) => setTimeout(r, 20 - calls * 5)); // later lookups would answer first
          return { friends: true, aBlockedB: false, bBlockedA: false };
        },
      },
    } as unknown as SqliteStore;
    const s = new FriendService(slow, { strangerPolicy: 'friends', userExists: async () => true });
    const order: number[] = [];
    await Promise.all([1, 2, 3, 4, 5].map((i) => s.checkChat(i % 2 ? 10 : 20, i % 2 ? 20 : 10).then(() => order.push(i))));
    assert.deepEqual([calls, order], [1, [1, 2, 3, 4, 5]]);
    await s.checkChat(10, 20);
    assert.equal(calls, 1, 'then cached');
  });

  it('pages friend lists with PAGE_TOO_LARGE above 200', async () => {
    const s = service();
    const me = freshUser();
    for (let i = 0; i < 3; i++) {
      const o = freshUser();
      await s.apply(o, me, '');
      await s.accept(me, o);
    }
    const p1 = await s.friends(me, 0, 2);
    assert.deepEqual([p1.items.length, p1.hasMore], [2, true]);
    const p2 = await s.friends(me, p1.next, 2);
    assert.deepEqual([p2.items.length, p2.hasMore], [1, false]);
    await rejectsCode(s.friends(me, 0, 201), 'PAGE_TOO_LARGE');
    await rejectsCode(s.applications(me, 'sent', 0, -1), 'BAD_REQUEST');
  });

  it('lists conversations through opaque cursors, with names, previews and totals', async () => {
    const convs = new ConversationService(store);
    const me = freshUser();
    const peers = [freshUser(), freshUser(), freshUser()];
    for (const p of peers) await store.chats.appendBatch([chat(p, me, `cl${p}`, `hi from ${p}`)]);
    const page1 = await convs.list(me, '', 2);
    assert.equal(page1.convs.length, 2);
    assert.equal(page1.hasMore, true);
    assert.equal(page1.totalUnread, 3);
    const page2 = await convs.list(me, page1.nextCursor, 2);
    assert.deepEqual([page2.convs.length, page2.hasMore, page2.nextCursor], [1, false, '']);
    const all = [...page1.convs, ...page2.convs];
    assert.deepEqual(all.map((c) => c.peerId).sort(), [...peers].sort());
    for (const c of all) {
      assert.equal(c.preview, `hi from ${c.peerId}`);
      assert.deepEqual([c.unread, c.convType, c.peerReadSeq], [1, 0, 1]);
    }
    await rejectsCode(convs.list(me, 'garbage', 2), 'BAD_REQUEST');
    await rejectsCode(convs.list(me, '', 101), 'PAGE_TOO_LARGE');
    assert.deepEqual(decodeConvCursor(encodeConvCursor({ time: 5, convId: 'p:1:2' })), { time: 5, convId: 'p:1:2' });
  });

  it('pages history backwards, oldest first within a page, members only', async () => {
    const convs = new ConversationService(store);
    const a = freshUser(), b = freshUser();
    const conv = privateConvId(a, b);
    await store.chats.appendBatch(Array.from({ length: 7 }, (_, i) => chat(a, b, `h${i + 1}`)));
    const p1 = await convs.history(b, conv, 0, 3);
    assert.deepEqual([p1.messages.map((m) => m.seq), p1.hasMore], [[5, 6, 7], true]);
    const p2 = await convs.history(b, conv, 5, 3);
    assert.deepEqual([p2.messages.map((m) => m.seq), p2.hasMore], [[2, 3, 4], true]);
    const p3 = await convs.history(b, conv, 2, 3);
    assert.deepEqual([p3.messages.map((m) => m.seq), p3.hasMore], [[1], false]);
    const big = await convs.history(b, conv, 0, 7, 100);
    assert.deepEqual([big.messages.map((m) => m.seq), big.hasMore], [[7], true], 'byte budget keeps the newest');
    await rejectsCode(convs.history(freshUser(), conv, 0, 3), 'NOT_A_MEMBER');
    await rejectsCode(convs.history(b, conv, -1, 3), 'BAD_SEQ');
    await rejectsCode(convs.history(b, conv, 0, 201), 'PAGE_TOO_LARGE');
    await rejectsCode(convs.history(b, 'nope', 0, 3), 'BAD_REQUEST');
    await rejectsCode(convs.history(b, 'g:123456789', 0, 3), 'NOT_A_MEMBER');
  });

  it('marks read with totals, reports whether the cursor moved, and fills the login counts', async () => {
    const convs = new ConversationService(store);
    const a = freshUser(), b = freshUser(), c = freshUser();
    await store.chats.appendBatch([chat(a, b, 'm1'), chat(a, b, 'm2'), chat(a, b, 'm3'), chat(c, b, 'm4')]);
    const login = await convs.unreadAtLogin(b);
    assert.equal(login.totalUnread, 4);
    assert.deepEqual(login.unread.map((u) => [u.convId, u.unread]).sort(), [[privateConvId(a, b), 3], [privateConvId(b, c), 1]].sort());
    const r = await convs.markRead(b, privateConvId(a, b), 2);
    assert.deepEqual(r, {
      convId: privateConvId(a, b), readSeq: 2, lastSeq: 3, unread: 1, totalUnread: 2, moved: true, peerId: a, readerName: '',
    });
    const again = await convs.markRead(b, privateConvId(a, b), 1);
    assert.deepEqual([again.readSeq, again.moved], [2, false]);
    const all = await convs.markRead(b, privateConvId(a, b), 0);
    assert.deepEqual([all.readSeq, all.unread, all.totalUnread], [3, 0, 1]);
    const empty = await convs.markRead(b, privateConvId(b, freshUser()), 0);
    assert.deepEqual([empty.readSeq, empty.moved], [0, false], 'a conversation without messages');
    await rejectsCode(convs.markRead(b, privateConvId(a, c), 1), 'NOT_A_MEMBER');
    await rejectsCode(convs.markRead(b, privateConvId(a, b), -1), 'BAD_SEQ');
  });

  it('cuts previews at 64 characters, after whole characters', () => {
    assert.equal(previewText(Buffer.from('short'), 256), 'short');
    assert.equal(previewText(Buffer.from('x'.repeat(70)), 256), `${'x'.repeat(64)}…`);
    const cutMid = Buffer.from('é'.repeat(128)).subarray(0, 255); // ends inside a character
    assert.equal(previewText(cutMid, 255), `${'é'.repeat(64)}…`);
    assert.equal(previewText(Buffer.from('😀'.repeat(3)), 256), '😀😀😀');
  });
});
