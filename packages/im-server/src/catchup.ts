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

/** Per-message allowance for the frame fields around a body. */
const ROW_OVERHEAD = 96;

/**
 * The byte budget of one catch-up page (LoginAck, SyncResponse, a seed-mode replay step): a
 * quarter of the outbound limit, so a page of large messages can never get its own reader
 * evicted as a slow consumer (connection.ts).
 */
export function pageBytes(ctx: ServerContext): number {
  return Math.max(64 * 1024, Math.floor(ctx.opts.maxOutboundBytes / 4));
}

/** Cuts `rows` to fit `maxBytes` (always keeping the first); true if any were cut. */
export function trimToBytes(rows: StoredChat[], maxBytes: number, used = 0): boolean {
  let bytes = used;
  for (let i = 0; i < rows.length; i++) {
    bytes += rows[i]!.body.length + ROW_OVERHEAD;
    if (bytes > maxBytes && (i > 0 || used > 0)) {
      rows.length = i;
      return true;
    }
  }
  return false;
}

/**
 * Up to `limit` missed messages (and at most `maxBytes` of them, see {@link pageBytes}),
 * ordered by conversation then seq.
 */
export async function missedPage(ctx: ServerContext, userId: number, limit: number, maxBytes = pageBytes(ctx)): Promise<MissedPage> {
  const lagging = await ctx.store.chats.lagging(userId);
  lagging.sort((a, b) => (a.convId < b.convId ? -1 : a.convId > b.convId ? 1 : 0));
  const messages: StoredChat[] = [];
  for (const c of lagging) {
    const want = c.lastSeq - c.ackSeq;
    if (want <= 0) continue;
    const room = limit - messages.length;
    if (room <= 0) return { messages, hasMore: true };
    const rows = await ctx.store.chats.readAfter(c.convId, c.ackSeq, room);
    const used = messages.reduce((n, m) => n + m.body.length + ROW_OVERHEAD, 0);
    const cut = trimToBytes(rows, maxBytes, used);
    for (const r of rows) messages.push(r);
    if (cut) return { messages, hasMore: true };
    if (rows.length < want && rows.length === room) return { messages, hasMore: true };
  }
  return { messages, hasMore: false };
}
