/**
 * The backend-independent half of appendBatch: given what the database already holds (the
 * originals of repeated client ids, each conversation's last seq under lock), decide which chats
 * are new, which seq each gets, which member rows to create and which sender read cursors to
 * move. SQLite and MySQL both run this, so the two stores cannot disagree on the rules of
 * ports.ts ChatStore.appendBatch.
 */
import { RequestError } from '@hxim/im-common';
import type { AppendResult, NewChat, StoredChat } from './ports';
import type { MemberCache } from './member-cache';

/** The dedup key of a chat: (senderId, clientMsgId), the unique key of chat_message. */
export function dedupKey(senderId: number, clientMsgId: string): string {
  // senderId is a number, so the first "|" always ends it: keys cannot collide.
  return `${senderId}|${clientMsgId}`;
}

/** What happens to one input chat. */
export type Slot =
  /** New: stored with this seq; `pos` indexes BatchPlan.inserts. */
  | { kind: 'new'; seq: number; pos: number }
  /** Stored before this batch: return the original with duplicate=true. */
  | { kind: 'stored'; original: StoredChat }
  /** Repeats an earlier chat of this batch (input index `first`). */
  | { kind: 'repeat'; first: number }
  /** A group chat whose sender is not a member: not stored, answered NOT_A_MEMBER. */
  | { kind: 'refused' };

/** A conversation's state after the batch. */
export interface ConvAfter {
  convId: string;
  lastSeq: number;
  lastSenderId: number;
  /** Index into BatchPlan.inserts of the conversation's last new message. */
  lastPos: number;
}

/** A member row to create if missing, with its starting cursors. */
export interface MemberRow {
  convId: string;
  userId: number;
  /**
   * Both cursors start at the conversation's last seq before the first message the member
   * appears in: a member added to a running group does not get its history as unread, and in a
   * new 1:1 conversation both start at 0.
   */
  joinSeq: number;
}

/** A sender read cursor to move forward to `seq` (you have read what you wrote). */
export interface SenderRead {
  convId: string;
  userId: number;
  seq: number;
  /** Starting ack cursor if the row has to be created here. */
  joinSeq: number;
}

/** Everything a backend must write for one batch. */
export interface BatchPlan {
  /** One per input chat, in input order. */
  slots: Slot[];
  /** The chats to INSERT, in seq order within each conversation. */
  inserts: Array<{ chat: NewChat; seq: number }>;
  /** Conversations that got new messages, sorted by convId (lock order). */
  convs: ConvAfter[];
  /** Member rows not known to exist, sorted by (convId, userId). */
  members: MemberRow[];
  /** Sender read cursors, sorted by (convId, userId). */
  senderReads: SenderRead[];
}

function byConvThenUser(a: { convId: string; userId: number }, b: { convId: string; userId: number }): number {
  return a.convId < b.convId ? -1 : a.convId > b.convId ? 1 : a.userId - b.userId;
}

/** A (group, sender) pair of a group chat, the primary key of group_member. */
export interface GroupSender {
  groupId: number;
  userId: number;
}

/** The key of a (group, sender) pair in the `nonMembers` set of planBatch. */
export function groupSenderKey(groupId: number, userId: number): string {
  return `${groupId}|${userId}`;
}

/** The distinct (group, sender) pairs of a batch's group chats: what the store probes in group_member. */
export function groupSenders(chats: readonly NewChat[]): GroupSender[] {
  const seen = new Map<string, GroupSender>();
  for (const c of chats) {
    if (c.groupId === 0) continue;
    const k = groupSenderKey(c.groupId, c.senderId);
    if (!seen.has(k)) seen.set(k, { groupId: c.groupId, userId: c.senderId });
  }
  return [...seen.values()];
}

/**
 * The groupSenderKey()s of `pairs` missing from `members` (the pairs found in group_member).
 */
export function missingGroupSenders(pairs: readonly GroupSender[], members: Iterable<GroupSender>): Set<string> {
  const found = new Set<string>();
  for (const m of members) found.add(groupSenderKey(Number(m.groupId), Number(m.userId)));
  const out = new Set<string>();
  for (const p of pairs) {
    const k = groupSenderKey(p.groupId, p.userId);
    if (!found.has(k)) out.add(k);
  }
  return out;
}

const NONE: ReadonlySet<string> = new Set();

/**
 * Plans a batch. `stored` maps dedupKey() to originals already in the database; `lastSeqs`
 * holds the current last_seq of every conversation of the batch (read under lock). `cache`
 * only filters member rows; it is not modified (call commitPlan() after the commit).
 * `nonMembers` holds the groupSenderKey()s of group chats whose sender is not in group_member
 * (read under the same lock): those chats are refused, before dedup, and write nothing.
 */
