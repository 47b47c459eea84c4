/**
 * The conversation-list contract (issue 4): pages sorted by last activity with previews and
 * derived unread counts, unread totals, and read marks that never move back. Run against every
 * backend (test/business-sqlite.test.ts, test/integration/business-mysql.test.ts).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { groupConvId, privateConvId } from '@hxim/im-common';
import type { NewChat, Store } from '../../src/ports';
import { chat } from './store-contract';
import { freshUser } from './friends-contract';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs the contract against the store `open` returns (opened once, closed at the end). */
export function runConversationContract(name: string, open: () => Promise<Store>): void {
  describe(`Conversation contract: ${name}`, () => {
    let store: Store;
    before(async () => { store = await open(); });
    after(async () => { await store?.close(); });

    it('lists conversations by last activity with previews, unread counts and the peer read seq', async () => {
      const me = freshUser(), b = freshUser(), c = freshUser();
      const long = 'ü'.repeat(300);
      await store.chats.appendBatch([chat(b, me, 'x1', 'hello'), chat(b, me, 'x2', long)]);
      await sleep(5);
      await store.chats.appendBatch([chat(me, c, 'x3', 'to c')]);
      const rows = await store.convs.list(me, null, 10);
      assert.deepEqual(rows.map((r) => r.convId), [privateConvId(me, c), privateConvId(me, b)]);
      const [rc, rb] = rows as [typeof rows[0], typeof rows[0]];
      assert.deepEqual([rc.lastSeq, rc.readSeq, rc.lastSenderId, rc.convType], [1, 1, me, 0]);
      assert.deepEqual([rb.lastSeq, rb.readSeq, rb.ackSeq, rb.lastSenderId], [2, 0, 0, b]);
      assert.equal(Buffer.from(rc.preview).toString(), 'to c');
      assert.equal(rb.preview.byteLength, 256, 'previews are cut in SQL');
      assert.ok(rc.lastTime >= rb.lastTime);
      assert.ok(rb.lastMsgId > 0);
      const peers = await store.convs.peers(me, [rc.convId, rb.convId]);
      assert.deepEqual(peers.map((p) => [p.convId, p.userId, p.readSeq]).sort(),
        [[privateConvId(me, b), b, 2], [privateConvId(me, c), c, 0]].sort());
      assert.deepEqual(await store.convs.list(freshUser(), null, 10), []);
    });

    it('pages with a (lastTime, convId) cursor without skipping or repeating', async () => {
      const me = freshUser();
      const peers = Array.from({ length: 7 }, () => freshUser());
      // One batch: several conversations share one last_time, so the convId tie-break matters.
      await store.chats.appendBatch(peers.map((p, i) => chat(p, me, `pg${i}`)));
      const seen: string[] = [];
      let after: { time: number; convId: string } | null = null;
      for (let i = 0; i < 5; i++) {
        const page = await store.convs.list(me, after, 3);
        seen.push(...page.map((r) => r.convId));
        if (page.length < 3) break;
        const last = page[page.length - 1]!;
        after = { time: last.lastTime, convId: last.convId };
      }
      assert.deepEqual([...seen].sort(), peers.map((p) => privateConvId(me, p)).sort());
      assert.equal(new Set(seen).size, 7);
    });

    it('sums unread over conversations and lists those with unread messages', async () => {
      const me = freshUser(), b = freshUser(), c = freshUser(), d = freshUser();
      await store.chats.appendBatch([chat(b, me, 'u1'), chat(b, me, 'u2'), chat(b, me, 'u3'), chat(c, me, 'u4'), chat(me, d, 'u5')]);
      const u = await store.convs.unread(me, 10);
      assert.equal(u.total, 4);
      assert.deepEqual(u.convs.map((x) => [x.convId, x.lastSeq - x.readSeq]).sort(),
        [[privateConvId(me, b), 3], [privateConvId(me, c), 1]].sort());
      assert.deepEqual(await store.convs.unread(me, 0), { total: 4, convs: [] });
      assert.deepEqual(await store.convs.unread(freshUser(), 10), { total: 0, convs: [] });
    });

    it('marks read forward only, clamped to the last seq, moving the delivered cursor too', async () => {
      const me = freshUser(), b = freshUser();
      const conv = privateConvId(me, b);
      await store.chats.appendBatch(Array.from({ length: 5 }, (_, i) => chat(b, me, `r${i}`)));
      assert.deepEqual(await store.convs.markRead(me, conv, 3), { before: 0, readSeq: 3, lastSeq: 5 });
      assert.deepEqual(await store.convs.markRead(me, conv, 2), { before: 3, readSeq: 3, lastSeq: 5 }, 'never backwards');
      assert.deepEqual((await store.chats.cursors(me, [conv]))[0], { convId: conv, lastSeq: 5, ackSeq: 3, readSeq: 3 });
      assert.deepEqual(await store.convs.markRead(me, conv, 99), { before: 3, readSeq: 5, lastSeq: 5 });
      assert.equal((await store.convs.unread(me, 10)).total, 0);
      assert.equal(await store.convs.markRead(freshUser(), conv, 1), null, 'not a member');
      assert.equal(await store.convs.markRead(me, 'p 1', 1), null);
      await store.chats.appendBatch([chat(b, me, 'r5')]);
      assert.equal((await store.convs.unread(me, 10)).total, 1, 'a new message is unread again');
    });

    it('shows group conversations the same way', async () => {
      const members = [freshUser(), freshUser(), freshUser()];
      const gid = (await store.groups.create(members[0]!, 'g', [members[1]!, members[2]!], 10)).group.groupId;
      const conv = groupConvId(gid);
      const g: NewChat = { ...chat(members[0]!, members[1]!, `g${randomBytes(3).toString('hex')}`, 'group hello'), convId: conv,
        memberIds: [members[0]!], recipientId: 0, groupId: gid };
      await store.chats.appendBatch([g]);
      const [row] = await store.convs.list(members[2]!, null, 10);
      assert.deepEqual([row!.convId, row!.convType, row!.lastSeq, row!.readSeq], [conv, 1, 2, 0], 'the create notice, then the chat');
      assert.equal((await store.convs.unread(members[2]!, 10)).total, 2);
      assert.equal((await store.convs.peers(members[2]!, [conv])).length, 2);
    });
  });
}
