/**
 * schema.sql (MySQL) and the embedded SQLite schema must describe the same tables, columns and
 * keys, and bring older databases up to date by adding the same columns. The only differences allowed are the documented physical ones of the dedup key
 * (src/sqlite/schema.ts): SQLite keeps it in chat_dedup (+ store_meta) instead of
 * uk_msg_sender_client.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { findSchemaFile, splitSqlStatements } from '../src/index';
import { applySqliteSchema, SQLITE_ADDED_COLUMNS, SQLITE_SCHEMA } from '../src/sqlite/schema';

const SQLITE_ONLY_TABLES = new Set(['chat_dedup', 'store_meta']);
const MYSQL_ONLY_KEYS = new Set(['uk_msg_sender_client']);

interface Shape {
  tables: Map<string, string[]>;
  keys: Map<string, string>; // key name -> "table(col, ...)" (+ " unique")
  /** "table.column" of schema.sql's ALTER TABLE ... ADD COLUMN IF NOT EXISTS upgrades. */
  added: string[];
}

function mysqlShape(): Shape {
  const shape: Shape = { tables: new Map(), keys: new Map(), added: [] };
  for (const stmt of splitSqlStatements(fs.readFileSync(findSchemaFile(__dirname), 'utf8'))) {
    const alter = /^ALTER TABLE (\w+) ADD COLUMN IF NOT EXISTS (\w+) /.exec(stmt);
    if (alter) {
      shape.added.push(`${alter[1]}.${alter[2]}`);
      continue;
    }
    const m = /^CREATE TABLE IF NOT EXISTS (\w+) \(([\s\S]*)\)[^)]*$/.exec(stmt);
    assert.ok(m, `unexpected statement in schema.sql: ${stmt.slice(0, 60)}`);
    const cols: string[] = [];
    for (const raw of m[2].split('\n')) {
      const line = raw.trim().replace(/,$/, '');
      if (!line) continue;
      const key = /^(UNIQUE KEY|KEY) (\w+) \(([^)]*)\)/.exec(line);
      if (key) {
        shape.keys.set(key[2], `${m[1]}(${key[3].replace(/\s/g, '')})${key[1] === 'UNIQUE KEY' ? ' unique' : ''}`);
      } else if (!line.startsWith('PRIMARY KEY')) {
        cols.push(line.split(/\s+/)[0]);
      }
    }
    shape.tables.set(m[1], cols);
  }
  return shape;
}

function sqliteShape(): Shape {
  const db = new Database(':memory:');
  db.exec(SQLITE_SCHEMA);
  const shape: Shape = { tables: new Map(), keys: new Map(), added: SQLITE_ADDED_COLUMNS.map((c) => `${c.table}.${c.column}`) };
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as Array<{ name: string }>;
  for (const { name } of tables) {
    const cols = db.prepare(`SELECT name FROM pragma_table_xinfo(?)`).all(name) as Array<{ name: string }>;
    shape.tables.set(name, cols.map((c) => c.name));
    const idx = db.prepare(`SELECT name, "unique" AS u, origin FROM pragma_index_list(?)`).all(name) as Array<{ name: string; u: number; origin: string }>;
    for (const i of idx) {
      if (i.origin === 'pk') continue;
      const icols = db.prepare('SELECT name FROM pragma_index_info(?) ORDER BY seqno').all(i.name) as Array<{ name: string }>;
      shape.keys.set(i.name, `${name}(${icols.map((c) => c.name).join(',')})${i.u ? ' unique' : ''}`);
    }
  }
  db.close();
  return shape;
}

describe('schema.sql and the SQLite schema', () => {
  const my = mysqlShape();
  const lite = sqliteShape();

  it('splits schema.sql into its twelve CREATE TABLE statements (and its column upgrades)', () => {
    assert.deepEqual([...my.tables.keys()].sort(), [
      'chat_message', 'conversation', 'conversation_member', 'friend_apply', 'friend_pair', 'friendship', 'group_member',
      'im_group', 'session_token',
      'user_account', 'user_block', 'user_notice',
    ]);
  });

  it('have the same tables with the same columns in the same order', () => {
    const liteTables = [...lite.tables.keys()].filter((t) => !SQLITE_ONLY_TABLES.has(t)).sort();
    assert.deepEqual(liteTables, [...my.tables.keys()].sort());
    for (const [table, cols] of my.tables) assert.deepEqual(lite.tables.get(table), cols, `columns of ${table}`);
  });

  it('have the same secondary and unique keys, by name', () => {
    const myKeys = new Map([...my.keys].filter(([k]) => !MYSQL_ONLY_KEYS.has(k)));
    assert.deepEqual(new Map([...lite.keys].sort()), new Map([...myKeys].sort()));
  });

  it('applies idempotently in SQLite', () => {
    const db = new Database(':memory:');
    applySqliteSchema(db);
    applySqliteSchema(db);
    db.close();
  });

  it('add the same later columns, each also in its CREATE TABLE, last (where an ALTER puts it)', () => {
    assert.deepEqual([...lite.added].sort(), [...my.added].sort());
    assert.ok(my.added.includes('conversation.member_seq'));
    for (const tc of my.added) {
      const [table, column] = tc.split('.') as [string, string];
      const cols = my.tables.get(table) ?? [];
      assert.ok(cols.includes(column), `${tc} is in schema.sql's CREATE TABLE`);
      assert.ok(cols.indexOf(column) >= cols.length - my.added.filter((x) => x.startsWith(`${table}.`)).length, `${tc} is among the last columns`);
    }
  });

  it('brings an SQLite database of the earlier schema up to date at open, keeping its rows', () => {
    const db = new Database(':memory:');
    // conversation as it was before member_seq
    db.exec(`CREATE TABLE conversation (conv_id TEXT NOT NULL PRIMARY KEY, conv_type INTEGER NOT NULL DEFAULT 0,
      last_seq INTEGER NOT NULL DEFAULT 0, last_msg_id INTEGER NOT NULL DEFAULT 0, last_sender_id INTEGER NOT NULL DEFAULT 0,
      last_time INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL) WITHOUT ROWID`);
    db.prepare("INSERT INTO conversation (conv_id, conv_type, last_seq, created_at) VALUES ('g:1', 1, 7, 0)").run();
    applySqliteSchema(db);
    applySqliteSchema(db);
    const cols = (db.prepare('SELECT name FROM pragma_table_xinfo(?)').all('conversation') as Array<{ name: string }>).map((c) => c.name);
    assert.deepEqual(cols, lite.tables.get('conversation'));
    assert.deepEqual(db.prepare("SELECT last_seq, member_seq FROM conversation WHERE conv_id = 'g:1'").get(), { last_seq: 7, member_seq: 0 });
    db.close();
  });
});
