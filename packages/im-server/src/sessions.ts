/**
 * The local session table: logged-in connections of this instance by user and platform.
 * Entries are removed by connection, never by user id alone, so a stale disconnect cannot remove
 * a newer login (seed.md §9.3).
 */
import type { Connection } from './connection';

/** Logged-in connections on this instance. */
export class SessionTable {
  private readonly byUser = new Map<number, Connection[]>();
  private count = 0;

  /** Number of logged-in connections. */
  get size(): number {
    return this.count;
  }

  /** Number of distinct users. */
  get users(): number {
    return this.byUser.size;
  }

  /** Adds `conn`; returns the connection it replaces on the same (user, platform), if any. */
  add(conn: Connection): Connection | null {
    const list = this.byUser.get(conn.userId);
    if (!list) {
      this.byUser.set(conn.userId, [conn]);
      this.count++;
      return null;
    }
    const i = list.findIndex((c) => c.platform === conn.platform);
    if (i >= 0) {
      const old = list[i]!;
      list[i] = conn;
      return old;
    }
    list.push(conn);
    this.count++;
    return null;
  }

  /** Removes exactly this connection; true if it was present. */
  remove(conn: Connection): boolean {
    const list = this.byUser.get(conn.userId);
    if (!list) return false;
    const i = list.indexOf(conn);
    if (i < 0) return false;
    list.splice(i, 1);
    this.count--;
    if (list.length === 0) this.byUser.delete(conn.userId);
    return true;
  }

  /** The user's connections on this instance (empty array if none; do not mutate). */
  get(userId: number): readonly Connection[] {
    return this.byUser.get(userId) ?? EMPTY;
  }

  /** The connection of (user, platform) with this id, if still registered. */
  find(userId: number, platform: number, connId: string): Connection | undefined {
    return this.byUser.get(userId)?.find((c) => c.platform === platform && c.id === connId);
  }

  /** Every logged-in connection. */
  *all(): IterableIterator<Connection> {
    for (const list of this.byUser.values()) yield* list;
  }
}

const EMPTY: readonly Connection[] = Object.freeze([]);
