/**
 * FriendService: the friend features as the server uses them (issue 4). It resolves who the
 * other user is, checks what the store cannot (does the user exist, page sizes), runs the atomic
 * store operation, and keeps the per-instance relation cache the chat path reads
 * (./relation-cache.ts): every change made here invalidates its pair at once.
 *
 * The stranger policy lives here too: "friends" (the default) lets only friends send 1:1 chats,
 * "anyone" lets everyone; blocks apply under both.
 */
import { RequestError } from '@hxim/im-common';
import type { AccountStore } from '../ports';
import type { Application, FriendChange, FriendStore, NoticeStore, Relation, StoredNotice, UserEntry } from './ports';
import { DEFAULT_REFUSED_TTL_MS, DEFAULT_RELATION_TTL_MS, RelationCache } from './relation-cache';

/** Who may send 1:1 chats: only friends (default), or anyone. */
export type StrangerPolicy = 'friends' | 'anyone';

/** Default page of friend lists and applications. */
export const DEFAULT_FRIEND_PAGE = 50;
/** Largest page of friend lists and applications; above it PAGE_TOO_LARGE. */
export const MAX_FRIEND_PAGE = 200;

/** What FriendService needs. */
export interface FriendServiceOptions {
  /** See {@link StrangerPolicy}. */
  strangerPolicy: StrangerPolicy;
  /** True when the id is a user (in --auth open mode every positive id is). */
  userExists(userId: number): Promise<boolean>;
  /** How long a cached relation that allows chatting is trusted; default 5 s. */
  relationTtlMs?: number;
  /** How long a cached relation that refuses chatting is trusted; default 1 s. */
  refusedTtlMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

/** A user named by id, or by name when the id is 0. */
export interface UserRef {
  userId: number;
  userName: string;
}

/** One page of a list; `next` is the cursor of the following page. */
export interface Page<T> {
  items: T[];
  hasMore: boolean;
  next: number;
}

/** Throws PAGE_TOO_LARGE / BAD_REQUEST for a bad page size; returns the size to use. */
export function pageSize(limit: number, def: number, max: number): number {
  if (!Number.isInteger(limit) || limit < 0) throw new RequestError('BAD_REQUEST', 'limit must be 0 (the default) or more');
  if (limit > max) throw new RequestError('PAGE_TOO_LARGE', `limit must be at most ${max} (0 means ${def})`);
  return limit || def;
}

/** The friend features, over the store's friend and notice ports. */
export class FriendService {
  private readonly cache = new RelationCache();
  /** Store lookups under way, by "lo:hi", oriented from lo (see relation()). */
  private readonly inflight = new Map<string, Promise<Relation>>();
  private readonly now: () => number;

