/**
 * One entry point for the server: a StoreConfig in, an opened Store out. The embedded SQLite
 * store is the default deployment; MySQL is for several instances sharing one database.
 */
import type { Store } from './ports';
import { openMysqlStore } from './mysql/store';
import type { MysqlStoreOptions } from './mysql/options';
import { openSqliteStore } from './sqlite/store';

/** Which backend to open, with its options. */
export type StoreConfig =
  | {
    kind: 'sqlite';
    /** Directory of hxim.sqlite; created if missing. */
    dataDir: string;
    /** WAL fsync policy; default FULL (nothing acked is lost even on power loss). */
    synchronous?: 'FULL' | 'NORMAL';
    /** Stored notices kept per user (../friends/notice-bound.ts); default 500. */
    maxNoticesPerUser?: number;
  }
  | ({ kind: 'mysql' } & MysqlStoreOptions);

/** Opens the configured backend; rejects with BackendError if it cannot be reached. */
export async function openStore(cfg: StoreConfig): Promise<Store> {
  switch (cfg.kind) {
    case 'sqlite':
      return openSqliteStore({ dataDir: cfg.dataDir, synchronous: cfg.synchronous, maxNoticesPerUser: cfg.maxNoticesPerUser });
    case 'mysql': {
      const { kind: _kind, ...opts } = cfg;
      return openMysqlStore(opts);
    }
    default:
      throw new RangeError(`store.kind must be "sqlite" or "mysql", not ${JSON.stringify((cfg as { kind?: unknown }).kind)}`);
  }
}
