/**
 * Backend health for /healthz and for the log: the store is pinged (on demand, coalesced, and
 * every few seconds in the background so an outage is logged even when nobody asks); presence
 * and bus report their own reachability (cluster/ports.ts HealthSource).
 *
 * Readiness = not draining, and every backend up. Liveness = the process answers at all.
 */
import type { Logger } from 'pino';
import type { Store } from '@hxim/business';
import type { Bus, Health, Presence } from '../cluster/ports';

/** Longest a store ping may take before the store counts as down. */
export const STORE_PING_TIMEOUT_MS = 1000;
/** Background store ping period. */
export const STORE_PING_EVERY_MS = 5000;

/** One backend's status in the /healthz body. */
export interface BackendStatus {
  status: Health;
  /** Store only: the ping's round trip. */
  latencyMs?: number;
  /** Why it is down, when known. */
  error?: string;
}

/** The /healthz body. */
export interface HealthReport {
  /** "ok" (ready), "degraded" (a backend is down) or "draining". */
  status: 'ok' | 'degraded' | 'draining';
  live: true;
  ready: boolean;
  instanceId: string;
  uptimeS: number;
  connections: number;
  sessions: number;
  backends: { store: BackendStatus; presence: BackendStatus; bus: BackendStatus };
}

/** What the checker reads from the server. */
export interface HealthSourceDeps {
  instanceId: string;
  store: Store;
  presence: Presence;
  bus: Bus;
  log: Logger;
  startedAt: number;
  connections(): number;
  sessions(): number;
  draining(): boolean;
}

/** Checks and remembers backend health. */
export class HealthChecker {
  private storeStatus: BackendStatus = { status: 'up' };
  private ping: Promise<BackendStatus> | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly deps: HealthSourceDeps) {}

  /** The store's last known status (for metrics; no I/O). */
  get lastStore(): BackendStatus {
    return this.storeStatus;
  }

  /** Starts the background ping. */
  start(everyMs = STORE_PING_EVERY_MS): void {
    this.timer ??= setInterval(() => void this.pingStore(), everyMs);
    this.timer.unref();
  }

  /** Stops the background ping. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Pings the store (one ping at a time; concurrent callers share it). Never rejects. */
  pingStore(): Promise<BackendStatus> {
    this.ping ??= this.doPing().finally(() => { this.ping = null; });
    return this.ping;
  }

  /** A fresh report (pings the store). */
  async report(): Promise<HealthReport> {
    const d = this.deps;
    const store = await this.pingStore();
    const presence: BackendStatus = { status: d.presence.health };
    const bus: BackendStatus = { status: d.bus.health };
    const draining = d.draining();
    const up = store.status === 'up' && presence.status === 'up' && bus.status === 'up';
    return {
      status: draining ? 'draining' : up ? 'ok' : 'degraded',
      live: true,
      ready: up && !draining,
      instanceId: d.instanceId,
      uptimeS: Math.round((Date.now() - d.startedAt) / 1000),
      connections: d.connections(),
      sessions: d.sessions(),
      backends: { store, presence, bus },
    };
  }

  private async doPing(): Promise<BackendStatus> {
    const t0 = performance.now();
    let timer: NodeJS.Timeout | undefined;
    let next: BackendStatus;
    try {
      await Promise.race([
        this.deps.store.ping(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${STORE_PING_TIMEOUT_MS} ms`)), STORE_PING_TIMEOUT_MS);
        }),
      ]);
      next = { status: 'up', latencyMs: Math.round((performance.now() - t0) * 100) / 100 };
    } catch (err) {
      next = { status: 'down', error: err instanceof Error ? err.message : String(err) };
    } finally {
      clearTimeout(timer);
    }
    const was = this.storeStatus.status;
    this.storeStatus = next;
    if (was !== next.status) {
      if (next.status === 'down') {
        this.deps.log.error({ backend: 'store', kind: this.deps.store.kind, error: next.error },
          'store is DOWN: sends fail with STORE_UNAVAILABLE/STORE_TIMEOUT and are not acked until it is back');
      } else this.deps.log.warn({ backend: 'store', kind: this.deps.store.kind }, 'store is back up: writes resume');
    }
    return next;
  }
}
