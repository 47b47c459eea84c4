/**
 * Which (conversation, member) rows are known to exist, so an append does not re-insert the
 * member rows of a conversation on every message. Without it a 1,000-member group would cost
 * 1,000 INSERT-OR-IGNOREs per message, which would sink the group fan-out target (DESIGN.md
 * "Targets"); with it, steady state costs one Set lookup per member.
 *
 * Soundness: a pair is added only after the transaction that inserted (or found) the row has
 * committed. Group member rows ("g:<id>") are owned by the group store (groups/ops.ts), which
 * creates them on join and deletes them on leave/kick/dismiss; group sends pass only the sender
 * as memberIds, so a stale "present" entry for a removed member is harmless (a re-join inserts
 * the row itself). The one gap: a member kicked between the send's membership check and the
 * append, whose pair is not cached, gets its own row back (INSERT OR IGNORE of the sender).
 */

/** Default bound on cached (conversation, member) pairs: about 50 MB at worst. */
export const DEFAULT_MEMBER_CACHE_ENTRIES = 1_000_000;

/** A bounded set of (conversation, member) pairs known to have a conversation_member row. */
export class MemberCache {
  private readonly convs = new Map<string, Set<number>>();
  private size = 0;

  /** @param maxEntries evict whole conversations (oldest first) beyond this many pairs. */
  constructor(private readonly maxEntries = DEFAULT_MEMBER_CACHE_ENTRIES) {}

  /** True when the row is known to exist. */
  has(convId: string, userId: number): boolean {
    return this.convs.get(convId)?.has(userId) ?? false;
  }

  /** Records that the row exists (call after commit only). */
  add(convId: string, userId: number): void {
    let set = this.convs.get(convId);
    if (!set) this.convs.set(convId, (set = new Set()));
    if (set.has(userId)) return;
    set.add(userId);
    this.size++;
    // FIFO eviction by conversation: cheap, and a wrongly evicted hot conversation only costs
    // one batch of INSERT-OR-IGNOREs before it is cached again.
    while (this.size > this.maxEntries && this.convs.size > 1) {
      const [oldest, members] = this.convs.entries().next().value as [string, Set<number>];
      this.convs.delete(oldest);
      this.size -= members.size;
    }
  }

  /** Forgets a conversation (call when member rows of it are deleted). */
  forgetConv(convId: string): void {
    const set = this.convs.get(convId);
    if (!set) return;
    this.size -= set.size;
    this.convs.delete(convId);
  }

  /** Number of cached pairs. */
  get entries(): number {
    return this.size;
  }
}
