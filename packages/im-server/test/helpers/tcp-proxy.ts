/**
 * A TCP proxy in the test process, in front of a real service (MariaDB, Redis, RabbitMQ), that
 * a test can cut and restore: the service "goes away" for the server under test while the
 * shared service itself keeps running for everyone else.
 *
 * Modes: 'pass' forwards; 'refuse' resets every connection and refuses new ones (a crashed
 * service: errors come fast); 'blackhole' keeps connections open but forwards nothing (a
 * hung or unreachable service: only timeouts tell).
 */
import * as net from 'node:net';

/** See the module comment. */
export type ProxyMode = 'pass' | 'refuse' | 'blackhole';

/** A cuttable TCP proxy on 127.0.0.1. */
export class TcpProxy {
  private mode: ProxyMode = 'pass';
  private readonly pairs = new Set<[net.Socket, net.Socket | null]>();
  private readonly server: net.Server;

  private constructor(private readonly target: { host: string; port: number }) {
    this.server = net.createServer((client) => this.onClient(client));
  }

  /** Starts a proxy to `target` on an ephemeral port. */
  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    const p = new TcpProxy(target);
    await new Promise<void>((resolve) => p.server.listen(0, '127.0.0.1', resolve));
    return p;
  }

  /** The proxy's port. */
  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** Switches mode; 'refuse' and 'blackhole' affect open connections at once. */
  set(mode: ProxyMode): void {
    this.mode = mode;
    for (const pair of this.pairs) {
      const [client, upstream] = pair;
      if (mode === 'refuse') {
        client.resetAndDestroy();
        upstream?.destroy();
        this.pairs.delete(pair);
      } else if (mode === 'blackhole') {
        client.unpipe();
        upstream?.unpipe();
        client.pause();
        upstream?.pause();
      }
    }
    if (mode === 'pass') {
      // Connections cut off while black-holed are dead: drop them so clients reconnect.
      for (const pair of this.pairs) {
        if (pair[0].isPaused()) {
          pair[0].destroy();
          pair[1]?.destroy();
          this.pairs.delete(pair);
        }
      }
    }
  }

  /** Closes the proxy and every connection through it. */
  async close(): Promise<void> {
    for (const [c, u] of this.pairs) {
      c.destroy();
      u?.destroy();
    }
    this.pairs.clear();
    await new Promise((r) => this.server.close(r));
  }

  private onClient(client: net.Socket): void {
    client.on('error', () => undefined);
    if (this.mode === 'refuse') {
      client.resetAndDestroy();
      return;
    }
    const pair: [net.Socket, net.Socket | null] = [client, null];
    this.pairs.add(pair);
    client.on('close', () => { pair[1]?.destroy(); this.pairs.delete(pair); });
    if (this.mode === 'blackhole') {
      client.pause();
      return;
    }
    const upstream = net.connect(this.target);
    pair[1] = upstream;
    upstream.on('error', () => client.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  }
}
