/**
 * The parent ↔ worker protocol over child_process IPC (JSON). The parent drives every worker
 * through the same named calls; each worker answers each call once and, in between, reports
 * progress ticks once a second.
 */
import type { LoadOptions } from './options';

/** Parent → worker: who you are and what to run. */
export interface InitMessage {
  t: 'init';
  opts: LoadOptions;
  /** This worker's number, 0-based. */
  worker: number;
  /** Worker count. */
  workers: number;
}

/** Parent → worker: run a named step of the scenario. */
export interface CallMessage {
  t: 'call';
  id: number;
  method: string;
  arg?: unknown;
}

/** Worker → parent: the answer to a call. */
export interface ReplyMessage {
  t: 'reply';
  id: number;
  value?: unknown;
  error?: string;
}

/** Cumulative counters a worker reports every second. */
export interface TickCounters {
  /** The worker's monotonic clock when it took these counters (µs). */
  atUs: number;
  /** Open, logged-in connections. */
  connections: number;
  sent: number;
  acked: number;
  delivered: number;
  /** Logins completed (login-storm, reconnects). */
  logins: number;
  /** Errors by code since the start. */
  errors: Record<string, number>;
  /** The live latency histogram (since measuring started; before, the warm-up's), encoded. */
  hist: string;
}

/** Worker → parent: progress. */
export interface TickMessage {
  t: 'tick';
  worker: number;
  c: TickCounters;
}

/** Worker → parent: ready for calls (after init). */
export interface ReadyMessage {
  t: 'ready';
  worker: number;
}

/** Anything the parent receives. */
export type FromWorker = ReplyMessage | TickMessage | ReadyMessage;
/** Anything a worker receives. */
export type ToWorker = InitMessage | CallMessage;

/** The step handlers a scenario's worker side exposes. */
export interface WorkerSide {
  /** Named steps, called by the parent in the order its scenario defines. */
  calls: Record<string, (arg: unknown) => Promise<unknown>>;
  /** Current counters for the progress tick. */
  tick(): TickCounters;
}

/** Adds `n` to errors[code]. */
export function countError(errors: Map<string, number>, code: string, n = 1): void {
  errors.set(code, (errors.get(code) ?? 0) + n);
}

/** Errors map as a plain (null-prototype) record for JSON. */
export function errorsRecord(errors: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = Object.create(null);
  for (const [k, v] of errors) out[k] = v;
  return out;
}

/** Adds several error records. */
export function mergeErrors(parts: ReadonlyArray<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = Object.create(null);
  for (const p of parts) for (const [k, v] of Object.entries(p)) out[k] = (out[k] ?? 0) + v;
  return out;
}
