/**
 * The session machinery under the raw-frame engines (chat and group): one {@link RawConn} per
 * session, login (password or token), reconnect with failover and backoff, churn, keep-alive
 * heartbeats, one conversation cursor per session with coalesced DELIVERED acks (every ackDelayMs,
 * as im-client does), and catch-up by seq (LoginAck page + SyncRequests) after every login.
 * What a frame means (a delivery, an ack, a refusal) is the engine's: see {@link SessionHooks}.
 */
import { AckKind, MessageType, type AckMessage, type ChatMessage, type ConvSeq, type ErrorMessage, type LoginAck } from '@hxim/im-common';
import { runPool, sleep, waitFor } from '../clock';
import type { LoadOptions, ServerAddr } from '../options';
import { LoadError, type RawConn } from '../raw-conn';
import { connectUser, type TestUser } from '../users';
import { reconnectDelayMs } from './engine';

/** Heartbeat interval when neither --heartbeat-ms nor the server's LoginAck gives one. */
export const DEFAULT_HEARTBEAT_MS = 5000;
/** Logins tried per session in the final catch-up before giving up on it. */
export const CATCHUP_ATTEMPTS = 5;

/** One user's connection and its cursor in its one conversation. */
export interface Session {
  user: TestUser;
  /** Servers in the order its reconnects try them. */
  servers: ServerAddr[];
  /** Run-wide connection number (source-address rotation). */
  connIndex: number;
  /** True when it receives: it keeps a cursor and catches up by seq at every login. */
  catchesUp: boolean;
  turn: number;
  conn: RawConn | null;
  online: boolean;
  attempt: number;
  churned: boolean;
  timer: NodeJS.Timeout | null;
  /** Keep-alive sweeps since this session last wrote. */
  silentSweeps: number;
  /** Pushes held while a login's catch-up is processed (null when not catching up). */
  deferred: ChatMessage[] | null;
  /** Its conversation ("" until the first message). */
  convId: string;
  /** Highest seq held without a gap, and the seqs held above it. */
  floor: number;
  above: Set<number>;
  dirty: boolean;
}

/** The fields of a new {@link Session}. */
export function newSession(user: TestUser, servers: ServerAddr[], connIndex: number, catchesUp: boolean): Session {
  return {
    user, servers, connIndex, catchesUp, turn: 0, conn: null, online: false, attempt: 0, churned: false, timer: null,
    silentSweeps: 0, deferred: null, convId: '', floor: 0, above: new Set(), dirty: false,
  };
}

/** What the engine makes of a session's frames. */
export interface SessionHooks<S extends Session> {
  /** A chat for a receiving session (its cursor already moved). */
  onChat(s: S, m: ChatMessage): void;
  /** Any ack frame. */
  onAck(s: S, m: AckMessage): void;
  /** An ErrorMessage that answered no request of the connection. */
  onServerError(s: S, m: ErrorMessage): void;
  /** After each login (and its catch-up): senders resend what is still unacked. */
  afterLogin(s: S): void;
}

/** What the sessions report to the scenario. */
export interface SessionHost {
  readonly opts: LoadOptions;
  onError(code: string): void;
  onLogin(): void;
}

/** See the file comment. */
export class RawSessions<S extends Session> {
  readonly all: S[] = [];
  private readonly dirty: S[] = [];
  private readonly ackTimer: NodeJS.Timeout;
  private keepalive: NodeJS.Timeout | null = null;
  private closing = false;
  private online = 0;
  private reconnectCount = 0;

  constructor(private readonly host: SessionHost, private readonly hooks: SessionHooks<S>) {
    this.ackTimer = setInterval(() => this.flushAcks(), host.opts.ackDelayMs);
  }

  /** Logged-in connections now. */
  get connections(): number {
    return this.online;
  }

  /** Reconnects so far. */
  get reconnects(): number {
    return this.reconnectCount;
  }

  /** Adds a session (not connected). */
  add(s: S): S {
    this.all.push(s);
    return s;
  }

  /** Logs every session of `list` in; rejects naming how many failed and the first failure. */
  async loginAll(list: readonly S[]): Promise<void> {
    const failures: string[] = [];
    await runPool(list.length, this.host.opts.concurrency, async (i) => {
      try {
        await this.login(list[i]!);
      } catch (err) {
        failures.push(err instanceof LoadError ? `${err.code}: ${err.message}` : String(err));
      }
    });
    if (failures.length > 0) throw new Error(`${failures.length} of ${list.length} sessions could not log in; first: ${failures[0]}`);
  }

