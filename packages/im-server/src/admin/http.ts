/**
 * The HTTP admin port (--admin-port, off by default; --admin-host defaults to loopback):
 *
 *   GET /healthz  readiness + liveness, JSON; 200 when ready, 503 otherwise (a backend down, or
 *                 draining: a load balancer stops sending new clients at once)
 *   GET /livez    200 while the process answers (for restart decisions: never 503 for a
 *                 backend outage, which a restart would not fix)
 *   GET /metrics  Prometheus text (admin/metrics.ts)
 *
 * Small and strict: GET/HEAD only, short timeouts, no request bodies read.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { HealthChecker } from './health';
import type { Metrics } from './metrics';

/** The admin HTTP server. */
export class AdminServer {
  private readonly server: http.Server;

  constructor(private readonly health: HealthChecker, private readonly metrics: Metrics, private readonly log: Logger) {
    this.server = http.createServer((req, res) => {
      this.route(req, res).catch((err: unknown) => {
        this.log.error({ err }, 'admin request failed');
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('internal error\n');
      });
    });
    this.server.requestTimeout = 5000;
    this.server.headersTimeout = 5000;
    this.server.keepAliveTimeout = 5000;
    this.server.maxHeadersCount = 50;
  }

  /** Binds; resolves with the bound port. */
  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        this.server.on('error', (err) => this.log.error({ err }, 'admin listener error'));
        resolve((this.server.address() as AddressInfo).port);
      });
    });
  }

  /** Stops listening and closes idle and active admin connections. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    switch (path) {
      case '/healthz': {
        const report = await this.health.report();
        send(res, report.ready ? 200 : 503, 'application/json', JSON.stringify(report) + '\n');
        return;
      }
      case '/livez':
        send(res, 200, 'application/json', '{"live":true}\n');
        return;
      case '/metrics':
        send(res, 200, this.metrics.contentType, await this.metrics.render());
        return;
      default:
        send(res, 404, 'text/plain', 'not found: try /healthz, /livez or /metrics\n');
    }
  }
}

function send(res: http.ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
