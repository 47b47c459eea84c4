/**
 * ChatBatcher and CursorBatcher over a real SqliteStore. Slow and failing stores are a real
 * class (ProbeChatStore) wrapping the SQLite one, so the timing paths run against real commits.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BackendError, privateConvId, RequestError } from '@hxim/im-common';
import { ChatBatcher, CursorBatcher, SqliteStore } from '../src/index';
import type { AppendResult, ChatStore, ConvCursor, CursorUpdate, NewChat, StoredChat } from '../src/ports';
import { chat } from './contract/store-contract';
import { tempDir } from './helpers/temp-dir';

/** A ChatStore that delegates to a real one, with optional delays and injected failures. */
class ProbeChatStore implements ChatStore {
  appendCalls = 0;
  batchSizes: number[] = [];
  concurrent = 0;
  maxConcurrent = 0;
  ackCalls: CursorUpdate[][] = [];
  readCalls: CursorUpdate[][] = [];
  /** Delay of each appendBatch, in ms. */
  appendDelayMs = 0;
  /** The next this-many appendBatch calls fail. */
  failAppends = 0;
  /** The next this-many advanceAck calls fail. */
  failAcks = 0;

  constructor(private readonly inner: ChatStore) {}

  async appendBatch(chats: readonly NewChat[]): Promise<AppendResult[]> {
    this.appendCalls++;
    this.batchSizes.push(chats.length);
    this.concurrent++;
    this.maxConcurrent = Math.max(this.maxConcurrent, this.concurrent);
    try {
      if (this.appendDelayMs > 0) await new Promise((r) => setTimeout(r, this.appendDelayMs));
      if (this.failAppends > 0) {
        this.failAppends--;
        throw new BackendError('STORE_UNAVAILABLE', 'injected failure');
      }
      return await this.inner.appendBatch(chats);
    } finally {
      this.concurrent--;
    }
  }
  readAfter(convId: string, afterSeq: number, limit: number): Promise<StoredChat[]> {
    return this.inner.readAfter(convId, afterSeq, limit);
  }
  readBefore(convId: string, beforeSeq: number, limit: number): Promise<StoredChat[]> {
    return this.inner.readBefore(convId, beforeSeq, limit);
  }
  lagging(userId: number): Promise<ConvCursor[]> {
    return this.inner.lagging(userId);
  }
  cursors(userId: number, convIds: readonly string[]): Promise<ConvCursor[]> {
    return this.inner.cursors(userId, convIds);
  }
  isMember(userId: number, convId: string): Promise<boolean> {
    return this.inner.isMember(userId, convId);
  }
  async advanceAck(updates: readonly CursorUpdate[]): Promise<void> {
    this.ackCalls.push([...updates]);
    if (this.failAcks > 0) {
      this.failAcks--;
      throw new BackendError('STORE_UNAVAILABLE', 'injected cursor failure');
    }
    return this.inner.advanceAck(updates);
  }
  async advanceRead(updates: readonly CursorUpdate[]): Promise<void> {
    this.readCalls.push([...updates]);
    return this.inner.advanceRead(updates);
  }
}

let store: SqliteStore;
let nextUser = 100;
before(() => {
  store = new SqliteStore({ dataDir: tempDir() });
});
after(async () => {
  await store.close();
});

function users(): [number, number] {
  return [++nextUser, ++nextUser];
}

function isCode(cls: Function, code: string): (e: unknown) => boolean {
  return (e: unknown) => e instanceof cls && (e as BackendError).code === code;
}

