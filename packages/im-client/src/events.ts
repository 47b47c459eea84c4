/**
 * The typed events and the public value types of {@link ImClient}.
 */
import type {
  AckMessage, AnyMessage, BusinessMessage, ChatMessage, ConvUnread, MessageByType, MessageTypeCode, Notification,
} from '@hxim/im-common';
import type { ServerError } from './errors';
import type { InboxStats } from './inbox';
import type { ServerAddress } from './options';
import type { SendAck } from './outbox';

/**
 * Connection state.
 * - idle: constructed, connect() not called yet (never emitted);
 * - connecting: opening a socket, logging in, catching up;
 * - online: logged in and caught up; sends are written at once;
 * - offline: lost the connection, a reconnect is scheduled; sends are queued;
 * - closed: close(), logout(), a kick, a rejected login or reconnect disabled. Final.
 */
export type ClientState = 'idle' | 'connecting' | 'online' | 'offline' | 'closed';

/** Payload of the 'state' event. */
export interface StateChange {
  state: ClientState;
  /** Why, in words: "logged in", "no data from the server for 15000 ms", "session replaced". */
  reason: string;
  /** connecting: the server being tried; offline: the server the next attempt goes to. */
  server?: ServerAddress;
  /** connecting/offline: the reconnect attempt number (1 for the first); 0 for the first connect. */
  attempt?: number;
  /** offline: milliseconds until the next attempt. */
  delayMs?: number;
  /** The error behind an offline/closed state, if any. */
  error?: Error;
}

/** What a login returned; resolved by connect() and emitted as 'login' on every (re-)login. */
export interface LoginInfo {
  userId: number;
  userName: string;
  /** Session token; later logins use it automatically. */
  token: string;
  /** When the token expires, ms since epoch (0: unknown). */
  tokenExpiresAt: number;
  /** The server instance that answered. */
  instanceId: string;
  /** The server that answered. */
  server: ServerAddress;
  /** The heartbeat interval in effect. */
  heartbeatMs: number;
  /** The server's read-idle timeout. */
  idleTimeoutMs: number;
  /** Messages delivered to the application by this login's catch-up. */
  caughtUp: number;
  /** Total unread at login (LoginAck.totalUnread). */
  totalUnread: number;
  /** Per-conversation unread counts at login. */
  unread: ConvUnread[];
  /** False for the first login of this client, true for a reconnect. */
  relogin: boolean;
}

/** Events of {@link ImClient}. */
export interface ImClientEvents {
  /** An incoming chat: deduplicated by (convId, seq), in seq order per conversation. */
  message: [msg: ChatMessage];
  /** The connection state changed. */
  state: [change: StateChange];
  /**
   * A non-fatal server error not tied to a pending send or request, or a local problem worth
   * reporting (GAP_UNFILLED). Only emitted when a listener is attached, so an application that
   * does not care is not crashed by EventEmitter's unhandled 'error' rule.
   */
  error: [err: Error];
  /** The server replaced this session (SESSION_REPLACED): another login on the same platform. No reconnect follows. */
  kicked: [reason: ServerError];
  /** A BusinessMessage from the server (notices). */
  notice: [notice: BusinessMessage];
  /** A STORED ack of one of our sends (also for sends that already timed out). */
  ack: [ack: SendAck];
  /** A DELIVERED or READ ack relayed by the server (receipts; see issue 4). */
  receipt: [ack: AckMessage];
  /**
   * A Notification push (friend requests and answers, read receipts, unread changes on another
   * device). Stored ones (noticeId > 0) are acked by the client right after this event.
   */
  notification: [notice: Notification];
  /** A login succeeded (after its catch-up). */
  login: [info: LoginInfo];
  /** Every decoded inbound frame, before the client handles it (tests, debugging). */
  frame: [frame: AnyMessage];
}

/** Options of {@link ImClient.send}. */
export interface SendOptions {
  /** The idempotency key. Default: a random 16-character id. Reuse it to resend safely. */
  clientMsgId?: string;
}

/** The escape hatch for tests and tools: write any frame on the current connection. */
export interface RawAccess {
  /** Writes a frame through the client's one write path; false when not connected. */
  sendFrame<K extends MessageTypeCode>(type: K, msg: Partial<MessageByType[K]>): boolean;
}

/** Counters of a client. */
export interface ClientStats extends InboxStats {
  /** Sends not yet answered (queued or in flight). */
  pendingSends: number;
  /** Sends written and not yet answered. */
  inflight: number;
}
