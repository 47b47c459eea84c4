/**
 * Which user ids exist. In "open" auth mode every id exists implicitly (seed behaviour: a chat
 * to an id that never logged in is stored and delivered at its first login). In "password" mode
 * only registered accounts exist; positive answers are cached (accounts are never deleted).
 */
import type { AccountStore } from '@hxim/business';

/** Bound on cached ids; the cache is cleared when it fills (cheap, and misses just re-query). */
const MAX_CACHED = 200_000;

/** Answers "does this user exist?" with a cache in front of the store. */
export class UserDirectory {
  private readonly known = new Set<number>();

  constructor(private readonly accounts: AccountStore, private readonly open: boolean) {}

  /** True when the id is a valid user. */
  async exists(userId: number): Promise<boolean> {
    if (!Number.isSafeInteger(userId) || userId <= 0) return false;
    if (this.open || this.known.has(userId)) return true;
    const found = await this.accounts.existingUsers([userId]);
    if (found.has(userId)) this.remember(userId);
    return found.has(userId);
  }

  /** The ids of `userIds` that are not valid users (one store query for the uncached ones). */
  async unknown(userIds: readonly number[]): Promise<number[]> {
    const bad = userIds.filter((u) => !Number.isSafeInteger(u) || u <= 0);
    if (this.open) return bad;
    const ask = [...new Set(userIds.filter((u) => Number.isSafeInteger(u) && u > 0 && !this.known.has(u)))];
    if (ask.length === 0) return bad;
    const found = await this.accounts.existingUsers(ask);
    for (const u of found) this.remember(u);
    return [...bad, ...ask.filter((u) => !found.has(u))];
  }

  /** Records an id known to exist (after register or login). */
  remember(userId: number): void {
    if (this.known.size >= MAX_CACHED) this.known.clear();
    this.known.add(userId);
  }
}
