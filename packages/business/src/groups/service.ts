/**
 * GroupService: the group rules of ./ops.ts over the GroupStore, plus the per-instance member
 * cache that the send path reads (one Set lookup for "is the sender a member", one array for the
 * fan-out) instead of a database query per message.
 *
 * Cache consistency: a change made through this service invalidates its group at once, on this
 * instance; the server also calls invalidate() when another instance's SYSTEM message for the
 * group arrives (router.ts onRemoteGroupChange), and anything else is seen within `memberTtlMs`
 * (default 2 s). A lookup that raced an invalidation is not cached (epoch check), and concurrent
 * misses for one group share one query.
 *
 * Those invalidations are best effort (a bus envelope can arrive after a message sent through
 * this instance), so the fan-out does not rely on them: each cached list carries the group's
 * member_seq it was read at (GroupStore.memberList, one snapshot), every group append returns the
 * member_seq it saw under the conversation lock (AppendResult.memberSeq), and members(groupId,
 * minMemberSeq) reloads a list older than that before it is used. So a message with seq S goes
 * to a list that includes every membership change before S: a member kicked before S never gets
 * it, on any instance. The common case (no change since the list was loaded) costs one integer
 * comparison and no query.
 */
import { ImError, RequestError } from '@hxim/im-common';
import type { Store } from '../ports';
import {
  DEFAULT_MAX_GROUP_MEMBERS, type GroupApplication, type GroupChange, type GroupMemberRow, type GroupRow,
} from './ports';

/** Default time a cached member list is trusted for changes made on other instances. */
export const DEFAULT_GROUP_MEMBER_TTL_MS = 2000;
/** Default bound on cached groups. */
export const DEFAULT_GROUP_CACHE_GROUPS = 10_000;
/** Default and largest member page. */
export const DEFAULT_GROUP_MEMBER_PAGE = 100;
/** Largest member page. */
export const MAX_GROUP_MEMBER_PAGE = 1000;

/** GroupService options. */
export interface GroupServiceOptions {
  /** Largest group allowed (and the default max_members of a new group); default 10,000. */
  maxGroupMembers?: number;
  /** How long a cached member list is trusted, ms; default {@link DEFAULT_GROUP_MEMBER_TTL_MS}. */
  memberTtlMs?: number;
  /** Bound on cached groups; default {@link DEFAULT_GROUP_CACHE_GROUPS}. */
  cacheGroups?: number;
  /** Clock, for tests. */
  now?: () => number;
}

/** A group's members, as cached. */
export interface MemberList {
  /** Ascending user ids. */
  ids: readonly number[];
  set: ReadonlySet<number>;
  /** The group's member_seq the list was read at (the latest membership change it includes). */
  memberSeq: number;
}

interface Entry { list: MemberList; expires: number }

/** Group operations and the member cache of one server instance. */
export class GroupService {
  /** Largest group allowed. */
  readonly maxGroupMembers: number;
  private readonly ttl: number;
  private readonly maxGroups: number;
  private readonly now: () => number;
  private readonly cache = new Map<number, Entry>();
  private readonly loading = new Map<number, Promise<MemberList>>();
  private epoch = 0;

  constructor(private readonly store: Store, opts: GroupServiceOptions = {}) {
    this.maxGroupMembers = opts.maxGroupMembers ?? DEFAULT_MAX_GROUP_MEMBERS;
    if (!Number.isSafeInteger(this.maxGroupMembers) || this.maxGroupMembers < 2) {
      throw new RangeError(`groups.maxGroupMembers must be an integer >= 2, not ${String(opts.maxGroupMembers)}`);
    }
    this.ttl = opts.memberTtlMs ?? DEFAULT_GROUP_MEMBER_TTL_MS;
    this.maxGroups = opts.cacheGroups ?? DEFAULT_GROUP_CACHE_GROUPS;
    this.now = opts.now ?? Date.now;
  }

  /**
   * The group's members (cached). An unknown or dismissed group has none.
   *
   * With `minMemberSeq` (a group append's AppendResult.memberSeq) the list includes every
   * membership change up to that seq: a cached list read at an older member_seq is not used, and
   * neither is a load that was already in flight (it may have read before the append committed);
   * then a load started after the call is awaited, which cannot be older (the column only grows).
   * Concurrent callers share each load.
   */
  async members(groupId: number, minMemberSeq = 0): Promise<MemberList> {
    const e = this.cache.get(groupId);
    if (e && e.expires > this.now() && e.list.memberSeq >= minMemberSeq) return e.list;
    let list = await (this.loading.get(groupId) ?? this.load(groupId));
    if (list.memberSeq < minMemberSeq) {
      // Any load registered now started after this call, so after the append committed.
      list = await (this.loading.get(groupId) ?? this.load(groupId));
      if (list.memberSeq < minMemberSeq) {
        throw new ImError('INTERNAL', `group ${groupId}: member list read at member_seq ${list.memberSeq} after an append that saw ${minMemberSeq}`);
      }
    }
    return list;
  }

  /** Reads the member list and caches it, unless an invalidation raced the read or a newer list is cached. */
  private load(groupId: number): Promise<MemberList> {
    const epoch = this.epoch;
    const p: Promise<MemberList> = this.store.groups.memberList(groupId).then(({ ids, memberSeq }) => {
      const list: MemberList = { ids, set: new Set(ids), memberSeq };
      const cur = this.cache.get(groupId);
      if (this.epoch === epoch && !(cur && cur.list.memberSeq > memberSeq)) {
        if (!cur && this.cache.size >= this.maxGroups) this.cache.delete(this.cache.keys().next().value as number);
        this.cache.set(groupId, { list, expires: this.now() + this.ttl });
      }
      return list;
    }).finally(() => {
      if (this.loading.get(groupId) === p) this.loading.delete(groupId);
    });
    this.loading.set(groupId, p);
    return p;
  }

