/**
 * The group scenario's sockets: one {@link RawSessions} session per member (every member receives
 * and catches up by seq; the first --group-senders of each group also send, from a pre-encoded
 * group frame), the groups' creation by their owners (CREATE with the first batch of members,
 * then INVITEs, {@link GROUP_BATCH} ids per request: a request frame is capped at 64 KiB), and
 * resend of unacked messages with their original ids after every login.
 *
 * Layout ({@link GroupPlan}): member i (run-wide) is position i mod G of group floor(i / G); the
 * owner is position 0; members are spread over the servers round-robin by i and over the workers
 * in contiguous slices.
 */
import { AckKind, groupConvId, type AckMessage, type ChatMessage, type ErrorMessage, GroupOp } from '@hxim/im-common';
import { ChatTemplate, msgNoOf } from '../body';
import { runPool } from '../clock';
import type { GroupLayout } from '../group-history';
import type { LoadOptions, ServerAddr } from '../options';
import { LoadError } from '../raw-conn';
import { makeUser } from '../users';
import { newSession, RawSessions, type Session, type SessionHooks, type SessionHost } from './raw-sessions';

/** Member ids per CREATE / INVITE request (~8 bytes each; a frame is capped at 64 KiB). */
export const GROUP_BATCH = 1000;
/** Groups created at once per worker. */
export const CREATE_CONCURRENCY = 8;

/** Who is where in a group run. */
export class GroupPlan implements GroupLayout {
  readonly members: number;
  constructor(readonly o: Pick<LoadOptions, 'groups' | 'groupSize' | 'groupSenders' | 'servers'>) {
    this.members = o.groups * o.groupSize;
  }
  groupOf(member: number): number {
    return Math.floor(member / this.o.groupSize);
  }
  positionOf(member: number): number {
    return member % this.o.groupSize;
  }
  isSender(member: number): boolean {
    return this.positionOf(member) < this.o.groupSenders;
  }
  /** Member index of group `g`'s member at position `p`. */
  memberAt(g: number, p: number): number {
    return g * this.o.groupSize + p;
  }
  /** The servers of member `i`, in the order its reconnects try them. */
  serversOf(member: number): ServerAddr[] {
    const n = this.o.servers.length;
    return this.o.servers.map((_, k) => this.o.servers[(member + k) % n]!);
  }
}

/** What the owner's worker reports about one group it created. */
export interface CreatedGroup {
  group: number;
  groupId: number;
  /** [first position, end position, seq of the SYSTEM message that added them, ...]. */
  joins: number[];
}

/** A member's socket and, for senders, its frame template. */
interface Member extends Session {
  member: number;
  sender: boolean;
  template: ChatTemplate | null;
  resendFrom: number;
}

/** What the engine reports to the group worker. */
export interface GroupHost extends SessionHost {
  /** The sender-side history (pending messages are resent after a login). */
  readonly history: { sentBy(sender: number): number; isPending(sender: number, msgNo: number): boolean; intendedOf(sender: number, msgNo: number): number };
  onAck(member: number, msgNo: number, convId: string, seq: number): void;
  onSendFailed(member: number, msgNo: number, code: string, refused: boolean): void;
  onDeliver(member: number, m: ChatMessage): void;
}

/** See the file comment. */
export class GroupEngine implements SessionHooks<Member> {
  private readonly sessions: RawSessions<Member>;
  private readonly byMember = new Map<number, Member>();

  /** Members [start, end) of the run. */
  constructor(private readonly host: GroupHost, readonly plan: GroupPlan, readonly start: number, readonly end: number) {
    this.sessions = new RawSessions(host, this);
    for (let i = start; i < end; i++) {
      const m = this.sessions.add({
        ...newSession(makeUser(host.opts, i), plan.serversOf(i), i, true),
        member: i, sender: plan.isSender(i), template: null, resendFrom: 0,
      });
      this.byMember.set(i, m);
    }
  }

  get connections(): number {
    return this.sessions.connections;
  }

  get reconnects(): number {
    return this.sessions.reconnects;
  }

  /** Logs every member in; resolves with their user ids, in member order. */
  async setup(): Promise<number[]> {
    await this.sessions.loginAll(this.sessions.all);
    return this.sessions.all.map((m) => m.user.userId);
  }

