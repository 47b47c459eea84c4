/**
 * SqliteStore: the Store contract on a temp directory, plus what only the embedded store does
 * (durability settings, one owner per file, the in-memory dedup index surviving a reopen).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { BackendError, privateConvId } from '@hxim/im-common';
import { openStore, SqliteStore } from '../src/index';
import { chat, runStoreContract } from './contract/store-contract';
import { tempDir } from './helpers/temp-dir';

runStoreContract('SqliteStore', async () => new SqliteStore({ dataDir: tempDir() }));

// The same contract with merges after every few messages: the merged half of the dedup index
// (chat_dedup) answers as well as the in-memory half.
runStoreContract('SqliteStore (dedup merged every 3 messages)', async () => new SqliteStore({ dataDir: tempDir(), dedupMergeRows: 3 }));

describe('SqliteStore specifics', () => {
  it('creates <dataDir>/hxim.sqlite in WAL mode with synchronous FULL by default', async () => {
    const dir = path.join(tempDir(), 'nested', 'data');
    const store = new SqliteStore({ dataDir: dir });
    try {
      assert.ok(fs.existsSync(path.join(dir, 'hxim.sqlite')));
      const info = store.info();
      assert.equal(info.file, path.resolve(dir, 'hxim.sqlite'));
      assert.equal(info.journalMode, 'wal');
      assert.equal(info.synchronous, 'FULL');
    } finally {
      await store.close();
    }
    const normal = new SqliteStore({ dataDir: dir, synchronous: 'NORMAL' });
    assert.equal(normal.info().synchronous, 'NORMAL');
    await normal.close();
  });

  it('rejects bad options with a RangeError naming the field', () => {
    assert.throws(() => new SqliteStore({ dataDir: tempDir(), synchronous: 'OFF' as 'FULL' }), /sqlite\.synchronous/);
    assert.throws(() => new SqliteStore({ dataDir: '' }), /sqlite\.dataDir/);
    assert.throws(() => new SqliteStore({ dataDir: tempDir(), dedupMergeRows: -1 }), /sqlite\.dedupMergeRows/);
  });

  it('refuses a second owner of the same file', async () => {
    const dir = tempDir();
    const first = new SqliteStore({ dataDir: dir, busyTimeoutMs: 50 });
    try {
      assert.throws(() => new SqliteStore({ dataDir: dir, busyTimeoutMs: 50 }),
        (e: unknown) => e instanceof BackendError && e.code === 'STORE_UNAVAILABLE' && /in use by another process/.test(e.message));
    } finally {
      await first.close();
    }
    await (new SqliteStore({ dataDir: dir })).close(); // free again after close
  });

  it('keeps messages, seqs, cursors and dedup keys across a reopen', async () => {
    const dir = tempDir();
    const [a, b] = [11, 12];
    const conv = privateConvId(a, b);
    let store = new SqliteStore({ dataDir: dir, dedupMergeRows: 4 });
    const first = await store.chats.appendBatch(Array.from({ length: 6 }, (_, i) => chat(a, b, `k${i}`)));
    const second = await store.chats.appendBatch([chat(a, b, 'k6'), chat(a, b, 'k7')]);
    await store.chats.advanceAck([{ userId: b, convId: conv, seq: 3 }]);
    assert.deepEqual([store.info().dedupMerges, store.info().dedupRecent], [1, 2], 'six merged, two in memory');
    // Simulate a crash: no close(), so nothing is merged or checkpointed at shutdown.
    (store as unknown as { db: { close(): void } }).db.close();
    store = new SqliteStore({ dataDir: dir, dedupMergeRows: 4 });
    try {
      assert.equal(store.info().dedupRecent, 2, 'the unmerged keys are rebuilt from chat_message');
      const again = await store.chats.appendBatch([chat(a, b, 'k0'), chat(a, b, 'k7'), chat(a, b, 'k8')]);
      assert.deepEqual(again.map((r) => [r.seq, r.duplicate]), [[1, true], [8, true], [9, false]]);
      assert.equal(again[0].serverMsgId, first[0].serverMsgId);
      assert.equal(again[1].serverMsgId, second[1].serverMsgId);
      assert.deepEqual(await store.chats.cursors(b, [conv]), [{ convId: conv, lastSeq: 9, ackSeq: 3, readSeq: 0 }]);
    } finally {
      await store.close();
    }
  });

  it('is what openStore({kind: "sqlite"}) returns', async () => {
    const store = await openStore({ kind: 'sqlite', dataDir: tempDir(), synchronous: 'NORMAL' });
    assert.equal(store.kind, 'sqlite');
    assert.ok(store instanceof SqliteStore);
    await store.ping();
    await store.close();
    await store.close(); // twice is fine
    await assert.rejects(store.ping(), (e: unknown) => e instanceof BackendError && e.code === 'STORE_UNAVAILABLE');
    await assert.rejects(openStore({ kind: 'redis' } as never), RangeError);
  });
});
