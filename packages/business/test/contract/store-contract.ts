/**
 * The Store contract: one suite, run against every backend (SQLite in test/sqlite-store.test.ts,
 * MariaDB in test/integration/mysql-store.test.ts), as aedes-persistence does (STYLE.md
 * "Ports and adapters"). Every test uses fresh user and conversation ids, so one store serves
 * the whole suite and each test also runs next to the data of the others.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { BackendError, groupConvId, privateConvId, RequestError } from '@hxim/im-common';
import type { NewChat, Store } from '../../src/ports';

let nextId = 1000 + Math.floor(Math.random() * 1_000_000) * 1000;
/** A user id no other test uses (the chat tables do not require registered accounts). */
function freshUser(): number {
  return ++nextId;
}

/** A 1:1 chat from `from` to `to`. */
export function chat(from: number, to: number, clientMsgId: string, text = clientMsgId): NewChat {
  return {
    senderId: from, clientMsgId, convId: privateConvId(from, to), memberIds: [from, to], recipientId: to,
    groupId: 0, msgType: 0, body: Buffer.from(text, 'utf8'), clientTime: 1665142797000,
  };
}

function pair(): [number, number] {
  return [freshUser(), freshUser()];
}

async function rejectsWithCode(p: Promise<unknown>, cls: Function, code: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof cls, `expected ${cls.name}, got ${String(err)}`);
    assert.equal((err as RequestError).code, code);
    return true;
  });
}

