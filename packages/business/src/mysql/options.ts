/**
 * Options of the MySQL/MariaDB store: DEFAULT_* constants, one parse function that validates and
 * names the bad field (STYLE.md "Options"), and the URL split into driver settings.
 */

import { parseMaxNoticesPerUser } from '../friends/notice-bound';

/** Default pool size per server instance. */
export const DEFAULT_MYSQL_CONNECTION_LIMIT = 10;
/**
 * Default deadline of one store call, in ms: every query of it, the wait for a pooled connection
 * and the connect itself. Under the 2 s a send may take to fail (delivery contract 4).
 */
export const DEFAULT_MYSQL_QUERY_TIMEOUT_MS = 1500;
/** Default bound of callers waiting for a pooled connection; beyond it calls fail at once. */
export const DEFAULT_MYSQL_QUEUE_LIMIT = 1000;
/** Default deadline for creating the database and applying schema.sql at open, in ms. */
export const DEFAULT_MYSQL_SCHEMA_TIMEOUT_MS = 30_000;
/** Default retries of a transaction that hit a deadlock or a unique-key race. */
export const DEFAULT_MYSQL_MAX_RETRIES = 3;
/** Database name used when the URL has none. */
export const DEFAULT_MYSQL_DATABASE = 'hxim';

/** Options of {@link openMysqlStore}. */
export interface MysqlStoreOptions {
  /** mysql://user:password@host:port/database. The database is created if missing. */
  url: string;
  /** Pooled connections; default {@link DEFAULT_MYSQL_CONNECTION_LIMIT}. */
  connectionLimit?: number;
  /** Deadline of one store call in ms; default {@link DEFAULT_MYSQL_QUERY_TIMEOUT_MS}. */
  queryTimeoutMs?: number;
  /** Callers allowed to wait for a connection; default {@link DEFAULT_MYSQL_QUEUE_LIMIT}. */
  queueLimit?: number;
  /** Create the database and apply schema.sql at open; default true. */
  applySchema?: boolean;
  /** schema.sql to apply; default: the repository's, found by walking up from this module. */
  schemaPath?: string;
  /** Deadline of the schema step in ms; default {@link DEFAULT_MYSQL_SCHEMA_TIMEOUT_MS}. */
  schemaTimeoutMs?: number;
  /** Deadlock / unique-race retries per transaction; default {@link DEFAULT_MYSQL_MAX_RETRIES}. */
  maxRetries?: number;
  /** Bound of the member-row cache (see member-cache.ts); default 1,000,000 pairs. */
  memberCacheEntries?: number;
  /**
   * Stored notices kept per user; inserting more deletes that user's oldest in the same
   * transaction (../friends/notice-bound.ts). Default 500, 1..100,000.
   */
  maxNoticesPerUser?: number;
}

/** Connection settings taken from the URL. */
export interface MysqlTarget {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

/** Options after validation, with every default filled in. */
export interface ParsedMysqlOptions extends Required<Omit<MysqlStoreOptions, 'schemaPath'>> {
  schemaPath: string | undefined;
  target: MysqlTarget;
}

// The name is put into CREATE DATABASE / USE as an identifier, so it is restricted, not escaped.
const DB_NAME_RE = /^[A-Za-z0-9_]{1,64}$/;

/** Splits a mysql:// URL; throws a RangeError that says what is wrong with it. */
export function parseMysqlUrl(url: string): MysqlTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new RangeError(`mysql.url is not a URL: expected mysql://user:password@host:3306/database, got ${JSON.stringify(url)}`);
  }
  if (u.protocol !== 'mysql:' && u.protocol !== 'mariadb:') {
    throw new RangeError(`mysql.url must start with mysql://, got ${u.protocol}//`);
  }
  const database = decodeURIComponent(u.pathname.replace(/^\//, '')) || DEFAULT_MYSQL_DATABASE;
  if (!DB_NAME_RE.test(database)) {
    throw new RangeError(`mysql.url database name must be 1..64 of [A-Za-z0-9_], got ${JSON.stringify(database)}`);
  }
  const port = u.port ? Number(u.port) : 3306;
  return {
    host: u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port,
    user: decodeURIComponent(u.username) || 'root',
    password: decodeURIComponent(u.password),
    database,
  };
}

function positiveInt(value: number | undefined, def: number, field: string): number {
  const v = value ?? def;
  if (!Number.isInteger(v) || v <= 0) throw new RangeError(`mysql.${field} must be a positive integer, not ${String(value)}`);
  return v;
}

/** Validates options and fills in defaults; throws a RangeError naming the bad field. */
export function parseMysqlOptions(input: MysqlStoreOptions): ParsedMysqlOptions {
  if (typeof input?.url !== 'string') throw new RangeError('mysql.url is required (mysql://user:password@host:3306/database)');
  const maxRetries = input.maxRetries ?? DEFAULT_MYSQL_MAX_RETRIES;
  if (!Number.isInteger(maxRetries) || maxRetries < 0) throw new RangeError('mysql.maxRetries must be an integer >= 0');
  if (input.applySchema !== undefined && typeof input.applySchema !== 'boolean') {
    throw new RangeError('mysql.applySchema must be a boolean');
  }
  return {
    url: input.url,
    target: parseMysqlUrl(input.url),
    connectionLimit: positiveInt(input.connectionLimit, DEFAULT_MYSQL_CONNECTION_LIMIT, 'connectionLimit'),
    queryTimeoutMs: positiveInt(input.queryTimeoutMs, DEFAULT_MYSQL_QUERY_TIMEOUT_MS, 'queryTimeoutMs'),
    queueLimit: positiveInt(input.queueLimit, DEFAULT_MYSQL_QUEUE_LIMIT, 'queueLimit'),
    applySchema: input.applySchema ?? true,
    schemaPath: input.schemaPath,
    schemaTimeoutMs: positiveInt(input.schemaTimeoutMs, DEFAULT_MYSQL_SCHEMA_TIMEOUT_MS, 'schemaTimeoutMs'),
    maxRetries,
    memberCacheEntries: positiveInt(input.memberCacheEntries, 1_000_000, 'memberCacheEntries'),
    maxNoticesPerUser: parseMaxNoticesPerUser(input.maxNoticesPerUser, 'mysql.maxNoticesPerUser'),
  };
}
