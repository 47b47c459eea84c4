/**
 * Catch-up: the messages a user has not received, by conversation and seq (DESIGN.md "Resume in
 * one round trip"). The delivered cursor (conversation_member.ack_seq) says where each
 * conversation resumes; cursors the client reports are applied first, so a reconnecting client
 * gets exactly what it lacks.
 */
import type { ConvSeq } from '@hxim/im-common';
import { parseConvId } from '@hxim/im-common';
import type { StoredChat } from '@hxim/business';
import type { ServerContext } from './context';

/** One page of missed messages. */
export interface MissedPage {
  messages: StoredChat[];
  /** More remain after this page. */
  hasMore: boolean;
}

/** Applies client-reported cursors (only for conversations the user belongs to). */
export async function applyClientCursors(ctx: ServerContext, userId: number, cursors: readonly ConvSeq[]): Promise<void> {
  const updates = [];
  for (const c of cursors.slice(0, 10_000)) {
    if (!Number.isSafeInteger(c.seq) || c.seq <= 0 || parseConvId(c.convId) === null) continue;
    updates.push({ userId, convId: c.convId, seq: c.seq });
  }
  if (updates.length > 0) await ctx.store.chats.advanceAck(updates);
}

/** Up to `limit` missed messages, ordered by conversation then seq. */
export async function missedPage(ctx: ServerContext, userId: number, limit: number): Promise<MissedPage> {
  const lagging = await ctx.store.chats.lagging(userId);
  lagging.sort((a, b) => (a.convId < b.convId ? -1 : a.convId > b.convId ? 1 : 0));
  const messages: StoredChat[] = [];
  for (const c of lagging) {
    const want = c.lastSeq - c.ackSeq;
    if (want <= 0) continue;
    const room = limit - messages.length;
    if (room <= 0) return { messages, hasMore: true };
    const rows = await ctx.store.chats.readAfter(c.convId, c.ackSeq, room);
    for (const r of rows) messages.push(r);
    if (rows.length < want && rows.length === room) return { messages, hasMore: true };
  }
  return { messages, hasMore: false };
}
