/**
 * A per-instance cache of how two users relate (friends, blocks), so the 1:1 chat path asks the
 * database once per pair and TTL instead of once per message.
 *
 * Staleness is bounded, not zero: the service invalidates a pair as soon as this instance
 * changes it, but a change made on another instance is only seen when the entry expires. Entries
 * that allow chatting live `ttlMs` (a removal or block elsewhere takes effect here within it);
 * entries that refuse live `refusedTtlMs`, shorter, so an accept elsewhere is not refused for
 * long, while a client hammering a stranger still costs at most one query per pair per
 * refusedTtlMs. An in-flight lookup that races an invalidation is not cached (the epoch check).
 */
import type { Relation } from './ports';

/** How long an entry that allows chatting is trusted: 5 s. */
export const DEFAULT_RELATION_TTL_MS = 5000;
/** How long an entry that refuses chatting is trusted: 1 s. */
export const DEFAULT_REFUSED_TTL_MS = 1000;
/** Pairs kept before the cache is cleared (cheap; misses just re-query): 100,000. */
export const DEFAULT_RELATION_CACHE_ENTRIES = 100_000;

interface Entry {
  /** Oriented from the lower id to the higher. */
  rel: Relation;
  expires: number;
}

function flip(r: Relation): Relation {
  return { friends: r.friends, aBlockedB: r.bBlockedA, bBlockedA: r.aBlockedB };
}

/** Relations by unordered pair, with expiry. Keys are numbers in nested Maps (no string per lookup). */
export class RelationCache {
  private readonly byLow = new Map<number, Map<number, Entry>>();
  private count = 0;
  private gen = 0;

  /** @param maxEntries the cache is cleared when it would grow past this. */
  constructor(private readonly maxEntries = DEFAULT_RELATION_CACHE_ENTRIES) {}

  /** Bumped by every invalidation: a lookup that started before must not be cached. */
  get epoch(): number {
    return this.gen;
  }

  /** Cached entries (some may be expired). */
  get size(): number {
    return this.count;
  }

  /** The relation of a to b if cached and fresh at `now`. */
  get(a: number, b: number, now: number): Relation | undefined {
    const lo = Math.min(a, b);
    const e = this.byLow.get(lo)?.get(Math.max(a, b));
    if (!e || e.expires <= now) return undefined;
    return a === lo ? e.rel : flip(e.rel);
  }

  /** Caches the relation of a to b until now + ttlMs, unless invalidated since `epoch`. */
  set(a: number, b: number, rel: Relation, ttlMs: number, now: number, epoch = this.gen): void {
    if (epoch !== this.gen || ttlMs <= 0) return;
    if (this.count >= this.maxEntries) this.clear();
    const lo = Math.min(a, b);
    let inner = this.byLow.get(lo);
    if (!inner) this.byLow.set(lo, (inner = new Map()));
    if (!inner.has(Math.max(a, b))) this.count++;
    inner.set(Math.max(a, b), { rel: a === lo ? rel : flip(rel), expires: now + ttlMs });
  }

  /** Forgets the pair (a local change). */
  invalidate(a: number, b: number): void {
    this.gen++;
    const lo = Math.min(a, b);
    const inner = this.byLow.get(lo);
    if (inner?.delete(Math.max(a, b))) {
      this.count--;
      if (inner.size === 0) this.byLow.delete(lo);
    }
  }

  /** Forgets everything. */
  clear(): void {
    this.byLow.clear();
    this.count = 0;
    this.gen++;
  }
}
