/**
 * The per-transaction fsync policy of the embedded store (src/sqlite/sync-mode.ts): delivered
 * cursors commit with synchronous=NORMAL, messages and read marks at the configured level. Temp
 * triggers record `pragma_synchronous` inside each transaction, i.e. the level its commit used.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { privateConvId } from '@hxim/im-common';
import { SqliteStore } from '../src/index';
import { SyncMode } from '../src/sqlite/sync-mode';
import { chat } from './contract/store-contract';
import { tempDir } from './helpers/temp-dir';

const FULL = 2;
const NORMAL = 1;

/** Installs the probes and returns a reader of what they logged since the last read. */
function probe(store: SqliteStore): () => Array<[string, number]> {
  const db = (store as unknown as { db: Database.Database }).db;
  db.exec(`
    CREATE TEMP TABLE sync_log (what TEXT NOT NULL, level INTEGER NOT NULL);
    CREATE TEMP TRIGGER probe_msg AFTER INSERT ON main.chat_message BEGIN
      INSERT INTO sync_log SELECT 'msg', synchronous FROM pragma_synchronous; END;
    CREATE TEMP TRIGGER probe_ack AFTER UPDATE OF ack_seq ON main.conversation_member BEGIN
      INSERT INTO sync_log SELECT 'ack', synchronous FROM pragma_synchronous; END;
    CREATE TEMP TRIGGER probe_read AFTER UPDATE OF read_seq ON main.conversation_member BEGIN
      INSERT INTO sync_log SELECT 'read', synchronous FROM pragma_synchronous; END;`);
  const sel = db.prepare<[], { what: string; level: number }>('SELECT what, level FROM sync_log ORDER BY rowid');
  const clear = db.prepare('DELETE FROM sync_log');
  return () => {
    const rows = sel.all().map((r): [string, number] => [r.what, r.level]);
    clear.run();
    return rows;
  };
}

describe('SQLite fsync policy per transaction', () => {
  it('commits delivered cursors with NORMAL, messages and read marks with FULL', async () => {
    const store = new SqliteStore({ dataDir: tempDir() });
    try {
      const log = probe(store);
      const [a, b] = [501, 502];
      const conv = privateConvId(a, b);
      await store.chats.appendBatch([chat(a, b, 's1'), chat(a, b, 's2')]);
      assert.deepEqual(log().filter(([w]) => w === 'msg'), [['msg', FULL], ['msg', FULL]]);
      await store.chats.advanceAck([{ userId: b, convId: conv, seq: 2 }]);
      assert.deepEqual(log(), [['ack', NORMAL]]);
      assert.equal(store.info().synchronous, 'FULL', 'restored after the ack commit');
      await store.chats.appendBatch([chat(b, a, 's3')]);
      assert.deepEqual(log().filter(([w]) => w === 'msg'), [['msg', FULL]], 'the next message commit is FULL again');
      await store.chats.advanceRead([{ userId: b, convId: conv, seq: 2 }]);
      assert.deepEqual(log(), [['read', FULL]]);
      assert.deepEqual(await store.chats.cursors(b, [conv]), [{ convId: conv, lastSeq: 3, ackSeq: 2, readSeq: 3 }]);
    } finally {
      await store.close();
    }
  });

  it('leaves a store opened with synchronous NORMAL at NORMAL', async () => {
    const store = new SqliteStore({ dataDir: tempDir(), synchronous: 'NORMAL' });
    try {
      const log = probe(store);
      const [a, b] = [503, 504];
      await store.chats.appendBatch([chat(a, b, 'n1')]);
      await store.chats.advanceAck([{ userId: b, convId: privateConvId(a, b), seq: 1 }]);
      assert.deepEqual(log().filter(([w]) => w !== 'read'), [['msg', NORMAL], ['ack', NORMAL]]);
      assert.equal(store.info().synchronous, 'NORMAL');
    } finally {
      await store.close();
    }
  });

  it('restores the configured level when the relaxed transaction throws', () => {
    const db = new Database(path.join(tempDir(), 'sync.sqlite')); // :memory: ignores the pragma
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      const mode = new SyncMode(db, 'FULL');
      const level = (): number => Number(db.pragma('synchronous', { simple: true }));
      assert.equal(mode.relaxed(level), NORMAL);
      assert.throws(() => mode.relaxed(() => {
        throw new Error('boom');
      }), /boom/);
      assert.equal(level(), FULL);
      mode.strict();
      assert.equal(level(), FULL);
    } finally {
      db.close();
    }
  });
});