  /** Creates the groups whose owners are here; `memberIds[p]` is the user id at position p. */
  async create(groups: ReadonlyArray<{ group: number; memberIds: number[] }>): Promise<CreatedGroup[]> {
    const out: CreatedGroup[] = [];
    await runPool(groups.length, CREATE_CONCURRENCY, async (k) => {
      const { group, memberIds } = groups[k]!;
      const owner = this.byMember.get(this.plan.memberAt(group, 0));
      if (!owner?.conn) throw new LoadError('NOT_CONNECTED', `group ${group}: its owner (member ${this.plan.memberAt(group, 0)}) is not connected here`);
      const joins: number[] = [];
      let groupId = 0;
      for (let p = 1; p < memberIds.length || groupId === 0; p += GROUP_BATCH) {
        const ids = memberIds.slice(p, p + GROUP_BATCH).map((userId) => ({ userId, userName: '', role: 0, joinedAt: 0, readSeq: 0 }));
        const r = await owner.conn.group(groupId === 0
          ? { op: GroupOp.CREATE, name: `lt-${this.host.opts.runId}-${group}`, members: ids }
          : { op: GroupOp.INVITE, groupId, members: ids });
        if (!r.group) throw new LoadError('BAD_RESPONSE', `group ${group}: GroupResponse without a group`);
        joins.push(groupId === 0 ? 0 : p, Math.min(memberIds.length, p + GROUP_BATCH), r.seq);
        groupId = r.group.groupId;
      }
      out.push({ group, groupId, joins });
    });
    return out;
  }

  /** Starts each local member's cursor before its join and gives senders their group frame. */
  join(groups: readonly CreatedGroup[], onMember: (member: number, convId: string, joinSeq: number, setupSeq: number) => void): void {
    const o = this.host.opts;
    for (const g of groups) {
      const convId = groupConvId(g.groupId);
      const setupSeq = g.joins[g.joins.length - 1]!;
      for (let j = 0; j < g.joins.length; j += 3) {
        for (let p = g.joins[j]!; p < g.joins[j + 1]!; p++) {
          const m = this.byMember.get(this.plan.memberAt(g.group, p));
          if (!m) continue;
          const joinSeq = g.joins[j + 2]!;
          this.sessions.startAfter(m, convId, joinSeq - 1);
          if (m.sender) m.template = new ChatTemplate(o.runId, m.member, 0, o.bodyBytes, g.groupId);
          onMember(m.member, convId, joinSeq, setupSeq);
        }
      }
    }
  }

  /** Counts the member's own message (never pushed back to it) as held by its cursor. */
  holdOwn(member: number, convId: string, seq: number): void {
    this.sessions.hold(this.byMember.get(member)!, convId, seq);
  }

  /** Sends message `msgNo` of sender `member` (already recorded as sent). */
  send(member: number, msgNo: number, intendedUs: number): void {
    const s = this.byMember.get(member)!;
    if (s.online && s.template) s.conn!.write(s.template.build(msgNo, intendedUs));
    // Offline: resent after the next login.
  }

  churn(fraction: number): number {
    return this.sessions.churn(fraction);
  }

  catchUp(): Promise<void> {
    return this.sessions.catchUp();
  }

  close(): void {
    this.sessions.close();
  }

  // ---------------------------------------------------------------- SessionHooks

  afterLogin(s: Member): void {
    if (!s.template) return;
    const h = this.host.history;
    const sent = h.sentBy(s.member);
    while (s.resendFrom < sent && !h.isPending(s.member, s.resendFrom)) s.resendFrom++;
    for (let m = s.resendFrom; m < sent; m++) {
      if (h.isPending(s.member, m)) s.conn!.write(s.template.build(m, h.intendedOf(s.member, m)));
    }
  }

  onChat(s: Member, m: ChatMessage): void {
    this.host.onDeliver(s.member, m);
  }

  onAck(s: Member, m: AckMessage): void {
    if (m.kind !== AckKind.STORED || !s.sender) return;
    const msgNo = msgNoOf(m.clientMsgId);
    if (msgNo >= 0) this.host.onAck(s.member, msgNo, m.convId, m.seq);
  }

  onServerError(s: Member, m: ErrorMessage): void {
    const msgNo = s.sender ? msgNoOf(m.requestId) : -1;
    if (msgNo >= 0 && !m.fatal) this.host.onSendFailed(s.member, msgNo, m.code, true);
    else this.host.onError(m.code);
  }
}
