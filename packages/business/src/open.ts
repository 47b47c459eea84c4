/**
 * Opens the configured backend.
 */
import type { Store } from './ports';
import { openSqliteStore } from './sqlite/store';

/** Which backend to open. */
export type StoreConfig =
  | { kind: 'sqlite'; dataDir: string; synchronous?: 'FULL' | 'NORMAL' }
  | { kind: 'mysql'; url: string; connectionLimit?: number; queryTimeoutMs?: number; queueLimit?: number };

/** Opens a store. */
export async function openStore(cfg: StoreConfig): Promise<Store> {
  if (cfg.kind === 'sqlite') return openSqliteStore({ dataDir: cfg.dataDir, synchronous: cfg.synchronous ?? 'FULL' });
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require('./mysql/store') as { openMysqlStore(c: unknown): Promise<Store> };
  return mod.openMysqlStore(cfg);
}
