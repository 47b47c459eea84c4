/**
 * The MySQL plumbing under the stores: a mysql2 pool, a deadline on every store call, error
 * mapping to BackendError, multi-statement scripts (several statements per round trip), and
 * bounded retries of deadlocked transactions.
 *
 * Why a deadline of our own instead of mysql2's `timeout` query option: that option only fails
 * the callback and leaves the connection mid-protocol. Here the whole call (waiting for a pooled
 * connection, connecting, every statement) shares one timer, and when it fires the connection
 * is destroyed, so it can never go back to the pool mid-transaction. The caller gets
 * STORE_TIMEOUT within queryTimeoutMs, never a hang (delivery contract 4, DESIGN.md).
 */
import type { EventEmitter } from 'node:events';
import * as mysql from 'mysql2/promise';
import { BackendError, ImError } from '@hxim/im-common';
import type { ParsedMysqlOptions } from './options';

/** MySQL server error numbers the stores react to. */
export const ER = { DUP_ENTRY: 1062, LOCK_WAIT_TIMEOUT: 1205, LOCK_DEADLOCK: 1213 } as const;

/** One statement of a script, with `?` placeholders. */
export interface Stmt {
  sql: string;
  values?: unknown[];
}

/** The server number of a MySQL error, or 0. */
export function errnoOf(err: unknown): number {
  const n = (err as { errno?: unknown } | null)?.errno;
  return typeof n === 'number' ? n : 0;
}

/** Maps any driver error to an ImError (ImErrors pass through). */
export function mysqlError(what: string, err: unknown): ImError {
  if (err instanceof ImError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'ETIMEDOUT' || code === 'PROTOCOL_SEQUENCE_TIMEOUT' || errnoOf(err) === ER.LOCK_WAIT_TIMEOUT) {
    return new BackendError('STORE_TIMEOUT', `mysql ${what} timed out: ${msg}`, { cause: err });
  }
  if (msg === 'Queue limit reached.') {
    return new BackendError('STORE_UNAVAILABLE', `mysql ${what}: too many calls waiting for a connection (raise mysql.queueLimit or connectionLimit)`, { cause: err });
  }
  return new BackendError('STORE_UNAVAILABLE', `mysql ${what} failed: ${msg}`, { cause: err });
}

/** Server settings that change how appends read back their ids. */
export interface ServerVars {
  /** innodb_autoinc_lock_mode: 0/1 give a multi-row INSERT consecutive ids, 2 may not. */
  autoincLockMode: number;
  /** auto_increment_increment: the step between consecutive ids (Galera uses > 1). */
  autoincIncrement: number;
}

/** One pooled connection inside a store call. */
export class Conn {
  private dead = false;
  /** Set when the connection's transaction state is unknown: it is destroyed, not reused. */
  poisoned = false;

  /** Wraps a pooled connection for one call ending at `deadline` (ms since the epoch). */
  constructor(private readonly raw: mysql.PoolConnection, private readonly deadline: number,
    private readonly limits: { packetBytes: number }) {}

  /** Milliseconds left before the call's deadline. */
  timeLeft(): number {
    return this.deadline - Date.now();
  }

  /** False once destroyed by the deadline. */
  get alive(): boolean {
    return !this.dead;
  }

  /** Destroys the connection (the server rolls back whatever was open). */
  kill(): void {
    if (this.dead) return;
    this.dead = true;
    this.raw.destroy();
  }

  /** Gives the connection back to the pool, or destroys it if its state is unknown. */
  finish(): void {
    if (this.dead) return;
    if (this.poisoned) this.kill();
    else this.raw.release();
  }

  /** One statement (or a pre-joined script); resolves with mysql2's result. */
  async query<T = unknown>(sql: string, values?: unknown[]): Promise<T> {
    if (this.dead) throw new BackendError('STORE_TIMEOUT', 'mysql connection was closed by the call deadline');
    const [rows] = await this.raw.query(sql, values);
    return rows as T;
  }

