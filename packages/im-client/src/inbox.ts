/**
 * Per-conversation ordering and dedup of incoming chats (DESIGN.md delivery contract 2 and 3).
 * Pure: no socket, no timers. The client feeds it messages and own STORED acks; it answers which
 * messages to hand to the application now, which conversations have a gap to fill, and which
 * DELIVERED cursors to send.
 *
 * Per conversation it keeps:
 * - `floor`: the highest contiguous seq the application has (delivered, or an own message);
 * - `own`:   seqs above the floor known from our own STORED acks (they never reach the app);
 * - `held`:  messages above the floor + 1, waiting for the gap below them to close.
 *
 * A conversation the client has never seen has no floor yet. The first message seen sets it to
 * seq − 1: the server sends a conversation's catch-up from the first seq we are owed, and pushes
 * in seq order. A LoginAck's unread list sets it to lastSeq after a complete catch-up.
 */
import type { ChatMessage, ConvSeq } from '@hxim/im-common';

interface ConvState {
  /** Highest contiguous seq; -1 while unknown. */
  floor: number;
  own: Set<number>;
  held: Map<number, ChatMessage>;
  /** Last cursor sent in a DELIVERED ack (or -1). */
  acked: number;
  /** Messages were delivered since the last DELIVERED ack. */
  dirty: boolean;
}

/** Counters for tests and the load tool's checker. */
export interface InboxStats {
  delivered: number;
  duplicates: number;
  held: number;
}

/** Ordering and dedup state of every conversation. Wire-keyed, so a Map (STYLE.md §13). */
export class Inbox {
  private readonly convs = new Map<string, ConvState>();
  /** Counters since construction. */
  readonly stats: InboxStats = { delivered: 0, duplicates: 0, held: 0 };

  /** Sets a known floor (from lastSeqs or an authoritative source). Never moves it backwards. */
  setFloor(convId: string, seq: number): void {
    const st = this.state(convId);
    if (seq > st.floor) {
      st.floor = seq;
      for (const s of st.own) if (s <= seq) st.own.delete(s);
      for (const s of st.held.keys()) if (s <= seq) st.held.delete(s);
    }
  }

  /** Sets the floor only if the conversation has none yet. */
  setFloorIfUnknown(convId: string, seq: number): void {
    if (this.floorOf(convId) < 0) this.setFloor(convId, seq);
  }

  /** The conversation's contiguous floor, or -1 if unknown. */
  floorOf(convId: string): number {
    return this.convs.get(convId)?.floor ?? -1;
  }

  /**
   * Accepts one incoming message. Returns the messages to hand to the application now, in seq
   * order: none (a duplicate, or held behind a gap), this one, or this one plus held ones it
   * unblocked. With `asOwn`, the message is recorded as ours (our pending send seen in a sync)
   * and not returned.
   */
  receive(msg: ChatMessage, asOwn = false): ChatMessage[] {
    const seq = msg.seq;
    if (!msg.convId || !(seq > 0)) return asOwn ? [] : [msg]; // no seq: nothing to order by
    const st = this.state(msg.convId);
    if (st.floor < 0) {
      st.floor = seq - 1;
      for (const s of st.own) if (s <= st.floor) st.own.delete(s);
    }
    if (seq <= st.floor || st.own.has(seq) || st.held.has(seq)) {
      this.stats.duplicates++;
      return [];
    }
    if (seq > st.floor + 1) {
      if (asOwn) st.own.add(seq);
      else { st.held.set(seq, msg); this.stats.held++; }
      return [];
    }
    const out: ChatMessage[] = asOwn ? [] : [msg];
    st.floor = seq;
    this.advance(st, out);
    this.stats.delivered += out.length;
    if (out.length > 0) st.dirty = true;
    return out;
  }

  /** Records the seq of our own stored message (a STORED ack), so it is not delivered to us. */
  markOwn(convId: string, seq: number): ChatMessage[] {
    if (!convId || !(seq > 0)) return [];
    const st = this.state(convId);
    // seq 1 is the first message of a new conversation: nothing can come before it.
    if (st.floor < 0 && seq === 1) st.floor = 0;
    if (st.floor >= 0 && seq <= st.floor) return [];
    if (st.floor >= 0 && seq === st.floor + 1) {
      st.floor = seq;
      const out: ChatMessage[] = [];
      this.advance(st, out);
      this.stats.delivered += out.length;
      // Ack our own seqs too: the server's cursor then covers them, and a fresh process does
      // not get its own old sends back as catch-up. Coalesced, so a busy sender pays ~20 acks/s.
      st.dirty = true;
      return out;
    }
    st.own.add(seq);
    return [];
  }

  /** Conversations with held messages, and the seq to fetch after. */
  gaps(): ConvSeq[] {
    const out: ConvSeq[] = [];
    for (const [convId, st] of this.convs) if (st.held.size > 0) out.push({ convId, seq: st.floor });
    return out;
  }

  /** True if the conversation still has held messages. */
  hasGap(convId: string): boolean {
    return (this.convs.get(convId)?.held.size ?? 0) > 0;
  }

  /**
   * Gives up on a gap the server could not fill: moves the floor to just below the lowest held
   * message and releases what that unblocks. Returns the released messages and the skipped range.
   */
  skipGap(convId: string): { released: ChatMessage[]; from: number; to: number } | null {
    const st = this.convs.get(convId);
    if (!st || st.held.size === 0) return null;
    const lowest = Math.min(...st.held.keys());
    const from = st.floor + 1;
    st.floor = lowest - 1;
    for (const s of st.own) if (s <= st.floor) st.own.delete(s);
    const out: ChatMessage[] = [];
    this.advance(st, out);
    this.stats.delivered += out.length;
    st.dirty = true;
    return { released: out, from, to: lowest - 1 };
  }

  /** The contiguous cursor of every known conversation (OnlineMessage.lastSeqs, SyncRequest.acked). */
  cursors(): ConvSeq[] {
    const out: ConvSeq[] = [];
    for (const [convId, st] of this.convs) if (st.floor >= 0) out.push({ convId, seq: st.floor });
    return out;
  }

  /**
   * Cursors of conversations whose floor moved since the last call: the DELIVERED acks to send
   * (one per conversation, however many messages).
   */
  takeAcks(): ConvSeq[] {
    const out: ConvSeq[] = [];
    for (const [convId, st] of this.convs) {
      if (!st.dirty) continue;
      st.dirty = false;
      if (st.floor > st.acked && st.floor > 0) {
        st.acked = st.floor;
        out.push({ convId, seq: st.floor });
      }
    }
    return out;
  }

  /** Marks every known cursor for re-acking (after a re-login: the last acks may have been lost). */
  resetAcks(): void {
    for (const st of this.convs.values()) {
      st.acked = -1;
      st.dirty = st.floor > 0;
    }
  }

  private advance(st: ConvState, out: ChatMessage[]): void {
    for (;;) {
      const next = st.floor + 1;
      const held = st.held.get(next);
      if (held) {
        st.held.delete(next);
        out.push(held);
      } else if (st.own.has(next)) {
        st.own.delete(next);
      } else {
        return;
      }
      st.floor = next;
    }
  }

  private state(convId: string): ConvState {
    let st = this.convs.get(convId);
    if (!st) {
      st = { floor: -1, own: new Set(), held: new Map(), acked: -1, dirty: false };
      this.convs.set(convId, st);
    }
    return st;
  }
}
