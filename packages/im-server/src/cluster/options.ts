/**
 * Option validation shared by the cluster adapters (STYLE.md practice 8): each adapter declares
 * DEFAULT_* constants and one parse function built from these helpers, which throw a TypeError
 * naming the bad field.
 */
import type { Health, HealthSource } from './ports';

/** Reads an integer option in [min, max], or `def` when absent. */
export function intOption(src: object, field: string, def: number, min: number, max: number): number {
  const v = (src as Record<string, unknown>)[field];
  if (v === undefined) return def;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new TypeError(`cluster option '${field}' must be an integer in ${min}..${max} (got ${String(v)})`);
  }
  return v;
}

/** Reads a non-empty string option, or `def` when absent. */
export function stringOption(src: object, field: string, def: string): string {
  const v = (src as Record<string, unknown>)[field];
  if (v === undefined) return def;
  if (typeof v !== 'string' || v.length === 0) {
    throw new TypeError(`cluster option '${field}' must be a non-empty string (got ${JSON.stringify(v)})`);
  }
  return v;
}

/** Throws when `src` has a key not in `known` (a typo would otherwise be silently ignored). */
export function rejectUnknown(src: object, known: readonly string[], what: string): void {
  for (const k of Object.keys(src)) {
    if (!known.includes(k)) throw new TypeError(`unknown ${what} option '${k}' (known: ${known.join(', ')})`);
  }
}

/**
 * Capped exponential backoff: `base * 2^(attempt-1)`, at most `cap`, with ±20 % jitter kept under
 * the cap. `attempt` starts at 1.
 */
export function backoffDelay(attempt: number, base: number, cap: number): number {
  const raw = Math.min(cap, base * 2 ** Math.min(30, Math.max(0, attempt - 1)));
  const jittered = raw * (0.8 + Math.random() * 0.4);
  return Math.max(0, Math.min(cap, Math.round(jittered)));
}

/** Holds a health value and notifies listeners of changes; adapters delegate HealthSource to it. */
export class HealthTracker implements HealthSource {
  private value: Health;
  private readonly listeners = new Set<(h: Health) => void>();

  constructor(initial: Health, private readonly onListenerError: (err: unknown) => void) {
    this.value = initial;
  }

  /** Current value. */
  get health(): Health {
    return this.value;
  }

  /** Subscribes to changes. */
  onHealth(listener: (health: Health) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Sets the value; listeners run only on a change, and a throwing listener is reported. */
  set(next: Health): void {
    if (next === this.value) return;
    this.value = next;
    for (const l of [...this.listeners]) {
      try {
        l(next);
      } catch (err) {
        this.onListenerError(err);
      }
    }
  }
}

/** Envelopes handed to a bus handler and not yet settled, per consumer (RabbitMQ prefetch). */
export const DEFAULT_PREFETCH = 256;
/** Deliveries of one envelope before a failing handler's envelope is dropped and logged. */
export const DEFAULT_MAX_DELIVERY_ATTEMPTS = 5;
/** Delay before redelivering after a handler failure, times the attempt number (capped at 5 s). */
export const DEFAULT_RETRY_DELAY_MS = 100;

/** Delay before redelivery attempt `attempt` (1-based) of a failed envelope. */
export function retryDelay(attempt: number, baseMs: number): number {
  return Math.min(5_000, baseMs * attempt);
}
