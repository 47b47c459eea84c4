/**
 * Frames from the server, one handler per type (the client side of "one handler per message
 * type"): chats go to delivery (or wait until the session is online), STORED acks settle the
 * outbox, receipts and notices are emitted, stored notifications are acked and emitted once,
 * errors settle the request they answer or end the connection when fatal, and answers to
 * requests resolve their waiter. ImClient owns the session; this module only reacts to frames.
 */
import {
  AckKind, MessageType,
  type AckMessage, type AnyMessage, type ChatMessage, type ErrorMessage, type Notification,
} from '@hxim/im-common';
import type { Delivery } from './delivery';
import { ServerError } from './errors';
import type { ImClientEvents } from './events';
import type { Outbox, SendAck } from './outbox';
import type { RequestTracker } from './requests';
import type { Connection } from './transport';

/** The waiter key of the LoginAck (no request id on the wire). */
export const LOGIN_KEY = '\u0000login';

/** Stored notification ids remembered to emit each once (a login may resend one not yet acked). */
const SEEN_NOTICES = 1024;

/** What the handlers need from the client. */
export interface InboundHost {
  readonly delivery: Delivery;
  readonly outbox: Outbox;
  readonly requests: RequestTracker;
  /** The session's phase: chats wait until 'online'; a LoginAck is only taken during 'login'. */
  phase(): 'login' | 'catchup' | 'online';
  /** Keeps a pushed chat until the session is online (catch-up first). */
  defer(msg: ChatMessage): void;
  /** Records the fatal error that is about to close the connection. */
  setFatal(err: ServerError): void;
  emit<K extends keyof ImClientEvents>(event: K, ...args: ImClientEvents[K]): void;
  /** Reports an error nobody waits for. */
  emitError(err: Error): void;
}

/** The frame handlers of one client. */
export class Inbound {
  private readonly seenNotices = new Set<number>();

  constructor(private readonly host: InboundHost) {}

  /** The dispatcher: one handler per frame type. `conn` is the client's current connection. */
  onFrame(conn: Connection, f: AnyMessage): void {
    this.host.emit('frame', f);
    switch (f.type) {
      case MessageType.CHAT: this.onChat(f.msg); break;
      case MessageType.ACK: this.onAck(f.msg); break;
      case MessageType.ERROR: this.onError(conn, f.msg); break;
      case MessageType.LOGIN_ACK: if (this.host.phase() === 'login') this.host.requests.resolve(LOGIN_KEY, f.msg); break;
      case MessageType.BUSINESS: this.host.emit('notice', f.msg); break;
      case MessageType.NOTIFICATION: this.onNotification(conn, f.msg); break;
      case MessageType.HEARTBEAT: break; // the read itself refreshed the idle timer
      default: {
        const id = (f.msg as { requestId?: unknown }).requestId;
        if (typeof id === 'string' && id.length > 0) this.host.requests.resolve(id, f.msg);
      }
    }
  }

  private onChat(msg: ChatMessage): void {
    if (this.host.phase() !== 'online') this.host.defer(msg);
    else this.host.delivery.receivePush(msg);
  }

  private onAck(msg: AckMessage): void {
    if (msg.kind !== AckKind.STORED) {
      if (msg.kind === AckKind.DELIVERED || msg.kind === AckKind.READ) this.host.emit('receipt', msg);
      return;
    }
    const ack: SendAck = {
      clientMsgId: msg.clientMsgId, serverMsgId: msg.serverMsgId, seq: msg.seq, convId: msg.convId,
      duplicate: msg.duplicate, serverTime: msg.serverTime,
    };
    this.host.delivery.ownStored(ack.convId, ack.seq);
    this.host.outbox.settle(ack.clientMsgId, ack);
    this.host.emit('ack', ack);
  }

  /**
   * Emits a Notification; a stored one (noticeId > 0) is acked so it is not sent again, and
   * emitted once even if a login resends it before the ack arrived (docs/protocol.md §9.6).
   */
  private onNotification(conn: Connection, msg: Notification): void {
    if (msg.noticeId > 0) {
      conn.write(MessageType.NOTIFICATION_ACK, { noticeId: msg.noticeId });
      if (this.seenNotices.has(msg.noticeId)) return;
      this.seenNotices.add(msg.noticeId);
      if (this.seenNotices.size > SEEN_NOTICES) this.seenNotices.delete(this.seenNotices.values().next().value as number);
    }
    this.host.emit('notification', msg);
  }

  private onError(conn: Connection, msg: ErrorMessage): void {
    const err = new ServerError(msg);
    const { outbox, requests } = this.host;
    let handled = false;
    if (msg.requestId) handled = outbox.fail(msg.requestId, err) || requests.reject(msg.requestId, err);
    if (!handled && this.host.phase() === 'login') handled = requests.reject(LOGIN_KEY, err);
    if (msg.fatal) {
      this.host.setFatal(err);
      conn.destroy(`${err.code}: ${err.message}`);
      return;
    }
    if (!handled) this.host.emitError(err);
  }
}
