/**
 * The client listener: plain TCP, or TLS when a certificate and key are configured
 * (--tls-cert/--tls-key). Both feed accepted sockets to the same connection handling; this
 * module only decides whether a new socket is admitted.
 *
 * Admission, cheapest check first:
 * 1. A hard cap on open sockets (`net.Server.maxConnections` = maxConnections + slack): past it
 *    Node closes new sockets at once. The slack leaves room to tell the next few clients
 *    SERVER_FULL instead of dropping them silently, and bounds sockets that are mid-handshake.
 * 2. The connection rate (a token bucket per listener). Over it, a plain-TCP client gets a
 *    RATE_LIMITED error frame with retryAfterMs and is closed; a TLS client is closed before
 *    the handshake, without a frame, because the handshake is the expensive part of a flood.
 * 3. The server's own check (maxConnections reached, draining): an error frame, then close.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { Logger } from 'pino';
import { encodeFrame, ImError, MessageType } from '@hxim/im-common';
import { ConfigError, type ServerOptions } from './config';
import { TokenBucket } from './limits/token-bucket';
import { RetryLaterError, retryAfterOf } from './limits/retry-later';
import type { Stats } from './stats';

/** Milliseconds a refused socket may take to receive its error frame. */
const REFUSE_FLUSH_MS = 1000;

/** Extra sockets beyond maxConnections that may be open (refusals in flight, handshakes). */
export function socketSlack(maxConnections: number): number {
  return Math.max(64, Math.ceil(maxConnections * 0.05));
}

/** What the listener asks the server. */
export interface ListenerHost {
  /** null to admit, or why not (SERVER_FULL, SERVER_DRAINING). */
  admit(): ImError | null;
  /** Takes over an admitted socket. */
  accept(socket: net.Socket): void;
  readonly stats: Stats;
  readonly log: Logger;
}

/**
 * Reads and checks the PEM files named by the options (null when TLS is off); a ConfigError
 * names the option that is unreadable or unusable.
 */
export function loadTls(opts: Pick<ServerOptions, 'tlsCert' | 'tlsKey'>): { cert: Buffer; key: Buffer } | null {
  if (!opts.tlsCert) return null;
  const read = (k: 'tlsCert' | 'tlsKey'): Buffer => {
    try {
      return fs.readFileSync(opts[k]);
    } catch (err) {
      throw new ConfigError(`option "${k}": cannot read ${JSON.stringify(opts[k])}: ${(err as Error).message}`);
    }
  };
  const creds = { cert: read('tlsCert'), key: read('tlsKey') };
  try {
    tls.createSecureContext(creds);
  } catch (err) {
    throw new ConfigError(`options "tlsCert"/"tlsKey": not a usable PEM certificate and matching key: ${(err as Error).message}`);
  }
  return creds;
}

/** The client-facing server socket. */
export class ClientListener {
  /** The underlying server (net.Server or tls.Server). */
  readonly server: net.Server;
  /** True when clients must speak TLS. */
  readonly tls: boolean;
  private readonly bucket: TokenBucket | null;

  /** @param creds from {@link loadTls}; null for plain TCP */
  constructor(private readonly opts: ServerOptions, private readonly host: ListenerHost,
    creds: { cert: Buffer; key: Buffer } | null) {
    this.bucket = opts.connectRate > 0 ? new TokenBucket(opts.connectRate, opts.connectBurst) : null;
    this.tls = creds !== null;
    if (creds) {
      const srv = tls.createServer({ ...creds, handshakeTimeout: opts.loginTimeoutMs });
      srv.on('connection', (raw: net.Socket) => {
        const wait = this.overRate();
        if (wait > 0) raw.destroy();
      });
      srv.on('secureConnection', (s: tls.TLSSocket) => this.admit(s));
      srv.on('tlsClientError', (err: Error) => {
        host.stats.tlsErrors++;
        host.log.debug({ err: err.message }, 'TLS handshake failed');
      });
      this.server = srv;
    } else {
      this.server = net.createServer({ noDelay: true }, (s) => {
        const wait = this.overRate();
        if (wait > 0) this.refuse(s, new RetryLaterError('RATE_LIMITED',
          `more than ${opts.connectRate} new connections/s; retry in ${wait} ms`, wait, { fatal: true }));
        else this.admit(s);
      });
    }
    this.server.maxConnections = opts.maxConnections + socketSlack(opts.maxConnections);
    this.server.on('drop', () => { host.stats.connectionsRejected++; host.stats.rejectedFull++; });
  }

  /** Binds; resolves once listening. */
  listen(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.opts.port, this.opts.host, () => {
        this.server.off('error', reject);
        this.server.on('error', (err) => this.host.log.error({ err }, 'listener error'));
        resolve();
      });
    });
  }

  /** The bound port. */
  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** Stops accepting (open connections are not touched). */
  close(): void {
    this.server.close();
  }

  /** 0 if a connection may be accepted now, else ms until one may (the attempt is counted). */
  private overRate(): number {
    const wait = this.bucket?.tryTake(Date.now()) ?? 0;
    if (wait > 0) {
      this.host.stats.connectionsRejected++;
      this.host.stats.rejectedRate++;
    }
    return wait;
  }

  private admit(socket: net.Socket): void {
    const refusal = this.host.admit();
    if (refusal) {
      this.host.stats.connectionsRejected++;
      if (refusal.code === 'SERVER_DRAINING') this.host.stats.rejectedDraining++;
      else this.host.stats.rejectedFull++;
      this.refuse(socket, refusal);
    } else this.host.accept(socket);
  }

  /** Writes one fatal error frame and closes; the socket is destroyed if it does not flush. */
  private refuse(socket: net.Socket, err: ImError): void {
    this.host.stats.error(err.code);
    socket.on('error', () => undefined);
    socket.end(encodeFrame(MessageType.ERROR, {
      code: err.code, message: err.message, fatal: true, retryAfterMs: retryAfterOf(err),
    }));
    setTimeout(() => socket.destroy(), REFUSE_FLUSH_MS).unref();
  }
}
