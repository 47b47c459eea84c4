/**
 * A short-lived cache of presence lookups for the router (1:1 chats and small groups): at a low
 * message rate every routed delivery would otherwise cost a Redis round trip of its own.
 *
 * Why a cached entry cannot hide a login from the router:
 *  - an entry lives at most `ttlMs` (default {@link LOCATION_CACHE_TTL_MS});
 *  - every login anywhere is announced (LocationWatch: the register script publishes in the same
 *    atomic step) and drops that user's entry; a lost or regained subscription drops them all;
 *  - a lookup result is stored only if no announcement arrived while it was in flight (a
 *    generation counter) and the watch was live, so a result older than a login is never kept;
 *  - only users found online are cached: an offline user is looked up on every delivery (when
 *    they log in, the next message must find them at once).
 * What an entry can still miss is a logout or an instance death (no announcement): the envelope
 * then reaches an instance that no longer holds the user, which looks the user up afresh and
 * passes the envelope on once (router.ts handleEnvelope). Either way the message is stored and
 * reaches the recipient by seq at the latest on reconnect (DESIGN.md delivery contract).
 */
import type { Location, LocationWatch } from './ports';

/** How long a lookup result is used, in ms. */
export const LOCATION_CACHE_TTL_MS = 1000;
/** Most users cached per instance (the oldest entries go first). */
export const LOCATION_CACHE_MAX_USERS = 100_000;

/** Lookup results by user id; see the module comment. */
export class LocationCache {
  private readonly entries = new Map<number, { locs: Location[]; at: number }>();
  private generation = 0;
  private readonly unwatch: () => void;

  constructor(
    private readonly watch: LocationWatch,
    private readonly ttlMs: number = LOCATION_CACHE_TTL_MS,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.unwatch = watch.add((userId) => {
      this.generation++;
      if (userId === null) this.entries.clear();
      else this.entries.delete(userId);
    });
  }

  /** True while login announcements arrive (results are cached only then). */
  get watching(): boolean {
    return this.watch.live;
  }

  /** Users cached now (for tests and metrics). */
  get size(): number {
    return this.entries.size;
  }

  /** The user's cached locations, or undefined when not cached (or too old). */
  get(userId: number): Location[] | undefined {
    const e = this.entries.get(userId);
    if (!e) return undefined;
    if (this.now() - e.at >= this.ttlMs) {
      this.entries.delete(userId);
      return undefined;
    }
    return e.locs;
  }

  /** A stamp to take before a lookup and hand to {@link fill} with its result. */
  stamp(): number {
    return this.generation;
  }

  /** Stores the online users of a lookup result taken at `stamp`, unless it may be stale. */
  fill(stamp: number, result: ReadonlyMap<number, Location[]>): void {
    if (stamp !== this.generation || !this.watch.live) return;
    const at = this.now();
    for (const [userId, locs] of result) {
      this.entries.delete(userId); // re-inserted last: the map stays ordered by age
      this.entries.set(userId, { locs, at });
    }
    for (const [userId, e] of this.entries) {
      if (this.entries.size <= LOCATION_CACHE_MAX_USERS && at - e.at < this.ttlMs) break;
      this.entries.delete(userId);
    }
  }

  /** Forgets a user (this instance learned the entry is stale). */
  drop(userId: number): void {
    this.generation++;
    this.entries.delete(userId);
  }

  /** Stops listening and empties the cache. */
  close(): void {
    this.unwatch();
    this.entries.clear();
  }
}