export function planBatch(
  chats: readonly NewChat[],
  stored: ReadonlyMap<string, StoredChat>,
  lastSeqs: ReadonlyMap<string, number>,
  cache: MemberCache,
  nonMembers: ReadonlySet<string> = NONE,
): BatchPlan {
  const slots: Slot[] = [];
  const inserts: BatchPlan['inserts'] = [];
  const firstIndex = new Map<string, number>();
  const seqs = new Map<string, number>(lastSeqs);
  const convs = new Map<string, ConvAfter>();
  const members = new Map<string, MemberRow>();
  const reads = new Map<string, SenderRead>();

  for (let i = 0; i < chats.length; i++) {
    const chat = chats[i];
    if (chat.groupId !== 0 && nonMembers.has(groupSenderKey(chat.groupId, chat.senderId))) {
      slots.push({ kind: 'refused' });
      continue;
    }
    const key = dedupKey(chat.senderId, chat.clientMsgId);
    const original = stored.get(key);
    if (original) {
      slots.push({ kind: 'stored', original });
      continue;
    }
    const first = firstIndex.get(key);
    if (first !== undefined) {
      slots.push({ kind: 'repeat', first });
      continue;
    }
    firstIndex.set(key, i);
    const before = seqs.get(chat.convId);
    if (before === undefined) throw new Error(`planBatch: no last seq read for conversation ${chat.convId}`);
    // Member rows are planned before the seq moves, so joinSeq is "the seq before this one".
    const addMember = (userId: number): void => {
      const mk = `${userId}|${chat.convId}`;
      if (!members.has(mk) && !cache.has(chat.convId, userId)) members.set(mk, { convId: chat.convId, userId, joinSeq: before });
    };
    addMember(chat.senderId); // the sender is a member even if the caller left it out
    for (const m of chat.memberIds) addMember(m);
    const seq = before + 1;
    seqs.set(chat.convId, seq);
    const pos = inserts.length;
    inserts.push({ chat, seq });
    slots.push({ kind: 'new', seq, pos });
    convs.set(chat.convId, { convId: chat.convId, lastSeq: seq, lastSenderId: chat.senderId, lastPos: pos });
    const rk = `${chat.senderId}|${chat.convId}`;
    const prev = reads.get(rk);
    if (prev) prev.seq = seq;
    else reads.set(rk, { convId: chat.convId, userId: chat.senderId, seq, joinSeq: before });
  }
  return {
    slots,
    inserts,
    convs: [...convs.values()].sort((a, b) => (a.convId < b.convId ? -1 : a.convId > b.convId ? 1 : 0)),
    members: [...members.values()].sort(byConvThenUser),
    senderReads: [...reads.values()].sort(byConvThenUser),
  };
}

/** Records a committed plan's member rows in the cache. */
export function commitPlan(plan: BatchPlan, cache: MemberCache): void {
  for (const m of plan.members) cache.add(m.convId, m.userId);
}

/**
 * Builds appendBatch's results in input order. `chats` is the planned input; `ids[pos]` is the
 * server_msg_id of plan.inserts[pos]; `serverTime` is the batch's commit clock; `memberSeqs`
 * holds the member_seq of every conversation of the batch as read under lock (missing = 0).
 */
export function buildResults(chats: readonly NewChat[], plan: BatchPlan, ids: readonly number[], serverTime: number,
  memberSeqs: ReadonlyMap<string, number>): AppendResult[] {
  const out: AppendResult[] = [];
  for (let i = 0; i < plan.slots.length; i++) {
    const slot = plan.slots[i];
    if (slot.kind === 'refused') {
      const c = chats[i];
      out.push({
        serverMsgId: 0, convId: c.convId, seq: 0, senderId: c.senderId, clientMsgId: c.clientMsgId, recipientId: c.recipientId,
        groupId: c.groupId, msgType: c.msgType, body: c.body, clientTime: c.clientTime, serverTime: 0, duplicate: false, memberSeq: 0,
        refused: new RequestError('NOT_A_MEMBER', `you are not a member of group ${c.groupId}`),
      });
    } else if (slot.kind === 'stored') {
      out.push({ ...slot.original, duplicate: true, memberSeq: memberSeqs.get(slot.original.convId) ?? 0 });
    } else if (slot.kind === 'repeat') {
      out.push({ ...out[slot.first], duplicate: true });
    } else {
      const { chat } = plan.inserts[slot.pos];
      out.push({
        serverMsgId: ids[slot.pos], convId: chat.convId, seq: slot.seq, senderId: chat.senderId,
        clientMsgId: chat.clientMsgId, recipientId: chat.recipientId, groupId: chat.groupId,
        msgType: chat.msgType, body: chat.body, clientTime: chat.clientTime, serverTime, duplicate: false,
        memberSeq: memberSeqs.get(chat.convId) ?? 0,
      });
    }
  }
  return out;
}

/** The distinct conversation ids of a batch, sorted: the order in which rows are locked. */
export function sortedConvIds(chats: readonly NewChat[]): string[] {
  return [...new Set(chats.map((c) => c.convId))].sort();
}

/** The distinct (senderId, clientMsgId) pairs of a batch. */
export function distinctKeys(chats: readonly NewChat[]): Array<{ senderId: number; clientMsgId: string }> {
  const seen = new Map<string, { senderId: number; clientMsgId: string }>();
  for (const c of chats) {
    const k = dedupKey(c.senderId, c.clientMsgId);
    if (!seen.has(k)) seen.set(k, { senderId: c.senderId, clientMsgId: c.clientMsgId });
  }
  return [...seen.values()];
}