describe('ChatBatcher', () => {
  it('collapses one turn of appends into one batch and answers in input order', async () => {
    const probe = new ProbeChatStore(store.chats);
    const batcher = new ChatBatcher(probe);
    const [a, b] = users();
    const results = await Promise.all(Array.from({ length: 600 }, (_, i) => batcher.append(chat(a, b, `t${i}`))));
    assert.deepEqual(probe.batchSizes, [600]);
    assert.deepEqual(results.map((r) => r.seq), Array.from({ length: 600 }, (_, i) => i + 1));
    assert.equal(batcher.stats.batches, 1);
    assert.equal(batcher.stats.rows, 600);
    assert.equal(batcher.queued, 0);
  });

  it('splits at maxBatch, one batch at a time, keeping order across batches', async () => {
    const probe = new ProbeChatStore(store.chats);
    probe.appendDelayMs = 5;
    const batcher = new ChatBatcher(probe, { maxBatch: 100 });
    const [a, b] = users();
    const settledOrder: number[] = [];
    const all = Array.from({ length: 1000 }, (_, i) => batcher.append(chat(a, b, `s${i}`)).then((r) => {
      settledOrder.push(i);
      return r;
    }));
    const results = await Promise.all(all);
    assert.deepEqual(probe.batchSizes, Array(10).fill(100));
    assert.equal(probe.maxConcurrent, 1);
    assert.deepEqual(results.map((r) => r.seq), Array.from({ length: 1000 }, (_, i) => i + 1));
    assert.deepEqual(settledOrder, Array.from({ length: 1000 }, (_, i) => i));
  });

  it('rejects beyond maxQueue with STORE_UNAVAILABLE and stores the rest', async () => {
    const batcher = new ChatBatcher(store.chats, { maxQueue: 10 });
    const [a, b] = users();
    const outcomes = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => batcher.append(chat(a, b, `q${i}`))));
    assert.deepEqual(outcomes.map((o) => o.status), [...Array(10).fill('fulfilled'), 'rejected', 'rejected']);
    const reason = (outcomes[10] as PromiseRejectedResult).reason as BackendError;
    assert.ok(isCode(BackendError, 'STORE_UNAVAILABLE')(reason));
    assert.match(reason.message, /store queue full/);
    assert.equal(batcher.stats.rejectedFull, 2);
    assert.equal((await store.chats.readAfter(privateConvId(a, b), 0, 100)).length, 10);
  });

  it('times out callers of a slow store with STORE_TIMEOUT, never runs two batches at once, then recovers', async () => {
    const probe = new ProbeChatStore(store.chats);
    probe.appendDelayMs = 250;
    const batcher = new ChatBatcher(probe, { timeoutMs: 60 });
    const [a, b] = users();
    const t0 = Date.now();
    const first = batcher.append(chat(a, b, 'slow1'));
    await new Promise((r) => setImmediate(r)); // slow1 is now in flight
    const queued = batcher.append(chat(a, b, 'slow2'));
    await Promise.all([
      assert.rejects(first, (e: unknown) => isCode(BackendError, 'STORE_TIMEOUT')(e) && /may have been stored/.test((e as Error).message)),
      assert.rejects(queued, (e: unknown) => isCode(BackendError, 'STORE_TIMEOUT')(e) && /was not stored/.test((e as Error).message)),
    ]);
    assert.ok(Date.now() - t0 < 200, 'both answered at their deadline, not when the store answered');
    assert.equal(batcher.stats.timeouts, 2);
    probe.appendDelayMs = 0;
    await batcher.flush();
    const retry = await batcher.append(chat(a, b, 'slow1')); // the in-flight one did commit
    assert.deepEqual([retry.seq, retry.duplicate], [1, true]);
    const next = await batcher.append(chat(a, b, 'slow2')); // the queued one never reached the store
    assert.deepEqual([next.seq, next.duplicate], [2, false]);
    assert.equal(probe.maxConcurrent, 1);
  });

  it('passes a store failure to every caller of the batch', async () => {
    const probe = new ProbeChatStore(store.chats);
    probe.failAppends = 1;
    const batcher = new ChatBatcher(probe);
    const [a, b] = users();
    const outcomes = await Promise.allSettled([batcher.append(chat(a, b, 'f1')), batcher.append(chat(a, b, 'f2'))]);
    for (const o of outcomes) assert.ok(o.status === 'rejected' && isCode(BackendError, 'STORE_UNAVAILABLE')(o.reason));
    assert.equal(batcher.stats.failures, 1);
    assert.equal((await batcher.append(chat(a, b, 'f1'))).seq, 1);
  });

  it('rejects a malformed chat alone, before it can fail a batch', async () => {
    const batcher = new ChatBatcher(store.chats);
    const [a, b] = users();
    const outcomes = await Promise.allSettled([
      batcher.append(chat(a, b, 'v1')), batcher.append({ ...chat(a, b, 'v2'), senderId: -1 }), batcher.append(chat(a, b, 'v3')),
    ]);
    assert.deepEqual(outcomes.map((o) => o.status), ['fulfilled', 'rejected', 'fulfilled']);
    assert.ok(isCode(RequestError, 'BAD_REQUEST')((outcomes[1] as PromiseRejectedResult).reason));
  });

  it('flush() waits for everything submitted before it', async () => {
    const probe = new ProbeChatStore(store.chats);
    probe.appendDelayMs = 10;
    const batcher = new ChatBatcher(probe, { maxBatch: 3 });
    const [a, b] = users();
    let settled = 0;
    for (let i = 0; i < 7; i++) void batcher.append(chat(a, b, `w${i}`)).then(() => settled++);
    await batcher.flush();
    assert.equal(settled, 7);
    await batcher.flush(); // nothing pending: resolves at once
  });

  it('validates its options', () => {
    assert.throws(() => new ChatBatcher(store.chats, { maxBatch: 0 }), /maxBatch/);
    assert.throws(() => new ChatBatcher(store.chats, { timeoutMs: -1 }), /timeoutMs/);
  });
});