/** Runs the contract against the store that `open` returns (opened once, closed at the end). */
export function runStoreContract(name: string, open: () => Promise<Store>): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    before(async () => {
      store = await open();
    });
    after(async () => {
      await store?.close();
    });

    it('answers ping', async () => {
      await store.ping();
    });

    describe('accounts', () => {
      it('creates an account and finds it by name', async () => {
        const name = `alice_${randomBytes(6).toString('hex')}`;
        const a = await store.accounts.createAccount(name, 'scrypt$17$8$1$c2FsdA$aGFzaA');
        assert.equal(typeof a.userId, 'number');
        assert.ok(a.userId > 0);
        assert.equal(a.userName, name);
        const found = await store.accounts.findByName(name);
        assert.deepEqual(found, a);
        assert.equal(await store.accounts.findByName(`${name}_nobody`), null);
      });

      it('rejects a taken name with RequestError USER_EXISTS', async () => {
        const name = `bob_${randomBytes(6).toString('hex')}`;
        await store.accounts.createAccount(name, 'h1');
        await rejectsWithCode(store.accounts.createAccount(name, 'h2'), RequestError, 'USER_EXISTS');
        assert.equal((await store.accounts.findByName(name))?.passwordHash, 'h1');
      });

      it('tells which user ids exist', async () => {
        const a = await store.accounts.createAccount(`c_${randomBytes(6).toString('hex')}`, 'h');
        const b = await store.accounts.createAccount(`d_${randomBytes(6).toString('hex')}`, 'h');
        const got = await store.accounts.existingUsers([a.userId, b.userId, b.userId, 2_000_000_000, -5]);
        assert.deepEqual([...got].sort((x, y) => x - y), [a.userId, b.userId].sort((x, y) => x - y));
        assert.equal((await store.accounts.existingUsers([])).size, 0);
      });

      it('stores, finds, expires and deletes session tokens', async () => {
        const a = await store.accounts.createAccount(`t_${randomBytes(6).toString('hex')}`, 'h');
        const hash = randomBytes(32).toString('hex');
        const now = Date.now();
        await store.accounts.saveToken(hash, a.userId, now + 60_000);
        assert.deepEqual(await store.accounts.findToken(hash, now), { userId: a.userId, expiresAt: now + 60_000 });
        assert.equal(await store.accounts.findToken(hash, now + 60_000), null, 'expired at expiresAt');
        assert.equal(await store.accounts.findToken(randomBytes(32).toString('hex'), now), null);
        await store.accounts.saveToken(hash, a.userId, now + 120_000); // re-saving replaces
        assert.equal((await store.accounts.findToken(hash, now + 90_000))?.expiresAt, now + 120_000);
        await store.accounts.deleteToken(hash);
        assert.equal(await store.accounts.findToken(hash, now), null);
      });
    });

    describe('appendBatch', () => {
      it('gives seq 1..n in a new conversation, in input order, with fresh ids', async () => {
        const [a, b] = pair();
        const res = await store.chats.appendBatch([chat(a, b, 'x1'), chat(b, a, 'x2'), chat(a, b, 'x3')]);
        assert.deepEqual(res.map((r) => r.seq), [1, 2, 3]);
        assert.deepEqual(res.map((r) => r.duplicate), [false, false, false]);
        assert.deepEqual(res.map((r) => r.senderId), [a, b, a]);
        assert.equal(new Set(res.map((r) => r.serverMsgId)).size, 3);
        for (const r of res) {
          assert.equal(typeof r.serverMsgId, 'number');
          assert.equal(r.convId, privateConvId(a, b));
          assert.ok(r.serverTime > 0);
          assert.equal(r.clientTime, 1665142797000);
        }
        const more = await store.chats.appendBatch([chat(b, a, 'x4')]);
        assert.equal(more[0].seq, 4);
        assert.ok(more[0].serverMsgId > res[2].serverMsgId);
      });

      it('keeps separate conversations independent', async () => {
        const [a, b] = pair();
        const c = freshUser();
        const res = await store.chats.appendBatch([chat(a, b, 'i1'), chat(a, c, 'i2'), chat(b, a, 'i3'), chat(c, a, 'i4')]);
        assert.deepEqual(res.map((r) => r.seq), [1, 1, 2, 2]);
        assert.deepEqual(res.map((r) => r.convId), [privateConvId(a, b), privateConvId(a, c), privateConvId(a, b), privateConvId(a, c)]);
      });

      it('deduplicates within a batch and across batches, and stores once', async () => {
        const [a, b] = pair();
        const res = await store.chats.appendBatch([chat(a, b, 'd1', 'first'), chat(a, b, 'd2'), chat(a, b, 'd1', 'again')]);
        assert.deepEqual(res.map((r) => [r.seq, r.duplicate]), [[1, false], [2, false], [1, true]]);
        assert.equal(res[2].serverMsgId, res[0].serverMsgId);
        assert.equal(Buffer.from(res[2].body).toString(), 'first', 'the original body comes back');
        const again = await store.chats.appendBatch([chat(a, b, 'd3'), chat(a, b, 'd2', 'resend'), chat(a, b, 'd2')]);
        assert.deepEqual(again.map((r) => [r.seq, r.duplicate]), [[3, false], [2, true], [2, true]]);
        assert.equal(again[1].serverMsgId, res[1].serverMsgId);
        assert.equal(again[1].serverTime, res[1].serverTime);
        const stored = await store.chats.readAfter(privateConvId(a, b), 0, 100);
        assert.deepEqual(stored.map((m) => m.clientMsgId), ['d1', 'd2', 'd3']);
        // The same client id from another sender is a different message.
        const other = await store.chats.appendBatch([chat(b, a, 'd1')]);
        assert.deepEqual([other[0].seq, other[0].duplicate], [4, false]);
      });

      it('creates member rows and moves only the sender read cursor', async () => {
        const [a, b] = pair();
        const conv = privateConvId(a, b);
        assert.equal(await store.chats.isMember(a, conv), false);
        await store.chats.appendBatch([chat(a, b, 'm1'), chat(a, b, 'm2')]);
        assert.equal(await store.chats.isMember(a, conv), true);
        assert.equal(await store.chats.isMember(b, conv), true);
        assert.equal(await store.chats.isMember(freshUser(), conv), false);
        assert.deepEqual(await store.chats.cursors(a, [conv]), [{ convId: conv, lastSeq: 2, ackSeq: 0, readSeq: 2 }]);
        assert.deepEqual(await store.chats.cursors(b, [conv]), [{ convId: conv, lastSeq: 2, ackSeq: 0, readSeq: 0 }]);
        await store.chats.appendBatch([chat(b, a, 'm3')]);
        assert.deepEqual(await store.chats.cursors(b, [conv]), [{ convId: conv, lastSeq: 3, ackSeq: 0, readSeq: 3 }]);
        assert.deepEqual(await store.chats.cursors(a, [conv]), [{ convId: conv, lastSeq: 3, ackSeq: 0, readSeq: 2 }]);
      });

      it('stores a group message once, the group store owning the member rows', async () => {
        const members = [freshUser(), freshUser(), freshUser(), freshUser()];
        const { group } = await store.groups.create(members[0], 'g', members.slice(1), 100);
        const conv = groupConvId(group.groupId);
        const g: NewChat = { ...chat(members[0], members[1], 'g1'), convId: conv, memberIds: [members[0]], recipientId: 0, groupId: group.groupId };
        const [r] = await store.chats.appendBatch([g]);
        assert.deepEqual([r.seq, r.groupId, r.recipientId, r.refused], [2, group.groupId, 0, undefined], 'after the create notice');
        for (const m of members) assert.equal(await store.chats.isMember(m, conv), true);
        assert.equal((await store.chats.readAfter(conv, 0, 10)).length, 2);
      });

      it('round-trips an 8 KiB binary body byte for byte', async () => {
        const [a, b] = pair();
        const body = randomBytes(8192);
        const big: NewChat = { ...chat(a, b, 'big'), body: new Uint8Array(body) };
        const [r] = await store.chats.appendBatch([big]);
        assert.ok(Buffer.from(r.body).equals(body));
        const [m] = await store.chats.readAfter(privateConvId(a, b), 0, 1);
        assert.ok(Buffer.from(m.body).equals(body));
        assert.equal(m.serverMsgId, r.serverMsgId);
      });

      it('returns [] for an empty batch and rejects a malformed chat with BAD_REQUEST', async () => {
        assert.deepEqual(await store.chats.appendBatch([]), []);
        const [a, b] = pair();
        await rejectsWithCode(store.chats.appendBatch([{ ...chat(a, b, 'ok') }, { ...chat(a, b, '') }]), RequestError, 'BAD_REQUEST');
        await rejectsWithCode(store.chats.appendBatch([{ ...chat(a, b, 'sp'), convId: 'p 1:2' }]), RequestError, 'BAD_REQUEST');
        // groupId and a "g:" convId go together (the store checks group senders by groupId)
        await rejectsWithCode(store.chats.appendBatch([{ ...chat(a, b, 'g0'), convId: 'g:5' }]), RequestError, 'BAD_REQUEST');
        await rejectsWithCode(store.chats.appendBatch([{ ...chat(a, b, 'g6'), convId: 'g:5', groupId: 6 }]), RequestError, 'BAD_REQUEST');
        await rejectsWithCode(store.chats.appendBatch([{ ...chat(a, b, 'gp'), groupId: 5 }]), RequestError, 'BAD_REQUEST');
        assert.deepEqual(await store.chats.readAfter(privateConvId(a, b), 0, 10), [], 'nothing of a rejected batch is stored');
      });

      it('gives gap-free unique seqs to concurrent appends on one conversation', async () => {
        const [a, b] = pair();
        const batches = Array.from({ length: 20 }, (_, i) =>
          Array.from({ length: 25 }, (_, j) => chat(j % 2 ? a : b, j % 2 ? b : a, `c${i}_${j}`)));
        const results = (await Promise.all(batches.map((batch) => store.chats.appendBatch(batch)))).flat();
        const seqs = results.map((r) => r.seq).sort((x, y) => x - y);
        assert.deepEqual(seqs, Array.from({ length: 500 }, (_, i) => i + 1));
        const stored = await store.chats.readAfter(privateConvId(a, b), 0, 1000);
        assert.deepEqual(stored.map((m) => m.seq), Array.from({ length: 500 }, (_, i) => i + 1));
      });
    });

    describe('reading', () => {
      it('pages forward with readAfter and backward with readBefore', async () => {
        const [a, b] = pair();
        const conv = privateConvId(a, b);
        await store.chats.appendBatch(Array.from({ length: 10 }, (_, i) => chat(a, b, `p${i + 1}`)));
        assert.deepEqual((await store.chats.readAfter(conv, 0, 4)).map((m) => m.seq), [1, 2, 3, 4]);
        assert.deepEqual((await store.chats.readAfter(conv, 4, 4)).map((m) => m.seq), [5, 6, 7, 8]);
        assert.deepEqual((await store.chats.readAfter(conv, 8, 4)).map((m) => m.seq), [9, 10]);
        assert.deepEqual(await store.chats.readAfter(conv, 10, 4), []);
        assert.deepEqual((await store.chats.readBefore(conv, 0, 3)).map((m) => m.seq), [10, 9, 8]);
        assert.deepEqual((await store.chats.readBefore(conv, 8, 3)).map((m) => m.seq), [7, 6, 5]);
        assert.deepEqual((await store.chats.readBefore(conv, 2, 3)).map((m) => m.seq), [1]);
        assert.deepEqual(await store.chats.readAfter(conv, 0, 0), []);
        assert.deepEqual(await store.chats.readAfter('p:0:1', 0, 10), []);
        const [m] = await store.chats.readAfter(conv, 2, 1);
        assert.deepEqual({ ...m, body: Buffer.from(m.body).toString() }, {
          serverMsgId: m.serverMsgId, convId: conv, seq: 3, senderId: a, clientMsgId: 'p3', recipientId: b, groupId: 0,
          msgType: 0, body: 'p3', clientTime: 1665142797000, serverTime: m.serverTime,
        });
      });

      it('lists lagging conversations until they are acked', async () => {
        const [a, b] = pair();
        const c = freshUser();
        const ab = privateConvId(a, b), ac = privateConvId(a, c);
        await store.chats.appendBatch([chat(b, a, 'l1'), chat(b, a, 'l2'), chat(c, a, 'l3')]);
        const lag = await store.chats.lagging(a);
        assert.deepEqual(lag.sort((x, y) => x.convId.localeCompare(y.convId)), [
          { convId: ab, lastSeq: 2, ackSeq: 0, readSeq: 0 }, { convId: ac, lastSeq: 1, ackSeq: 0, readSeq: 0 },
        ].sort((x, y) => x.convId.localeCompare(y.convId)));
        await store.chats.advanceAck([{ userId: a, convId: ab, seq: 2 }]);
        assert.deepEqual((await store.chats.lagging(a)).map((x) => x.convId), [ac]);
        assert.deepEqual(await store.chats.lagging(freshUser()), []);
      });

      it('returns cursors only for conversations the user is in', async () => {
        const [a, b] = pair();
        const ab = privateConvId(a, b);
        await store.chats.appendBatch([chat(a, b, 'k1')]);
        assert.deepEqual(await store.chats.cursors(a, [ab, privateConvId(a, freshUser()), ab]), [
          { convId: ab, lastSeq: 1, ackSeq: 0, readSeq: 1 },
        ]);
        assert.deepEqual(await store.chats.cursors(a, []), []);
      });
    });

    describe('cursors', () => {
      it('advanceAck moves forward only, never past lastSeq, and ignores non-members', async () => {
        const [a, b] = pair();
        const conv = privateConvId(a, b);
        await store.chats.appendBatch(Array.from({ length: 5 }, (_, i) => chat(a, b, `a${i}`)));
        await store.chats.advanceAck([{ userId: b, convId: conv, seq: 3 }]);
        await store.chats.advanceAck([{ userId: b, convId: conv, seq: 2 }]);
        assert.equal((await store.chats.cursors(b, [conv]))[0].ackSeq, 3);
        await store.chats.advanceAck([{ userId: b, convId: conv, seq: 4 }, { userId: b, convId: conv, seq: 1 }]);
        assert.equal((await store.chats.cursors(b, [conv]))[0].ackSeq, 4);
        await store.chats.advanceAck([{ userId: b, convId: conv, seq: 99 }]);
        assert.equal((await store.chats.cursors(b, [conv]))[0].ackSeq, 5, 'clamped to lastSeq');
        const stranger = freshUser();
        await store.chats.advanceAck([{ userId: stranger, convId: conv, seq: 5 }]);
        assert.equal(await store.chats.isMember(stranger, conv), false);
        await store.chats.advanceAck([]);
      });

      it('advanceRead moves forward only and never past lastSeq', async () => {
        const [a, b] = pair();
        const conv = privateConvId(a, b);
        await store.chats.appendBatch(Array.from({ length: 4 }, (_, i) => chat(a, b, `r${i}`)));
        await store.chats.advanceRead([{ userId: b, convId: conv, seq: 10 }]);
        assert.equal((await store.chats.cursors(b, [conv]))[0].readSeq, 4);
        await store.chats.advanceRead([{ userId: b, convId: conv, seq: 1 }]);
        assert.equal((await store.chats.cursors(b, [conv]))[0].readSeq, 4);
        await store.chats.appendBatch([chat(a, b, 'r9')]);
        assert.deepEqual(await store.chats.cursors(b, [conv]), [{ convId: conv, lastSeq: 5, ackSeq: 0, readSeq: 4 }]);
        assert.equal((await store.chats.cursors(a, [conv]))[0].readSeq, 5, 'the sender has read its own message');
      });

      it('rejects malformed cursor updates with BAD_REQUEST', async () => {
        await rejectsWithCode(store.chats.advanceAck([{ userId: 1, convId: 'p:1:2', seq: 1.5 }]), RequestError, 'BAD_REQUEST');
      });
    });

    it('reports failures as BackendError or RequestError only', async () => {
      // A sanity check of the error family: a duplicate name is a RequestError, not a driver error.
      const name = `e_${randomBytes(6).toString('hex')}`;
      await store.accounts.createAccount(name, 'h');
      await assert.rejects(store.accounts.createAccount(name, 'h'), (e: unknown) => e instanceof RequestError && !(e instanceof BackendError));
    });
  });
}
