/**
 * better-sqlite3 is synchronous. The ports are promise-based so that the MySQL store fits the
 * same shape; this module runs a synchronous body and turns its outcome into a settled promise,
 * mapping driver errors to BackendError so callers only ever see our error family.
 */
import { BackendError, ImError } from '@hxim/im-common';

/** Maps any thrown value from the SQLite driver to an ImError (ImErrors pass through). */
export function sqliteError(what: string, err: unknown): ImError {
  if (err instanceof ImError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  const msg = err instanceof Error ? err.message : String(err);
  // SQLITE_BUSY: another process holds the write lock longer than busy_timeout.
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
    return new BackendError('STORE_TIMEOUT', `sqlite ${what}: the database stayed locked (${msg})`, { cause: err });
  }
  return new BackendError('STORE_UNAVAILABLE', `sqlite ${what} failed: ${msg}`, { cause: err });
}

/** Runs `fn` now and returns its result as a promise; errors become BackendErrors. */
export function settle<T>(what: string, fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(sqliteError(what, err));
  }
}