  constructor(private readonly store: { friends: FriendStore; notices: NoticeStore; accounts: AccountStore },
    private readonly opts: FriendServiceOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** The policy in effect. */
  get strangerPolicy(): StrangerPolicy {
    return this.opts.strangerPolicy;
  }

  /** The id of the user a request names; UNKNOWN_USER if there is none. */
  async resolveUser(ref: UserRef): Promise<number> {
    if (ref.userId !== 0) {
      if (!Number.isSafeInteger(ref.userId) || ref.userId < 0) throw new RequestError('BAD_REQUEST', 'userId must be a positive user id');
      if (!(await this.opts.userExists(ref.userId))) throw new RequestError('UNKNOWN_USER', `user ${ref.userId} does not exist`);
      return ref.userId;
    }
    if (!ref.userName) throw new RequestError('BAD_REQUEST', 'name the other user: userId, or userName');
    const acc = ref.userName.length <= 64 ? await this.store.accounts.findByName(ref.userName) : null;
    if (!acc) throw new RequestError('UNKNOWN_USER', `there is no user named "${ref.userName.slice(0, 64)}"`);
    return acc.userId;
  }

  /** `me` applies to `other` (or accepts other's pending application to me). */
  apply(me: number, other: number, message: string): Promise<FriendChange> {
    return this.change(me, other, () => this.store.friends.apply(me, other, message));
  }

  /** Accepts other's pending application. */
  accept(me: number, other: number): Promise<FriendChange> {
    return this.change(me, other, () => this.store.friends.decide(me, other, true));
  }

  /** Rejects other's pending application. */
  reject(me: number, other: number): Promise<FriendChange> {
    return this.change(me, other, () => this.store.friends.decide(me, other, false));
  }

  /** Ends the friendship. */
  remove(me: number, other: number): Promise<FriendChange> {
    return this.change(me, other, () => this.store.friends.remove(me, other));
  }

  /** Blocks `other`. */
  block(me: number, other: number): Promise<FriendChange> {
    return this.change(me, other, () => this.store.friends.block(me, other));
  }

  /** Unblocks `other`. */
  unblock(me: number, other: number): Promise<FriendChange> {
    return this.change(me, other, () => this.store.friends.unblock(me, other));
  }

  /** One page of friends (cursor: the last user id). */
  async friends(me: number, after: number, limit: number): Promise<Page<UserEntry>> {
    const n = pageSize(limit, DEFAULT_FRIEND_PAGE, MAX_FRIEND_PAGE);
    return page(await this.store.friends.listFriends(me, after, n + 1), n, (u) => u.userId);
  }

  /** One page of blocked users (cursor: the last user id). */
  async blocked(me: number, after: number, limit: number): Promise<Page<UserEntry>> {
    const n = pageSize(limit, DEFAULT_FRIEND_PAGE, MAX_FRIEND_PAGE);
    return page(await this.store.friends.listBlocked(me, after, n + 1), n, (u) => u.userId);
  }

  /** One page of applications, newest first (cursor: the last application id). */
  async applications(me: number, direction: 'received' | 'sent', before: number, limit: number): Promise<Page<Application>> {
    const n = pageSize(limit, DEFAULT_FRIEND_PAGE, MAX_FRIEND_PAGE);
    return page(await this.store.friends.listApplications(me, direction, before, n + 1), n, (a) => a.applyId);
  }

  /**
   * Throws unless `sender` may send a 1:1 chat to `recipient`: BLOCKED when either blocked the
   * other, NOT_FRIENDS under the "friends" policy when they are not friends. Cached per pair.
   */
  async checkChat(sender: number, recipient: number): Promise<void> {
    const rel = await this.relation(sender, recipient);
    if (rel.aBlockedB) throw new RequestError('BLOCKED', `you blocked user ${recipient}: unblock them to send`);
    if (rel.bBlockedA) throw new RequestError('BLOCKED', `user ${recipient} does not accept messages from you`);
    if (this.opts.strangerPolicy === 'friends' && !rel.friends) {
      throw new RequestError('NOT_FRIENDS', `user ${recipient} is not your friend: send a friend request first`);
    }
  }

  /**
   * How a relates to b, from the cache or the store. Concurrent misses of one pair share one
   * store lookup: besides saving queries, this keeps a sender's pipelined chats in order, since
   * they all resume from the same lookup in the order they asked (separate queries on a pool
   * could answer in any order, and the chats would get their seqs in that order).
   */
  async relation(a: number, b: number): Promise<Relation> {
    const hit = this.cache.get(a, b, this.now());
    if (hit) return hit;
    const lo = Math.min(a, b), hi = Math.max(a, b);
    const key = `${lo}:${hi}`;
    let p = this.inflight.get(key);
    if (!p) {
      const mine = this.load(lo, hi);
      const clear = (): void => {
        if (this.inflight.get(key) === mine) this.inflight.delete(key);
      };
      mine.then(clear, clear);
      this.inflight.set(key, (p = mine));
    }
    const rel = await p;
    return a === lo ? rel : { friends: rel.friends, aBlockedB: rel.bBlockedA, bBlockedA: rel.aBlockedB };
  }

  /** One store lookup of (lo, hi), cached unless some pair changed meanwhile (the epoch). */
  private async load(lo: number, hi: number): Promise<Relation> {
    const epoch = this.cache.epoch;
    const rel = await this.store.friends.relation(lo, hi);
    const allowed = !rel.aBlockedB && !rel.bBlockedA && (rel.friends || this.opts.strangerPolicy === 'anyone');
    const ttl = allowed ? this.opts.relationTtlMs ?? DEFAULT_RELATION_TTL_MS : this.opts.refusedTtlMs ?? DEFAULT_REFUSED_TTL_MS;
    this.cache.set(lo, hi, rel, ttl, this.now(), epoch);
    return rel;
  }

  /** The user's unacked notices, oldest first. */
  pendingNotices(me: number, limit: number): Promise<StoredNotice[]> {
    return this.store.notices.pending(me, limit);
  }

  /** Acks one of the user's notices; false if it was not pending. */
  ackNotice(me: number, noticeId: number): Promise<boolean> {
    if (!Number.isSafeInteger(noticeId) || noticeId <= 0) return Promise.resolve(false);
    return this.store.notices.ack(me, noticeId);
  }

  /**
   * Runs a change and invalidates the pair, also when it failed (it may have committed). A
   * lookup under way is dropped too, so later callers query again instead of joining it.
   */
  private async change(me: number, other: number, op: () => Promise<FriendChange>): Promise<FriendChange> {
    try {
      return await op();
    } finally {
      this.cache.invalidate(me, other);
      this.inflight.delete(`${Math.min(me, other)}:${Math.max(me, other)}`);
    }
  }
}

/** Cuts a limit+1 fetch to a page. */
function page<T>(rows: T[], n: number, key: (t: T) => number): Page<T> {
  const hasMore = rows.length > n;
  if (hasMore) rows.length = n;
  return { items: rows, hasMore, next: rows.length > 0 ? key(rows[rows.length - 1]!) : 0 };
}
