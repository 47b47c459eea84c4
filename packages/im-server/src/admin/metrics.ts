/**
 * Prometheus metrics (prom-client), one registry per server instance.
 *
 * Hot paths never call prom-client: they bump plain fields of {@link Stats} (stats.ts), and
 * every metric here reads its value in a `collect()` callback at scrape time. The only
 * observations made as things happen are per store *batch* (a histogram of batch durations
 * and sizes), at most one per event-loop turn. Event-loop lag comes from prom-client's default
 * metrics (`nodejs_eventloop_lag_*`, measured with perf_hooks.monitorEventLoopDelay), along
 * with process memory and GC. docs/operations.md lists every metric.
 */
import {
  collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type LabelValues,
} from 'prom-client';
import { MESSAGE_NAMES, type MessageTypeCode } from '@hxim/im-common';
import type { ChatBatcher, ChatStore, CursorBatcher } from '@hxim/business';
import type { Bus, Presence } from '../cluster/ports';
import type { LoginThrottle } from '../limits/login-throttle';
import type { InflightGate } from '../limits/inflight-gate';
import type { FrameScheduler } from '../scheduler';
import type { Stats } from '../stats';
import type { HealthChecker } from './health';

/** What the metrics read at scrape time. */
export interface MetricsSource {
  stats: Stats;
  connections(): number;
  sessions(): number;
  draining(): boolean;
  chats: ChatBatcher;
  cursors: CursorBatcher;
  presence: Presence;
  bus: Bus;
  throttle: LoginThrottle;
  health: HealthChecker;
  scheduler: FrameScheduler;
  gate: InflightGate;
}

const TYPE_NAMES: Array<[number, string]> = Object.entries(MESSAGE_NAMES)
  .map(([code, name]) => [Number(code), name.replace(/Message$/, '').replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase()]);

/** The metrics of one server. */
export class Metrics {
  /** This server's registry (not prom-client's global one: tests run several servers per process). */
  readonly registry = new Registry();
  private readonly batchSeconds: Histogram;
  private readonly batchRows: Histogram;

