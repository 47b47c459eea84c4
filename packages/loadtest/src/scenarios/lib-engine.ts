/**
 * The im-client chat engine: one ImClient per user. The client library does login, token
 * re-login, catch-up, dedup by (convId, seq), ordering, DELIVERED acks, heartbeats and resends;
 * what reaches 'message' is exactly what an application would see, so the history checker counts
 * arrival order as application order here. Costlier per message than the raw engine (a promise
 * and an ack timer per send, an object per frame): measure both with `--client lib|raw`.
 */
import { ImClient, ServerError, type ClientAuth, type ClientOptions } from '@hxim/im-client';
import type { ChatMessage } from '@hxim/im-common';
import { sourceAddressFor } from '../addresses';
import { clientMsgId, makeBody } from '../body';
import { runPool } from '../clock';
import type { ServerAddr } from '../options';
import { makeUser, type TestUser } from '../users';
import { pairServers, type ChatEngine, type EngineHost } from './engine';

/** In-flight sends per ImClient; the server pauses reading past its own limit (512). */
export const LIB_MAX_INFLIGHT = 512;
/** ACK_TIMEOUT of the library: long, so a fault run reports unacked sends instead of failing them. */
export const LIB_ACK_TIMEOUT_MS = 120_000;

interface LibEndpoint { pair: number; user: TestUser; servers: ServerAddr[]; connIndex: number; client: ImClient | null }

/** See the file comment. */
export class LibEngine implements ChatEngine {
  private readonly senders: LibEndpoint[] = [];
  private readonly receivers: LibEndpoint[] = [];
  private online = 0;
  private reconnectCount = 0;
  private closing = false;

  /** Pairs [start, end) of the run. */
  constructor(private readonly host: EngineHost, private readonly start: number, end: number) {
    const o = host.opts;
    for (let p = start; p < end; p++) {
      const s = pairServers(o, p);
      this.senders.push({ pair: p, user: makeUser(o, 2 * p), servers: s.sender, connIndex: 2 * p, client: null });
      this.receivers.push({ pair: p, user: makeUser(o, 2 * p + 1), servers: s.receiver, connIndex: 2 * p + 1, client: null });
    }
  }

  get connections(): number {
    return this.online;
  }

  get reconnects(): number {
    return this.reconnectCount;
  }

  async setup(): Promise<void> {
    const failures: string[] = [];
    const connectAll = (eps: LibEndpoint[]): Promise<void> => runPool(eps.length, this.host.opts.concurrency, async (i) => {
      try {
        await this.connect(eps[i]!, []);
      } catch (err) {
        failures.push(err instanceof Error ? err.message : String(err));
      }
    });
    await connectAll(this.receivers);
    await connectAll(this.senders);
    if (failures.length > 0) {
      throw new Error(`${failures.length} of ${2 * this.senders.length} endpoints could not log in; first: ${failures[0]}`);
    }
  }

  send(pair: number, msgNo: number, intendedUs: number): void {
    const s = this.senders[pair - this.start]!;
    const to = this.receivers[pair - this.start]!.user.userId;
    const body = makeBody({ runId: this.host.opts.runId, sender: pair, msgNo, intendedUs }, this.host.opts.bodyBytes);
    s.client!.send(to, body, { clientMsgId: clientMsgId(msgNo) }).then(
      (ack) => this.host.onAck(pair, msgNo, ack.convId, ack.seq),
      (err: unknown) => {
        const code = (err as { code?: string }).code ?? 'SEND_FAILED';
        this.host.onSendFailed(pair, msgNo, code, err instanceof ServerError);
      },
    );
  }

  churn(): number {
    return 0; // ImClient exposes no way to drop its socket; parseOptions refuses soak with lib.
  }

  async catchUp(): Promise<void> {
    // A new client per receiver, starting after the old one's cursors: its catch-up brings
    // whatever was stored but not pushed.
    await runPool(this.receivers.length, this.host.opts.concurrency, async (i) => {
      const r = this.receivers[i]!;
      const old = r.client;
      const cursors = old?.cursors() ?? [];
      if (old) {
        await old.disconnect();
        this.online--;
      }
      await this.connect(r, cursors);
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const e of [...this.senders, ...this.receivers]) e.client?.close();
  }

  private async connect(e: LibEndpoint, lastSeqs: { convId: string; seq: number }[]): Promise<void> {
    const o = this.host.opts;
    if (o.auth === 'password' && !e.user.registered) {
      const r = await ImClient.register(e.servers[0]!, e.user.userName, o.password, {
        tls: o.tls ? { rejectUnauthorized: false } : false, localAddress: sourceAddressFor(o.sourceAddrs, e.connIndex),
      });
      e.user.userId = r.userId;
      e.user.registered = true;
    }
    const auth: ClientAuth = o.auth === 'open' ? { userId: e.user.userId }
      : e.user.token ? { token: e.user.token } : { userName: e.user.userName, password: o.password };
    const opts: ClientOptions = {
      servers: e.servers, auth, lastSeqs, localAddress: sourceAddressFor(o.sourceAddrs, e.connIndex),
      maxInflight: LIB_MAX_INFLIGHT, ackTimeoutMs: LIB_ACK_TIMEOUT_MS, ackDelayMs: o.ackDelayMs,
      tls: o.tls ? { rejectUnauthorized: false } : false,
    };
    if (o.heartbeatMs > 0) opts.heartbeatMs = o.heartbeatMs;
    const client = new ImClient(opts);
    const isReceiver = e.connIndex % 2 === 1;
    if (isReceiver) client.on('message', (m: ChatMessage) => this.host.onDeliver(e.pair, m.convId, m.seq, m.msgBody));
    client.on('error', (err: Error) => this.host.onError((err as { code?: string }).code ?? 'CLIENT_ERROR'));
    client.on('state', (s) => {
      if (s.state === 'offline' && !this.closing) {
        this.online--;
        this.host.onError('CONNECTION_LOST');
      }
    });
    client.on('login', (info) => {
      this.online++;
      this.host.onLogin();
      if (info.relogin) this.reconnectCount++;
      if (info.token) e.user.token = info.token;
    });
    e.client = client;
    const info = await client.connect();
    e.user.userId = info.userId;
  }
}
