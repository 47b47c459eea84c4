/**
 * The raw-frame chat engine: a sender and a receiver session per pair on {@link RawSessions}
 * (login, reconnect, keep-alive, cursors, DELIVERED acks, catch-up), a pre-encoded frame template
 * per sender, and resend of unacked messages with their original ids after every login.
 */
import { AckKind, type AckMessage, type ChatMessage, type ErrorMessage } from '@hxim/im-common';
import { ChatTemplate, msgNoOf } from '../body';
import { makeUser } from '../users';
import { pairServers, type ChatEngine, type EngineHost } from './engine';
import { newSession, RawSessions, type Session, type SessionHooks } from './raw-sessions';

interface Endpoint extends Session {
  pair: number;
  receiver: boolean;
  // sender side
  template: ChatTemplate | null;
  resendFrom: number;
}

/** See the file comment. */
export class RawEngine implements ChatEngine, SessionHooks<Endpoint> {
  private readonly senders: Endpoint[] = [];
  private readonly receivers: Endpoint[] = [];
  private readonly sessions: RawSessions<Endpoint>;

  /** Pairs [start, end) of the run. */
  constructor(private readonly host: EngineHost, private readonly start: number, end: number) {
    const o = host.opts;
    this.sessions = new RawSessions(host, this);
    const endpoint = (pair: number, receiver: boolean): Endpoint => {
      const s = pairServers(o, pair);
      const index = 2 * pair + (receiver ? 1 : 0);
      return this.sessions.add({
        ...newSession(makeUser(o, index), receiver ? s.receiver : s.sender, index, receiver),
        pair, receiver, template: null, resendFrom: 0,
      });
    };
    for (let p = start; p < end; p++) {
      this.senders.push(endpoint(p, false));
      this.receivers.push(endpoint(p, true));
    }
  }

  get connections(): number {
    return this.sessions.connections;
  }

  get reconnects(): number {
    return this.sessions.reconnects;
  }

  async setup(): Promise<void> {
    await this.sessions.loginAll(this.receivers);
    for (const s of this.senders) {
      const r = this.receivers[s.pair - this.start]!;
      s.template = new ChatTemplate(this.host.opts.runId, s.pair, r.user.userId, this.host.opts.bodyBytes);
    }
    await this.sessions.loginAll(this.senders);
  }

  send(pair: number, msgNo: number, intendedUs: number): void {
    const s = this.senders[pair - this.start]!;
    if (s.online) s.conn!.write(s.template!.build(msgNo, intendedUs));
    // Offline: resent from resendFrom after the next login.
  }

  churn(fraction: number): number {
    return this.sessions.churn(fraction);
  }

  catchUp(): Promise<void> {
    return this.sessions.catchUp();
  }

  async close(): Promise<void> {
    this.sessions.close();
  }

  // ---------------------------------------------------------------- SessionHooks

  /** Writes every pending message of a sender again, with its original id, in order. */
  afterLogin(e: Endpoint): void {
    if (e.receiver) return;
    const h = this.host.history;
    const sent = h.sentBy(e.pair);
    while (e.resendFrom < sent && !h.isPending(e.pair, e.resendFrom)) e.resendFrom++;
    for (let m = e.resendFrom; m < sent; m++) {
      if (h.isPending(e.pair, m)) e.conn!.write(e.template!.build(m, h.intendedOf(e.pair, m)));
    }
  }

  onChat(e: Endpoint, m: ChatMessage): void {
    this.host.onDeliver(e.pair, m.convId, m.seq, m.msgBody);
  }

  onAck(e: Endpoint, m: AckMessage): void {
    if (m.kind !== AckKind.STORED || e.receiver) return;
    const msgNo = msgNoOf(m.clientMsgId);
    if (msgNo < 0) return;
    this.host.onAck(e.pair, msgNo, m.convId, m.seq);
  }

  onServerError(e: Endpoint, m: ErrorMessage): void {
    const msgNo = e.receiver ? -1 : msgNoOf(m.requestId);
    if (msgNo >= 0 && !m.fatal) this.host.onSendFailed(e.pair, msgNo, m.code, true);
    else this.host.onError(m.code);
  }
}
