/**
 * The raw-frame chat engine: one {@link RawConn} per endpoint, a pre-encoded frame template per
 * sender, coalesced DELIVERED acks per receiver (every ackDelayMs, as im-client does), reconnect
 * with the session token and resend of unacked messages with their original ids, and catch-up
 * (LoginAck page + SyncRequests) after every login.
 */
import { AckKind, MessageType, type ChatMessage, type ConvSeq, type LoginAck } from '@hxim/im-common';
import { ChatTemplate, msgNoOf } from '../body';
import { runPool, sleep, waitFor } from '../clock';
import type { ServerAddr } from '../options';
import { LoadError, type RawConn } from '../raw-conn';
import { connectUser, makeUser, type TestUser } from '../users';
import { pairServers, reconnectDelayMs, type ChatEngine, type EngineHost } from './engine';

/** Heartbeat interval when neither --heartbeat-ms nor the server's LoginAck gives one. */
export const DEFAULT_HEARTBEAT_MS = 5000;

interface Endpoint {
  pair: number;
  receiver: boolean;
  user: TestUser;
  servers: ServerAddr[];
  turn: number;
  conn: RawConn | null;
  online: boolean;
  attempt: number;
  churned: boolean;
  timer: NodeJS.Timeout | null;
  /** Keep-alive sweeps since this endpoint last wrote. */
  silentSweeps: number;
  /** Pushes held while a login's catch-up is processed (null when not catching up). */
  deferred: ChatMessage[] | null;
  // receiver side
  convId: string;
  floor: number;
  above: Set<number>;
  dirty: boolean;
  // sender side
  template: ChatTemplate | null;
  resendFrom: number;
}

/** See the file comment. */
export class RawEngine implements ChatEngine {
  private readonly senders: Endpoint[] = [];
  private readonly receivers: Endpoint[] = [];
  private readonly dirty: Endpoint[] = [];
  private readonly ackTimer: NodeJS.Timeout;
  private keepalive: NodeJS.Timeout | null = null;
  private closing = false;
  private online = 0;
  private reconnectCount = 0;

  /** Pairs [start, end) of the run. */
  constructor(private readonly host: EngineHost, private readonly start: number, end: number) {
    const o = host.opts;
    for (let p = start; p < end; p++) {
      const s = pairServers(o, p);
      this.senders.push(this.endpoint(p, false, makeUser(o, 2 * p), s.sender));
      this.receivers.push(this.endpoint(p, true, makeUser(o, 2 * p + 1), s.receiver));
    }
    this.ackTimer = setInterval(() => this.flushAcks(), o.ackDelayMs);
  }

  get connections(): number {
    return this.online;
  }

  get reconnects(): number {
    return this.reconnectCount;
  }

  async setup(): Promise<void> {
    const failures: string[] = [];
    const connectAll = (eps: Endpoint[]): Promise<void> => runPool(eps.length, this.host.opts.concurrency, async (i) => {
      try {
        await this.login(eps[i]!);
      } catch (err) {
        failures.push(err instanceof LoadError ? `${err.code}: ${err.message}` : String(err));
      }
    });
    await connectAll(this.receivers);
    for (const s of this.senders) {
      const r = this.receivers[s.pair - this.start]!;
      s.template = new ChatTemplate(this.host.opts.runId, s.pair, r.user.userId, this.host.opts.bodyBytes);
    }
    await connectAll(this.senders);
    if (failures.length > 0) {
      throw new Error(`${failures.length} of ${2 * this.senders.length} endpoints could not log in; first: ${failures[0]}`);
    }
  }

  send(pair: number, msgNo: number, intendedUs: number): void {
    const s = this.senders[pair - this.start]!;
    if (s.online) s.conn!.write(s.template!.build(msgNo, intendedUs));
    // Offline: resent from resendFrom after the next login.
  }

  churn(fraction: number): number {
    const all = [...this.senders, ...this.receivers].filter((e) => e.online);
    const n = Math.min(all.length, Math.round(fraction * (this.senders.length * 2)));
    for (let k = 0; k < n; k++) {
      const j = k + Math.floor(Math.random() * (all.length - k));
      [all[k], all[j]] = [all[j]!, all[k]!];
      all[k]!.churned = true;
      all[k]!.conn?.destroy();
    }
    return n;
  }

