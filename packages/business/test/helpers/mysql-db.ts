/**
 * A MariaDB database of a test file's own (mysql://root@127.0.0.1:3306 unless HXIM_TEST_MYSQL_URL
 * is set), named hxim_<tag>_<pid>_<random>: created by the first store opened on it, dropped after
 * the file with every store closed. An unreachable MariaDB fails the file with a message saying
 * so: it is never skipped (STYLE.md).
 */
import { randomBytes } from 'node:crypto';
import { after, before } from 'node:test';
import * as mysql from 'mysql2/promise';
import { MysqlStore, openMysqlStore } from '../../src/index';

/** The file's database. */
export interface TestMysqlDb {
  /** Its name. */
  readonly name: string;
  /** mysql://.../<name>. */
  readonly url: string;
  /** Opens a store on it (closed after the file). */
  open(extra?: Partial<Parameters<typeof openMysqlStore>[0]>): Promise<MysqlStore>;
  /** Closes `store` after the file too (for stores made another way). */
  track<S extends MysqlStore>(store: S): S;
  /** A plain connection to the server (no database selected), for inspecting tables. */
  admin(): Promise<mysql.Connection>;
}

/** Registers the file's before/after hooks and returns its database. Call at the top level. */
export function useMysqlTestDb(tag: string): TestMysqlDb {
  const base = (process.env.HXIM_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306').replace(/\/+$/, '');
  const name = `hxim_${tag}_${process.pid}_${randomBytes(4).toString('hex')}`;
  const opened: MysqlStore[] = [];
  const admin = (): Promise<mysql.Connection> => {
    const u = new URL(base);
    return mysql.createConnection({
      host: u.hostname, port: Number(u.port || 3306), user: decodeURIComponent(u.username) || 'root',
      password: decodeURIComponent(u.password), connectTimeout: 3000,
    });
  };
  const db: TestMysqlDb = {
    name,
    url: `${base}/${name}`,
    admin,
    track(store) {
      opened.push(store);
      return store;
    },
    async open(extra = {}) {
      return db.track(await openMysqlStore({ url: db.url, ...extra }));
    },
  };
  before(async () => {
    let c: mysql.Connection;
    try {
      c = await admin();
    } catch (err) {
      throw new Error(`MariaDB is not reachable at ${base} (${(err as Error).message}). `
        + 'Start it with `bash scripts/services.sh mariadb`, or point HXIM_TEST_MYSQL_URL at a server.');
    }
    await c.end();
  });
  after(async () => {
    for (const s of opened) await s.close().catch(() => undefined);
    const c = await admin();
    await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
    await c.end();
  });
  return db;
}
