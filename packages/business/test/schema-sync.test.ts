/**
 * schema.sql (MySQL) and the embedded SQLite schema must describe the same tables, columns and
 * keys. The only differences allowed are the documented physical ones of the dedup key
 * (src/sqlite/schema.ts): SQLite keeps it in chat_dedup (+ store_meta) instead of
 * uk_msg_sender_client.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { findSchemaFile, splitSqlStatements } from '../src/index';
import { SQLITE_SCHEMA } from '../src/sqlite/schema';

const SQLITE_ONLY_TABLES = new Set(['chat_dedup', 'store_meta']);
const MYSQL_ONLY_KEYS = new Set(['uk_msg_sender_client']);

interface Shape {
  tables: Map<string, string[]>;
  keys: Map<string, string>; // key name -> "table(col, ...)" (+ " unique")
}

function mysqlShape(): Shape {
  const shape: Shape = { tables: new Map(), keys: new Map() };
  for (const stmt of splitSqlStatements(fs.readFileSync(findSchemaFile(__dirname), 'utf8'))) {
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
  const shape: Shape = { tables: new Map(), keys: new Map() };
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

  it('splits schema.sql into its twelve CREATE TABLE statements', () => {
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
    db.exec(SQLITE_SCHEMA);
    db.exec(SQLITE_SCHEMA);
    db.close();
  });
});