  /** The members of a group `userId` may send to; NOT_A_MEMBER otherwise. */
  async checkSend(groupId: number, userId: number): Promise<MemberList> {
    const list = await this.members(groupId);
    if (!list.set.has(userId)) throw new RequestError('NOT_A_MEMBER', `you are not a member of group ${groupId}`);
    return list;
  }

  /** Forgets a group's cached members (after a change). */
  invalidate(groupId: number): void {
    this.epoch++;
    this.cache.delete(groupId);
    this.loading.delete(groupId);
  }

  private async change(p: Promise<GroupChange>): Promise<GroupChange> {
    const c = await p;
    this.invalidate(c.group.groupId);
    return c;
  }

  /** Creates a group owned by `ownerId`. */
  create(ownerId: number, name: string, memberIds: readonly number[], maxMembers = 0): Promise<GroupChange> {
    const max = maxMembers > 0 ? Math.min(maxMembers, this.maxGroupMembers) : this.maxGroupMembers;
    return this.change(this.store.groups.create(ownerId, name, memberIds, max));
  }
  /** Renames. */
  rename(actorId: number, groupId: number, name: string): Promise<GroupChange> {
    return this.change(this.store.groups.rename(actorId, groupId, name));
  }
  /** Adds members. */
  invite(actorId: number, groupId: number, userIds: readonly number[]): Promise<GroupChange> {
    return this.change(this.store.groups.invite(actorId, groupId, userIds));
  }
  /** Leaves. */
  leave(userId: number, groupId: number): Promise<GroupChange> {
    return this.change(this.store.groups.leave(userId, groupId));
  }
  /** Removes members. */
  kick(actorId: number, groupId: number, userIds: readonly number[]): Promise<GroupChange> {
    return this.change(this.store.groups.kick(actorId, groupId, userIds));
  }
  /** Dismisses. */
  dismiss(actorId: number, groupId: number): Promise<GroupChange> {
    return this.change(this.store.groups.dismiss(actorId, groupId));
  }
  /** Sets a member's role. */
  setRole(actorId: number, groupId: number, userId: number, role: number): Promise<GroupChange> {
    return this.change(this.store.groups.setRole(actorId, groupId, userId, role));
  }
  /** Transfers ownership. */
  transfer(actorId: number, groupId: number, userId: number): Promise<GroupChange> {
    return this.change(this.store.groups.transfer(actorId, groupId, userId));
  }
  /** Changes the size limit (at most the service's maxGroupMembers). */
  setMaxMembers(actorId: number, groupId: number, max: number): Promise<GroupChange> {
    return this.change(this.store.groups.setMaxMembers(actorId, groupId, max, this.maxGroupMembers));
  }
  /** Files a join application. */
  apply(userId: number, groupId: number, message: string): Promise<GroupChange> {
    return this.change(this.store.groups.apply(userId, groupId, message));
  }
  /** Approves or rejects a join application. */
  decide(actorId: number, groupId: number, applicantId: number, approve: boolean): Promise<GroupChange> {
    return this.change(this.store.groups.decide(actorId, groupId, applicantId, approve));
  }

  /** The group and the caller's role; NO_SUCH_GROUP / NOT_A_MEMBER. */
  async info(userId: number, groupId: number): Promise<{ group: GroupRow; role: number }> {
    const group = await this.store.groups.get(groupId);
    if (!group) throw new RequestError('NO_SUCH_GROUP', `group ${groupId} does not exist (or was dismissed)`);
    const role = await this.store.groups.roleOf(groupId, userId);
    if (role === null) throw new RequestError('NOT_A_MEMBER', `you are not a member of group ${groupId}`);
    return { group, role };
  }

  /** A page of members (members only); limit 0 = 100, above 1,000 → PAGE_TOO_LARGE. */
  async memberPage(userId: number, groupId: number, afterId: number, limit: number): Promise<{ group: GroupRow; role: number; members: GroupMemberRow[]; hasMore: boolean }> {
    const n = pageSize(limit);
    const { group, role } = await this.info(userId, groupId);
    const rows = await this.store.groups.members(groupId, Math.max(0, afterId), n + 1);
    return { group, role, members: rows.slice(0, n), hasMore: rows.length > n };
  }

  /** Who has read up to `seq` (members only): the count and the first `limit` readers. */
  async readers(userId: number, groupId: number, seq: number, limit: number): Promise<{ group: GroupRow; count: number; members: GroupMemberRow[] }> {
    if (!Number.isSafeInteger(seq) || seq <= 0) throw new RequestError('BAD_SEQ', 'seq must be a positive message seq');
    const n = pageSize(limit);
    const { group } = await this.info(userId, groupId);
    const r = await this.store.groups.readers(groupId, seq, n);
    return { group, count: r.count, members: r.members };
  }

  /** Pending join applications (owner or admin). */
  async applications(userId: number, groupId: number, limit: number): Promise<GroupApplication[]> {
    const { role } = await this.info(userId, groupId);
    if (role < 1) throw new RequestError('NOT_ALLOWED', 'only the owner or admins may see applications');
    return this.store.groups.applications(groupId, pageSize(limit));
  }
}

function pageSize(limit: number): number {
  if (!Number.isSafeInteger(limit) || limit < 0) throw new RequestError('BAD_REQUEST', 'limit must be an integer >= 0');
  if (limit > MAX_GROUP_MEMBER_PAGE) throw new RequestError('PAGE_TOO_LARGE', `limit must be at most ${MAX_GROUP_MEMBER_PAGE}`);
  return limit === 0 ? DEFAULT_GROUP_MEMBER_PAGE : limit;
}