  /**
   * Runs statements in as few round trips as the packet limit allows (multipleStatements), and
   * returns one result per statement. A failing statement stops the rest of its packet, which
   * is what a transaction wants: the caller rolls back.
   */
  async script(stmts: readonly Stmt[]): Promise<unknown[]> {
    const texts = stmts.map((s) => (s.values ? this.raw.format(s.sql, s.values) : s.sql));
    const out: unknown[] = [];
    for (let i = 0; i < texts.length;) {
      let j = i;
      let bytes = 0;
      while (j < texts.length) {
        const len = Buffer.byteLength(texts[j]) + 2;
        if (j > i && bytes + len > this.limits.packetBytes) break;
        bytes += len;
        j++;
      }
      const res = await this.query<unknown>(texts.slice(i, j).join(';\n'));
      if (j - i === 1) out.push(res);
      else out.push(...(res as unknown[]));
      i = j;
    }
    return out;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A pool plus the call discipline above. */
export class MysqlDb {
  /** The mysql2 pool (promise API). */
  readonly pool: mysql.Pool;
  /** Counters for metrics: calls, retried transactions, deadline hits, failed calls. */
  readonly stats = { calls: 0, retries: 0, timeouts: 0, failures: 0 };
  /** Largest script packet in bytes, lowered to fit @@max_allowed_packet once known. */
  readonly limits = { packetBytes: 4 << 20 };
  private vars: ServerVars | undefined;

  /** Creates the pool; no connection is made until the first call. */
  constructor(private readonly opts: ParsedMysqlOptions) {
    const t = opts.target;
    this.pool = mysql.createPool({
      host: t.host, port: t.port, user: t.user, password: t.password, database: t.database,
      connectionLimit: opts.connectionLimit, queueLimit: opts.queueLimit, waitForConnections: true,
      connectTimeout: opts.queryTimeoutMs, multipleStatements: true, charset: 'UTF8MB4_UNICODE_CI',
      // BIGINT columns come back as JS numbers (ids stay below 2^53).
      supportBigNumbers: false, bigNumberStrings: false,
      enableKeepAlive: true, keepAliveInitialDelay: 10_000, maxIdle: opts.connectionLimit, idleTimeout: 60_000,
      // No stack trace captured per query by the promise wrapper (a profile hot spot); errors
      // are mapped to BackendErrors naming the store call anyway.
      trace: false,
    });
    // Every new connection: READ COMMITTED (no gap locks, fewer deadlocks between instances;
    // seqs are assigned under explicit row locks anyway) and a lock wait shorter than a send's
    // budget. Queued before the connection's first command, so it costs no round trip.
    const lockWaitS = Math.max(1, Math.ceil(opts.queryTimeoutMs / 1000));
    const session = `SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED; SET SESSION innodb_lock_wait_timeout = ${lockWaitS}`;
    (this.pool.pool as unknown as EventEmitter).on('connection', (c: { query(sql: string, cb: () => void): unknown }) => {
      c.query(session, () => undefined); // a failure here surfaces on the connection's next query
    });
  }

  /** Runs `fn` on one pooled connection within queryTimeoutMs; errors become ImErrors. */
  run<T>(what: string, fn: (c: Conn) => Promise<T>): Promise<T> {
    this.stats.calls++;
    const ms = this.opts.queryTimeoutMs;
    const deadline = Date.now() + ms;
    return new Promise<T>((resolve, reject) => {
      let conn: Conn | undefined;
      let settled = false;
      const fail = (err: ImError): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.stats.failures++;
        reject(err);
      };
      const timer = setTimeout(() => {
        this.stats.timeouts++;
        conn?.kill();
        fail(new BackendError('STORE_TIMEOUT',
          `mysql ${what}: no answer within ${ms} ms (database down or overloaded? see mysql.queryTimeoutMs)`));
      }, ms);
      this.pool.getConnection().then(async (raw) => {
        if (settled) {
          raw.release();
          return;
        }
        conn = new Conn(raw, deadline, this.limits);
        try {
          const value = await fn(conn);
          if (!settled) {
            settled = true;
            clearTimeout(timer);
            resolve(value);
          }
        } finally {
          conn.finish();
        }
      }).catch((err: unknown) => fail(mysqlError(what, err)));
    });
  }

  /**
   * Runs a transaction body, retrying it (same connection, same deadline) when `retryable`
   * says so, at most maxRetries times. The body issues its own START TRANSACTION and COMMIT,
   * so they share round trips with its first and last statements; on failure this rolls back.
   */
  transaction<T>(what: string, body: (c: Conn) => Promise<T>, retryable: (err: unknown) => boolean): Promise<T> {
    return this.run(what, async (c) => {
      for (let attempt = 0; ; attempt++) {
        try {
          return await body(c);
        } catch (err) {
          if (!c.alive) throw err;
          try {
            await c.query('ROLLBACK');
          } catch {
            c.poisoned = true;
            throw err;
          }
          if (attempt >= this.opts.maxRetries || !retryable(err) || c.timeLeft() < 100) throw err;
          this.stats.retries++;
          await sleep(Math.min(c.timeLeft() / 4, 2 + Math.random() * 10 * (attempt + 1)));
        }
      }
    });
  }

  /** The server settings appends depend on, read once per store (lazily: open may skip it). */
  async serverVars(c: Conn): Promise<ServerVars> {
    if (!this.vars) {
      const rows = await c.query<Array<{ lm: number; inc: number; map: number }>>(
        'SELECT @@innodb_autoinc_lock_mode AS lm, @@auto_increment_increment AS inc, @@max_allowed_packet AS map');
      const r = rows[0];
      // Leave headroom under max_allowed_packet for the protocol and the statement text.
      this.limits.packetBytes = Math.max(64 << 10, Math.min(8 << 20, Number(r.map) - (64 << 10)));
      this.vars = { autoincLockMode: Number(r.lm), autoincIncrement: Number(r.inc) || 1 };
    }
    return this.vars;
  }

  /** Closes the pool (bounded by queryTimeoutMs). */
  async close(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.pool.end().catch(() => undefined),
      new Promise<void>((resolve) => { timer = setTimeout(resolve, this.opts.queryTimeoutMs); }),
    ]);
    clearTimeout(timer);
  }
}