  async catchUp(): Promise<void> {
    const o = this.host.opts;
    // Endpoints still reconnecting (or catching up) get the catch-up time to finish.
    const settled = (): boolean => this.receivers.every((r) => r.online && r.deferred === null);
    await waitFor(settled, o.catchupS * 1000);
    this.flushAcks();
    await runPool(this.receivers.length, o.concurrency, async (i) => {
      const r = this.receivers[i]!;
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
          if (attempt >= 5) {
            // Give up on this receiver: the check still runs, and counts what never arrived.
            this.host.onError('CATCHUP_FAILED');
            return;
          }
          await sleep(reconnectDelayMs(attempt));
        }
      }
    });
    // A receiver that lost its connection during the catch-up reconnects and catches up again.
    await waitFor(settled, o.catchupS * 1000);
    this.flushAcks();
  }

  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.ackTimer);
    if (this.keepalive) clearInterval(this.keepalive);
    for (const e of [...this.senders, ...this.receivers]) {
      if (e.timer) clearTimeout(e.timer);
      e.conn?.destroy();
    }
  }

  // ---------------------------------------------------------------- sessions

  private endpoint(pair: number, receiver: boolean, user: TestUser, servers: ServerAddr[]): Endpoint {
    return {
      pair, receiver, user, servers, turn: 0, conn: null, online: false, attempt: 0, churned: false, timer: null, silentSweeps: 0,
      deferred: null, convId: '', floor: 0, above: new Set(), dirty: false, template: null, resendFrom: 0,
    };
  }

  /** Logs `e` in on its current server, catches up (receivers) or resends (senders). */
  private async login(e: Endpoint): Promise<void> {
    const lastSeqs: ConvSeq[] = e.receiver && e.convId ? [{ convId: e.convId, seq: e.floor }] : [];
    e.deferred = [];
    const { conn, ack } = await connectUser(this.host.opts, e.user, {
      server: e.servers[e.turn % e.servers.length]!, connIndex: 2 * e.pair + (e.receiver ? 1 : 0), lastSeqs,
      handlers: {
        onChat: (m) => { if (e.deferred) e.deferred.push(m); else this.onChat(e, m); },
        onAck: (m) => this.onAck(e, m),
        onError: (m) => this.onServerError(e, m.requestId, m.code, m.fatal),
        onClose: (_reason, expected) => this.onClose(e, expected),
      },
    }).catch((err: unknown) => { e.deferred = null; throw err; });
    if (this.closing || !conn.isOpen) {
      conn.destroy();
      e.deferred = null;
      if (this.closing) return;
      throw new LoadError('CONNECTION_LOST', 'the connection closed right after the login');
    }
    e.conn = conn;
    e.online = true;
    e.attempt = 0;
    this.online++;
    this.host.onLogin();
    if (!this.keepalive) this.startKeepalive(this.host.opts.heartbeatMs || ack.heartbeatMs || DEFAULT_HEARTBEAT_MS);
    if (e.receiver) {
      try {
        await this.catchUpOn(e, conn, ack);
      } catch (err) {
        // A lost connection is the close handler's to reconnect; the final catch-up fills the rest.
        this.host.onError(err instanceof LoadError ? err.code : 'CATCHUP_FAILED');
      }
    } else {
      this.resend(e);
    }
    const held = e.deferred ?? [];
    e.deferred = null;
    for (const m of held) this.onChat(e, m);
  }

  /** Delivers the LoginAck's page and fetches the rest with SyncRequests. */
  private async catchUpOn(e: Endpoint, conn: RawConn, ack: LoginAck): Promise<void> {
    for (const m of ack.messages) this.onChat(e, m);
    let more = ack.hasMore && ack.messages.length > 0;
    while (more && conn.isOpen) {
      const acked = e.convId ? [{ convId: e.convId, seq: e.floor }] : [];
      const page = await conn.sync({ acked, limit: 0 });
      for (const m of page.messages) this.onChat(e, m);
      more = page.hasMore && page.messages.length > 0;
    }
  }

  /** Writes every pending message of a sender again, with its original id, in order. */
  private resend(e: Endpoint): void {
    const h = this.host.history;
    const sent = h.sentBy(e.pair);
    while (e.resendFrom < sent && !h.isPending(e.pair, e.resendFrom)) e.resendFrom++;
    for (let m = e.resendFrom; m < sent; m++) {
      if (h.isPending(e.pair, m)) e.conn!.write(e.template!.build(m, h.intendedOf(e.pair, m)));
    }
  }

  private onClose(e: Endpoint, expected: boolean): void {
    // Before the login completed, the login's caller retries; only a live session reconnects here.
    if (!e.online) return;
    this.online--;
    e.online = false;
    e.conn = null;
    if (this.closing || (expected && !e.churned)) return;
    const churn = e.churned;
    e.churned = false;
    if (!churn) {
      this.host.onError('CONNECTION_LOST');
      e.turn++; // fail over to the next server, as im-client does
    }
    this.scheduleReconnect(e, churn ? Math.random() * 200 : reconnectDelayMs(++e.attempt));
  }

  private scheduleReconnect(e: Endpoint, delayMs: number): void {
    if (this.closing) return;
    e.timer = setTimeout(() => {
      e.timer = null;
      this.reconnectCount++;
      this.login(e).catch((err: unknown) => {
        this.host.onError(err instanceof LoadError ? err.code : 'RECONNECT_FAILED');
        e.turn++;
        this.scheduleReconnect(e, reconnectDelayMs(++e.attempt));
      });
    }, delayMs);
  }

  // ---------------------------------------------------------------- frames

  private onChat(e: Endpoint, m: ChatMessage): void {
    if (!e.receiver) return;
    if (!e.convId) e.convId = m.convId;
    if (m.convId === e.convId && m.seq > e.floor) {
      if (m.seq === e.floor + 1) {
        e.floor = m.seq;
        while (e.above.delete(e.floor + 1)) e.floor++;
      } else {
        e.above.add(m.seq);
      }
      if (!e.dirty) {
        e.dirty = true;
        this.dirty.push(e);
      }
    }
    this.host.onDeliver(e.pair, m.convId, m.seq, m.msgBody);
  }

  private onAck(e: Endpoint, m: { kind: number; clientMsgId: string; convId: string; seq: number }): void {
    if (m.kind !== AckKind.STORED || e.receiver) return;
    const msgNo = msgNoOf(m.clientMsgId);
    if (msgNo < 0) return;
    this.host.onAck(e.pair, msgNo, m.convId, m.seq);
  }

  private onServerError(e: Endpoint, requestId: string, code: string, fatal: boolean): void {
    const msgNo = e.receiver ? -1 : msgNoOf(requestId);
    if (msgNo >= 0 && !fatal) this.host.onSendFailed(e.pair, msgNo, code, true);
    else this.host.onError(code);
  }

  /**
   * Keep-alive, as a client must: swept every half interval, a connection that wrote nothing for
   * two sweeps sends a heartbeat (so at most 1.5 intervals pass without a write). Senders are
   * silent during the drain and the catch-up, receivers whenever no message arrives; without this
   * the server's idle timeout would close them.
   */
  private startKeepalive(heartbeatMs: number): void {
    this.keepalive = setInterval(() => {
      for (const e of this.senders) this.beat(e);
      for (const e of this.receivers) this.beat(e);
    }, Math.max(100, heartbeatMs / 2));
  }

  private beat(e: Endpoint): void {
    const c = e.conn;
    if (!c || !e.online) return;
    if (c.wrote) {
      c.wrote = false;
      e.silentSweeps = 0;
    } else if (++e.silentSweeps >= 2) {
      c.heartbeat();
      c.wrote = false;
      e.silentSweeps = 0;
    }
  }

  /** One DELIVERED ack per receiver whose floor moved: the highest contiguous seq. */
  private flushAcks(): void {
    for (const e of this.dirty) {
      e.dirty = false;
      if (e.online && e.floor > 0) e.conn!.send(MessageType.ACK, { kind: AckKind.DELIVERED, convId: e.convId, seq: e.floor });
    }
    this.dirty.length = 0;
  }
}