describe('CursorBatcher', () => {
  it('coalesces moves per (user, conversation) to the highest seq, once per turn', async () => {
    const probe = new ProbeChatStore(store.chats);
    const cursors = new CursorBatcher(probe);
    const [a, b] = users();
    const conv = privateConvId(a, b);
    await store.chats.appendBatch(Array.from({ length: 9 }, (_, i) => chat(a, b, `c${i}`)));
    for (const s of [3, 7, 5]) cursors.ack(b, conv, s);
    cursors.read(b, conv, 2);
    cursors.read(b, conv, 4);
    await new Promise((r) => setImmediate(r));
    await cursors.flush();
    assert.deepEqual(probe.ackCalls, [[{ userId: b, convId: conv, seq: 7 }]]);
    assert.deepEqual(probe.readCalls, [[{ userId: b, convId: conv, seq: 4 }]]);
    assert.deepEqual(await store.chats.cursors(b, [conv]), [{ convId: conv, lastSeq: 9, ackSeq: 7, readSeq: 4 }]);
    assert.equal(cursors.stats.rows, 2);
  });

  it('keeps moves through a failed write and retries them', async () => {
    const probe = new ProbeChatStore(store.chats);
    probe.failAcks = 1;
    const errors: unknown[] = [];
    const cursors = new CursorBatcher(probe, { onError: (e) => errors.push(e), retryDelayMs: 20 });
    const [a, b] = users();
    const conv = privateConvId(a, b);
    await store.chats.appendBatch(Array.from({ length: 5 }, (_, i) => chat(a, b, `r${i}`)));
    cursors.ack(b, conv, 4);
    cursors.read(b, conv, 3);
    for (let i = 0; i < 50 && (errors.length === 0 || cursors.pending > 0); i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(errors.length, 1);
    assert.ok(isCode(BackendError, 'STORE_UNAVAILABLE')(errors[0]));
    assert.equal(cursors.pending, 0);
    assert.deepEqual(await store.chats.cursors(b, [conv]), [{ convId: conv, lastSeq: 5, ackSeq: 4, readSeq: 3 }]);
    assert.equal(cursors.stats.failures, 1);
  });

  it('explicit flush() rejects with the store error and keeps the moves', async () => {
    const probe = new ProbeChatStore(store.chats);
    probe.failAcks = 1;
    const cursors = new CursorBatcher(probe, { retryDelayMs: 10_000 });
    const [a, b] = users();
    const conv = privateConvId(a, b);
    await store.chats.appendBatch([chat(a, b, 'e1'), chat(a, b, 'e2')]);
    cursors.ack(b, conv, 2);
    await assert.rejects(cursors.flush(), isCode(BackendError, 'STORE_UNAVAILABLE'));
    assert.equal(cursors.pending, 1);
    await cursors.flush();
    assert.equal((await store.chats.cursors(b, [conv]))[0].ackSeq, 2);
  });

  it('drops malformed moves instead of poisoning the batch', async () => {
    const probe = new ProbeChatStore(store.chats);
    const cursors = new CursorBatcher(probe);
    cursors.ack(0, 'p:1:2', 1);
    cursors.ack(5, 'not a conv', 1);
    cursors.read(5, 'p:1:2', Number.NaN);
    assert.equal(cursors.stats.dropped, 3);
    assert.equal(cursors.pending, 0);
    await cursors.flush();
    assert.equal(probe.ackCalls.length + probe.readCalls.length, 0);
  });
});