  constructor(src: MetricsSource) {
    const r = this.registry;
    const s = src.stats;
    collectDefaultMetrics({ register: r });
    const gauge = (name: string, help: string, read: () => number): void => {
      new Gauge({ name, help, registers: [r], collect() { this.set(read()); } });
    };
    const counter = (name: string, help: string, read: () => number): void => {
      new Counter({ name, help, registers: [r], collect() { this.reset(); this.inc(read()); } });
    };
    const labelled = (name: string, help: string, label: string, read: () => Iterable<[string, number]>): void => {
      new Counter({
        name, help, labelNames: [label], registers: [r],
        collect() {
          this.reset();
          for (const [v, n] of read()) this.inc({ [label]: v } as LabelValues<string>, n);
        },
      });
    };
    const labelledGauge = (name: string, help: string, label: string, read: () => Iterable<[string, number]>): void => {
      new Gauge({
        name, help, labelNames: [label], registers: [r],
        collect() {
          this.reset();
          for (const [v, n] of read()) this.set({ [label]: v } as LabelValues<string>, n);
        },
      });
    };
    // Connections and logins.
    gauge('hxim_connections', 'Open client connections.', src.connections);
    gauge('hxim_sessions', 'Logged-in connections.', src.sessions);
    gauge('hxim_draining', '1 while the server drains (SIGTERM).', () => (src.draining() ? 1 : 0));
    counter('hxim_connections_opened_total', 'Client connections accepted.', () => s.connectionsOpened);
    labelled('hxim_connections_rejected_total', 'Connections refused at accept, by reason.', 'reason',
      () => [['full', s.rejectedFull], ['rate', s.rejectedRate], ['draining', s.rejectedDraining]]);
    counter('hxim_tls_handshake_errors_total', 'TLS handshakes that failed or timed out.', () => s.tlsErrors);
    counter('hxim_logins_total', 'Successful logins.', () => s.logins);
    counter('hxim_login_failures_total', 'Failed logins (bad password or token).', () => s.loginFailures);
    counter('hxim_logins_throttled_total', 'Logins refused with LOGIN_THROTTLED.', () => s.loginsThrottled);
    labelledGauge('hxim_login_throttle_keys', 'Accounts and addresses currently tracked by the login throttle.', 'kind',
      () => Object.entries(src.throttle.entries));
    // Traffic.
    labelled('hxim_frames_in_total', 'Frames received, by type.', 'type', () => byType(s.framesInByType));
    labelled('hxim_frames_out_total', 'Frames written, by type.', 'type', () => byType(s.framesOutByType));
    counter('hxim_bytes_in_total', 'Bytes received from clients.', () => s.bytesIn);
    counter('hxim_bytes_out_total', 'Bytes written to clients.', () => s.bytesOut);
    counter('hxim_chats_received_total', 'Chat frames received.', () => s.chatsIn);
    counter('hxim_chats_stored_total', 'Chats stored (new).', () => s.chatsStored);
    counter('hxim_chats_duplicate_total', 'Chats answered from the dedup key (resends).', () => s.chatsDuplicate);
    counter('hxim_acks_sent_total', 'STORED acks sent to senders.', () => s.acksSent);
    labelled('hxim_errors_total', 'Errors sent to clients or connections closed, by code.', 'code', () => s.errors);
    counter('hxim_rate_limit_pauses_total', 'Times a connection was paused for exceeding its frame rate.', () => s.ratePauses);
    counter('hxim_frames_deferred_total', 'Frames handled in a later event-loop turn to share time fairly (scheduler.ts).',
      () => src.scheduler.deferred);
    gauge('hxim_backlogged_connections', 'Connections with frames waiting for their turn.', () => src.scheduler.waiting);
    gauge('hxim_server_inflight', 'Requests awaiting a backend, server-wide (limits/inflight-gate.ts).', () => src.gate.inflight);
    gauge('hxim_gate_paused_connections', 'Connections not read because the server is at --max-server-inflight.', () => src.gate.pausedConnections);
    counter('hxim_gate_pauses_total', 'Times a connection was paused at --max-server-inflight.', () => src.gate.pauses);
    counter('hxim_bus_publish_errors_total', 'Failed cross-instance publishes (recipients catch up by seq).', () => s.publishErrors);
    // Queues.
    gauge('hxim_store_queue_depth', 'Chats waiting for a store batch.', () => src.chats.queued);
    gauge('hxim_store_inflight', 'Chats in the batch being committed.', () => src.chats.inFlight);
    gauge('hxim_cursor_queue_depth', 'Cursor moves waiting to be written.', () => src.cursors.pending);
    const bus = src.bus as Bus & { unconfirmed?: number };
    gauge('hxim_bus_unconfirmed', 'Publishes awaiting a broker confirm (0 for the embedded bus).', () => bus.unconfirmed ?? 0);
    // Store batches (ChatBatcher.stats).
    const b = src.chats.stats;
    counter('hxim_store_batches_total', 'Store batches committed.', () => b.batches);
    counter('hxim_store_rows_total', 'Chats in committed batches.', () => b.rows);
    counter('hxim_store_batch_failures_total', 'Store batches that failed.', () => b.failures);
    counter('hxim_store_timeouts_total', 'Chats failed with STORE_TIMEOUT.', () => b.timeouts);
    counter('hxim_store_rejected_full_total', 'Chats refused because the store queue was full.', () => b.rejectedFull);
    gauge('hxim_store_max_batch_seconds', 'Longest store batch so far.', () => b.maxBatchMs / 1000);
    this.batchSeconds = new Histogram({
      name: 'hxim_store_batch_duration_seconds', help: 'Store batch commit time.', registers: [r],
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2],
    });
    this.batchRows = new Histogram({
      name: 'hxim_store_batch_rows', help: 'Chats per store batch.', registers: [r],
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
    });
    // Backends.
    labelledGauge('hxim_backend_up', 'Backend reachability (1 up, 0 down); the store as of its last ping.', 'backend', () => [
      ['store', src.health.lastStore.status === 'up' ? 1 : 0],
      ['presence', src.presence.health === 'up' ? 1 : 0],
      ['bus', src.bus.health === 'up' ? 1 : 0],
    ]);
  }

  /** Records one store batch (see {@link timeChats}). */
  observeBatch(ms: number, rows: number): void {
    this.batchSeconds.observe(ms / 1000);
    this.batchRows.observe(rows);
  }

  /** The Prometheus text exposition. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  /** Content-Type of {@link render}. */
  get contentType(): string {
    return this.registry.contentType;
  }
}

/**
 * `chats` with appendBatch timed: `observe(ms, rows)` runs after each successful batch. Every
 * other member is the original's.
 */
export function timeChats(chats: ChatStore, observe: (ms: number, rows: number) => void): ChatStore {
  const appendBatch: ChatStore['appendBatch'] = async (batch) => {
    const t0 = performance.now();
    const out = await chats.appendBatch(batch);
    observe(performance.now() - t0, batch.length);
    return out;
  };
  return new Proxy(chats, {
    get(target, prop) {
      if (prop === 'appendBatch') return appendBatch;
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

function* byType(counts: readonly number[]): Iterable<[string, number]> {
  for (const [code, name] of TYPE_NAMES) yield [name, counts[code as MessageTypeCode] ?? 0];
}