  /** Drops about `fraction` of all sessions (they reconnect by themselves); returns how many. */
  churn(fraction: number): number {
    const live = this.all.filter((s) => s.online);
    const n = Math.min(live.length, Math.round(fraction * this.all.length));
    for (let k = 0; k < n; k++) {
      const j = k + Math.floor(Math.random() * (live.length - k));
      [live[k], live[j]] = [live[j]!, live[k]!];
      live[k]!.churned = true;
      live[k]!.conn?.destroy();
    }
    return n;
  }

  /** Receiving sessions log in again (after their cursors) and sync until nothing is missing. */
  async catchUp(): Promise<void> {
    const o = this.host.opts;
    const receivers = this.all.filter((s) => s.catchesUp);
    // Sessions still reconnecting (or catching up) get the catch-up time to finish.
    const settled = (): boolean => receivers.every((r) => r.online && r.deferred === null);
    await waitFor(settled, o.catchupS * 1000);
    this.flushAcks();
    await runPool(receivers.length, o.concurrency, async (i) => {
      const r = receivers[i]!;
      if (r.timer) clearTimeout(r.timer);
      r.timer = null;
      r.churned = false;
      r.conn?.destroy();
      for (let attempt = 1; !this.closing; attempt++) {
        try {
          await this.login(r);
          return;
        } catch (err) {
          this.host.onError(err instanceof LoadError ? err.code : 'CATCHUP_FAILED');
          if (attempt >= CATCHUP_ATTEMPTS) {
            // Give up on this session: the check still runs, and counts what never arrived.
            this.host.onError('CATCHUP_FAILED');
            return;
          }
          await sleep(reconnectDelayMs(attempt));
        }
      }
    });
    // A session that lost its connection during the catch-up reconnects and catches up again.
    await waitFor(settled, o.catchupS * 1000);
    this.flushAcks();
  }

  /** Closes everything; no reconnects after this. */
  close(): void {
    this.closing = true;
    clearInterval(this.ackTimer);
    if (this.keepalive) clearInterval(this.keepalive);
    for (const s of this.all) {
      if (s.timer) clearTimeout(s.timer);
      s.conn?.destroy();
    }
  }

  /**
   * Counts `seq` of `convId` as held by `s` (a message it did not get pushed, e.g. its own group
   * message, known from its ack): its cursor moves past it.
   */
  hold(s: S, convId: string, seq: number): void {
    if (!s.convId) s.convId = convId;
    if (convId !== s.convId || seq <= s.floor) return;
    if (seq === s.floor + 1) {
      s.floor = seq;
      while (s.above.delete(s.floor + 1)) s.floor++;
    } else {
      s.above.add(seq);
    }
    if (!s.dirty) {
      s.dirty = true;
      this.dirty.push(s);
    }
  }

  /**
   * Starts `s`'s cursor in `convId` after `seq` (a group member holds nothing from before its
   * join): what it got above that counts from there.
   */
  startAfter(s: S, convId: string, seq: number): void {
    if (!s.convId) s.convId = convId;
    if (convId !== s.convId || seq <= s.floor) return;
    s.floor = seq;
    for (const q of s.above) if (q <= seq) s.above.delete(q);
    while (s.above.delete(s.floor + 1)) s.floor++;
    if (s.floor > seq && !s.dirty) {
      s.dirty = true;
      this.dirty.push(s);
    }
  }

  // ---------------------------------------------------------------- sessions

