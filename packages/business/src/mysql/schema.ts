/**
 * Creating the database and applying the repository's schema.sql at open. The file is read at
 * run time rather than embedded so that there is one MySQL schema, the one a DBA reads; it is
 * found by walking up from this module, which works from src/ and from dist/src/.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as mysql from 'mysql2/promise';
import { BackendError } from '@hxim/im-common';
import { mysqlError } from './db';
import type { ParsedMysqlOptions } from './options';

/** The schema file's name at the repository root. */
export const SCHEMA_FILE_NAME = 'schema.sql';

/** The nearest schema.sql above `start`; throws naming the option to set if there is none. */
export function findSchemaFile(start: string = __dirname): string {
  let dir = path.resolve(start);
  for (let i = 0; i < 8; i++) {
    const candidate = path.join(dir, SCHEMA_FILE_NAME);
    if (fs.existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new RangeError(`no ${SCHEMA_FILE_NAME} found above ${start}: set mysql.schemaPath`);
}

/**
 * The statements of a schema file: full-line "--" comments dropped, split at semicolons that
 * end a line (schema.sql keeps to that layout; see its header).
 */
export function splitSqlStatements(text: string): string[] {
  const code = text.split('\n').filter((line) => !line.trim().startsWith('--')).join('\n');
  return code.split(/;[ \t]*$/m).map((s) => s.trim()).filter((s) => s.length > 0);
}

function withDeadline<T>(what: string, ms: number, p: Promise<T>, onTimeout: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      reject(new BackendError('STORE_TIMEOUT', `mysql ${what}: not done within ${ms} ms (see mysql.schemaTimeoutMs)`));
    }, ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Creates the database named in the URL if it is missing (connecting without a database first),
 * then applies every statement of schema.sql. Idempotent: the schema is all IF NOT EXISTS.
 * Rejects with BackendError when the server cannot be reached or a statement fails.
 */
export async function prepareDatabase(opts: ParsedMysqlOptions): Promise<void> {
  const file = opts.schemaPath ?? findSchemaFile();
  const statements = splitSqlStatements(fs.readFileSync(file, 'utf8'));
  const t = opts.target;
  let conn: mysql.Connection | undefined;
  const work = (async () => {
    conn = await mysql.createConnection({
      host: t.host, port: t.port, user: t.user, password: t.password,
      connectTimeout: opts.queryTimeoutMs, charset: 'UTF8MB4_UNICODE_CI',
    });
    // The name was checked against [A-Za-z0-9_] (options.ts), so quoting it is enough.
    await conn.query(`CREATE DATABASE IF NOT EXISTS \`${t.database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
    await conn.query(`USE \`${t.database}\``);
    for (const sql of statements) await conn.query(sql);
  })();
  let timedOut = false;
  try {
    await withDeadline('schema', opts.schemaTimeoutMs, work, () => {
      timedOut = true;
      conn?.destroy();
    });
  } catch (err) {
    throw mysqlError(`create database ${t.database} / apply ${file}`, err);
  } finally {
    const c = conn as mysql.Connection | undefined;
    if (c && !timedOut) await c.end().catch(() => c.destroy());
  }
}
