/**
 * The receive side of a client: messages in, through the {@link Inbox} (dedup, order, gaps), out
 * to the application; coalesced DELIVERED acks back to the server; SyncRequests to fill gaps.
 * It knows no socket: the host writes frames and runs requests for it.
 */
import { AckKind, MessageType, type ChatMessage, type MessageByType, type MessageTypeCode, type SyncRequest, type SyncResponse } from '@hxim/im-common';
import { ClientError, ServerError } from './errors';
import { Inbox } from './inbox';

/** What {@link Delivery} needs from its owner. */
export interface DeliveryHost {
  /** True while logged in and caught up: acks and gap fills only go out then. */
  isOnline(): boolean;
  /** Hands one message to the application. */
  emitMessage(msg: ChatMessage): void;
  /** Reports a problem (only if the application listens). */
  emitError(err: Error): void;
  /** Writes a frame on the current connection; false when there is none. */
  write<K extends MessageTypeCode>(type: K, msg: Partial<MessageByType[K]>): boolean;
  /** Sends a SyncRequest and resolves with its SyncResponse. */
  sync(req: Partial<SyncRequest>): Promise<SyncResponse>;
  /** True if `msg` is our own send still waiting for its ack (seen in a sync before the ack). */
  isOwnPending(msg: ChatMessage): boolean;
}

/** Timing of {@link Delivery}. */
export interface DeliveryOptions {
  ackDelayMs: number;
  gapFillDelayMs: number;
  syncLimit: number;
}

/** Receive pipeline of one client; survives reconnects (its state is per conversation). */
export class Delivery {
  /** Ordering and dedup state. */
  readonly inbox = new Inbox();
  private ackTimer: NodeJS.Timeout | null = null;
  private gapTimer: NodeJS.Timeout | null = null;
  private readonly filling = new Set<string>();

  constructor(private readonly host: DeliveryHost, private readonly opts: DeliveryOptions) {}

  /**
   * Messages from a LoginAck or SyncResponse page. Returns how many reached the application.
   * Gaps left by a page are filled once online (catch-up pages are contiguous by construction).
   */
  receiveBatch(messages: ChatMessage[]): number {
    let n = 0;
    for (const m of messages) n += this.deliver(this.inbox.receive(m, this.host.isOwnPending(m)));
    this.scheduleGapFill();
    return n;
  }

  /** A live push: delivered now, or held behind a gap that a SyncRequest will fill. */
  receivePush(msg: ChatMessage): void {
    this.deliver(this.inbox.receive(msg, this.host.isOwnPending(msg)));
    if (this.inbox.hasGap(msg.convId)) this.scheduleGapFill();
  }

  /** The STORED ack of our own send: its seq is ours, not something to deliver. */
  ownStored(convId: string, seq: number): void {
    this.deliver(this.inbox.markOwn(convId, seq));
    this.scheduleAckFlush();
  }

  /** Logged in and caught up: flush acks (all of them after a re-login) and fill any gaps. */
  online(relogin: boolean): void {
    if (relogin) this.inbox.resetAcks();
    this.scheduleAckFlush();
    this.scheduleGapFill();
  }

  /** The connection is gone: stop timers. Gaps are filled by the next catch-up. */
  offline(): void {
    if (this.ackTimer) clearTimeout(this.ackTimer);
    if (this.gapTimer) clearTimeout(this.gapTimer);
    this.ackTimer = this.gapTimer = null;
    this.filling.clear();
  }

  /** Sends one DELIVERED ack per conversation whose cursor moved: the highest contiguous seq. */
  flushAcks(): void {
    if (!this.host.isOnline()) return;
    for (const c of this.inbox.takeAcks()) {
      this.host.write(MessageType.ACK, { kind: AckKind.DELIVERED, convId: c.convId, seq: c.seq });
    }
  }

  private deliver(messages: ChatMessage[]): number {
    if (messages.length === 0) return 0;
    for (const m of messages) this.host.emitMessage(m);
    this.scheduleAckFlush();
    return messages.length;
  }

  private scheduleAckFlush(): void {
    if (this.ackTimer || !this.host.isOnline()) return;
    this.ackTimer = setTimeout(() => { this.ackTimer = null; this.flushAcks(); }, this.opts.ackDelayMs);
  }

  /** Gives in-flight pushes and acks `gapFillDelayMs` to close a gap before asking the server. */
  private scheduleGapFill(): void {
    if (this.gapTimer || !this.host.isOnline() || this.inbox.gaps().length === 0) return;
    this.gapTimer = setTimeout(() => {
      this.gapTimer = null;
      for (const g of this.inbox.gaps()) {
        if (this.filling.has(g.convId)) continue;
        this.filling.add(g.convId);
        void this.fillGap(g.convId).finally(() => this.filling.delete(g.convId));
      }
    }, this.opts.gapFillDelayMs);
  }

  /**
   * SyncRequest{convId, afterSeq: floor} until the gap closes. If the server has nothing for the
   * missing seqs, the held messages are released anyway and GAP_UNFILLED is reported: holding
   * them forever would be worse. A lost connection leaves the gap to the next catch-up.
   */
  private async fillGap(convId: string): Promise<void> {
    try {
      for (;;) {
        const after = this.inbox.floorOf(convId);
        const res = await this.host.sync({ convId, afterSeq: after, limit: this.opts.syncLimit });
        this.receiveBatch(res.messages);
        if (!this.inbox.hasGap(convId)) return;
        if (!res.hasMore || this.inbox.floorOf(convId) === after) break;
      }
      const skipped = this.inbox.skipGap(convId);
      if (!skipped) return;
      this.deliver(skipped.released);
      this.host.emitError(new ClientError('GAP_UNFILLED',
        `conversation ${convId}: the server returned no messages ${skipped.from}..${skipped.to}; delivering the later ones`));
    } catch (e) {
      if (e instanceof ServerError) this.host.emitError(e);
    }
  }
}
