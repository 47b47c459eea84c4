/**
 * WAL checkpoints of the embedded store (src/sqlite/checkpoint.ts): a PASSIVE checkpoint once the
 * store is idle, so the next commit starts the WAL over; the automatic threshold set on open.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import type Database from 'better-sqlite3';
import { DEFAULT_SQLITE_WAL_CHECKPOINT_PAGES, SqliteStore } from '../src/index';
import { chat } from './contract/store-contract';
import { tempDir } from './helpers/temp-dir';

function dbOf(store: SqliteStore): Database.Database {
  return (store as unknown as { db: Database.Database }).db;
}

/** Frames in the WAL now (a PASSIVE checkpoint's `log`; it also copies them, which is fine here). */
function walFrames(store: SqliteStore): number {
  return Number((dbOf(store).pragma('wal_checkpoint(PASSIVE)') as Array<{ log: number }>)[0].log);
}

async function appendMany(store: SqliteStore, from: number, to: number, n: number, tag: string): Promise<void> {
  for (let i = 0; i < n; i++) await store.chats.appendBatch([chat(from, to, `${tag}${i}`)]);
}

describe('SQLite WAL checkpoints', () => {
  it('checkpoints once the store stays idle for an interval, and the next commit restarts the WAL', async () => {
    const store = new SqliteStore({ dataDir: tempDir(), checkpointIdleMs: 0 }); // ticks driven by the test
    try {
      const cp = store.checkpointer;
      await appendMany(store, 601, 602, 40, 'a');
      assert.equal(cp.tick(), false, 'commits since the last step: not idle yet');
      assert.equal(cp.tick(), true, 'no commit for a whole step: checkpoint');
      assert.equal(cp.stats.checkpoints, 1);
      const before = cp.stats.lastFrames;
      assert.ok(before > 40, `40 commits wrote more than 40 frames (${before})`);
      assert.equal(cp.tick(), false, 'nothing new to checkpoint');
      await store.chats.advanceAck([{ userId: 602, convId: chat(601, 602, 'x').convId, seq: 40 }]);
      assert.equal(cp.tick(), false, 'an ack commit counts as activity');
      await appendMany(store, 601, 602, 1, 'b');
      const after = walFrames(store);
      assert.ok(after < before, `the WAL started over after the idle checkpoint (${after} frames, was ${before})`);
    } finally {
      await store.close();
    }
  });

  it('without a checkpoint the WAL keeps growing below the automatic threshold (the control)', async () => {
    const store = new SqliteStore({ dataDir: tempDir(), checkpointIdleMs: 0 });
    try {
      await appendMany(store, 603, 604, 41, 'a');
      assert.ok(walFrames(store) > 41);
    } finally {
      await store.close();
    }
  });

  it('runs the idle checkpoint from its own timer', async () => {
    const store = new SqliteStore({ dataDir: tempDir(), checkpointIdleMs: 10 });
    try {
      await appendMany(store, 605, 606, 5, 'a');
      for (let i = 0; i < 500 && store.checkpointer.stats.checkpoints === 0; i++) await sleep(10);
      assert.equal(store.checkpointer.stats.checkpoints, 1);
      assert.ok(store.checkpointer.stats.lastFrames > 0);
    } finally {
      await store.close();
    }
  });

  it('sets wal_autocheckpoint from walCheckpointPages and validates checkpointIdleMs', async () => {
    const dflt = new SqliteStore({ dataDir: tempDir() });
    const off = new SqliteStore({ dataDir: tempDir(), walCheckpointPages: 0 });
    try {
      assert.equal(Number(dbOf(dflt).pragma('wal_autocheckpoint', { simple: true })), DEFAULT_SQLITE_WAL_CHECKPOINT_PAGES);
      assert.equal(Number(dbOf(off).pragma('wal_autocheckpoint', { simple: true })), 0);
    } finally {
      await dflt.close();
      await off.close();
    }
    assert.throws(() => new SqliteStore({ dataDir: tempDir(), checkpointIdleMs: -1 }), /sqlite\.checkpointIdleMs/);
  });
});