  /** Logs `s` in on its current server, then catches up (receivers) and runs afterLogin. */
  async login(s: S): Promise<void> {
    const lastSeqs: ConvSeq[] = s.catchesUp && s.convId ? [{ convId: s.convId, seq: s.floor }] : [];
    s.deferred = [];
    const { conn, ack } = await connectUser(this.host.opts, s.user, {
      server: s.servers[s.turn % s.servers.length]!, connIndex: s.connIndex, lastSeqs,
      handlers: {
        onChat: (m) => { if (s.deferred) s.deferred.push(m); else this.onChat(s, m); },
        onAck: (m) => this.hooks.onAck(s, m),
        onError: (m) => this.hooks.onServerError(s, m),
        onClose: (_reason, expected) => this.onClose(s, expected),
      },
    }).catch((err: unknown) => { s.deferred = null; throw err; });
    if (this.closing || !conn.isOpen) {
      conn.destroy();
      s.deferred = null;
      if (this.closing) return;
      throw new LoadError('CONNECTION_LOST', 'the connection closed right after the login');
    }
    s.conn = conn;
    s.online = true;
    s.attempt = 0;
    this.online++;
    this.host.onLogin();
    if (!this.keepalive) this.startKeepalive(this.host.opts.heartbeatMs || ack.heartbeatMs || DEFAULT_HEARTBEAT_MS);
    if (s.catchesUp) {
      try {
        await this.catchUpOn(s, conn, ack);
      } catch (err) {
        // A lost connection is the close handler's to reconnect; the final catch-up fills the rest.
        this.host.onError(err instanceof LoadError ? err.code : 'CATCHUP_FAILED');
      }
    }
    if (s.online) this.hooks.afterLogin(s);
    const held = s.deferred ?? [];
    s.deferred = null;
    for (const m of held) this.onChat(s, m);
  }

  /** Delivers the LoginAck's page and fetches the rest with SyncRequests. */
  private async catchUpOn(s: S, conn: RawConn, ack: LoginAck): Promise<void> {
    for (const m of ack.messages) this.onChat(s, m);
    let more = ack.hasMore && ack.messages.length > 0;
    while (more && conn.isOpen) {
      const acked = s.convId ? [{ convId: s.convId, seq: s.floor }] : [];
      const page = await conn.sync({ acked, limit: 0 });
      for (const m of page.messages) this.onChat(s, m);
      more = page.hasMore && page.messages.length > 0;
    }
  }

  private onClose(s: S, expected: boolean): void {
    // Before the login completed, the login's caller retries; only a live session reconnects here.
    if (!s.online) return;
    this.online--;
    s.online = false;
    s.conn = null;
    if (this.closing || (expected && !s.churned)) return;
    const churn = s.churned;
    s.churned = false;
    if (!churn) {
      this.host.onError('CONNECTION_LOST');
      s.turn++; // fail over to the next server, as im-client does
    }
    this.scheduleReconnect(s, churn ? Math.random() * 200 : reconnectDelayMs(++s.attempt));
  }

  private scheduleReconnect(s: S, delayMs: number): void {
    if (this.closing) return;
    s.timer = setTimeout(() => {
      s.timer = null;
      this.reconnectCount++;
      this.login(s).catch((err: unknown) => {
        this.host.onError(err instanceof LoadError ? err.code : 'RECONNECT_FAILED');
        s.turn++;
        this.scheduleReconnect(s, reconnectDelayMs(++s.attempt));
      });
    }, delayMs);
  }

  private onChat(s: S, m: ChatMessage): void {
    if (!s.catchesUp) return;
    this.hold(s, m.convId, m.seq);
    this.hooks.onChat(s, m);
  }

  /**
   * Keep-alive, as a client must: swept every half interval, a connection that wrote nothing for
   * two sweeps sends a heartbeat (so at most 1.5 intervals pass without a write). Senders are
   * silent during the drain and the catch-up, receivers whenever no message arrives; without this
   * the server's idle timeout would close them.
   */
  private startKeepalive(heartbeatMs: number): void {
    this.keepalive = setInterval(() => {
      for (const s of this.all) this.beat(s);
    }, Math.max(100, heartbeatMs / 2));
  }

  private beat(s: S): void {
    const c = s.conn;
    if (!c || !s.online) return;
    if (c.wrote) {
      c.wrote = false;
      s.silentSweeps = 0;
    } else if (++s.silentSweeps >= 2) {
      c.heartbeat();
      c.wrote = false;
      s.silentSweeps = 0;
    }
  }

  /** One DELIVERED ack per session whose floor moved: the highest contiguous seq. */
  private flushAcks(): void {
    for (const s of this.dirty) {
      s.dirty = false;
      if (s.online && s.floor > 0) s.conn!.send(MessageType.ACK, { kind: AckKind.DELIVERED, convId: s.convId, seq: s.floor });
    }
    this.dirty.length = 0;
  }
}
