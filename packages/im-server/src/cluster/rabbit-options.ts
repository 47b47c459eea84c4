/**
 * Options of RabbitBus (STYLE.md practice 8): every default is a named constant, and one parse
 * function validates them all, naming the bad field. The reconnect policy is a function.
 */
import type { ClusterLogger } from './log';
import { stderrLogger } from './log';
import { ClusterKeys, DEFAULT_PREFIX } from './keys';
import {
  backoffDelay, DEFAULT_MAX_DELIVERY_ATTEMPTS, DEFAULT_PREFETCH, DEFAULT_RETRY_DELAY_MS, intOption, rejectUnknown,
  stringOption,
} from './options';

/** First reconnect delay, in ms (doubles per attempt). */
export const DEFAULT_AMQP_RETRY_BASE_MS = 100;
/** Reconnect delay cap, in ms (DESIGN.md: 5 s or less). */
export const DEFAULT_AMQP_RETRY_MAX_MS = 5_000;
/** How long RabbitBus.connect waits for the first connection, in ms. */
export const DEFAULT_AMQP_STARTUP_TIMEOUT_MS = 10_000;
/** A publish not confirmed within this many ms rejects with reason 'timeout'. */
export const DEFAULT_CONFIRM_TIMEOUT_MS = 5_000;
/** Publishes awaiting a confirm before publish() rejects with reason 'overloaded'. */
export const DEFAULT_MAX_UNCONFIRMED = 65_536;
/** AMQP heartbeat in seconds (a silent dead broker is noticed within about twice this). */
export const DEFAULT_AMQP_HEARTBEAT_S = 10;
/**
 * Most envelopes published to one instance in one event-loop turn that share one message. 1 sends
 * one message per envelope (needed while instances older than batching still consume).
 */
export const DEFAULT_MAX_BATCH = 64;
/** x-expires of instance queues: an instance gone this long has its queue deleted. 0 = never. */
export const DEFAULT_QUEUE_EXPIRES_MS = 24 * 3600 * 1000;

/** Options of RabbitBus.connect. */
export interface RabbitBusOptions {
  /** amqp://user:pass@host:port[/vhost]. Required. */
  url: string;
  /** Exchange/queue namespace. Default {@link DEFAULT_PREFIX} ("hxim"). */
  prefix?: string;
  /** Consumer prefetch. Default {@link DEFAULT_PREFETCH}. */
  prefetch?: number;
  /** Deliveries of a failing envelope before it is dropped. Default {@link DEFAULT_MAX_DELIVERY_ATTEMPTS}. */
  maxAttempts?: number;
  /** Base redelivery delay in ms. Default {@link DEFAULT_RETRY_DELAY_MS}. */
  retryDelayMs?: number;
  /** Default {@link DEFAULT_CONFIRM_TIMEOUT_MS}. */
  confirmTimeoutMs?: number;
  /** Default {@link DEFAULT_MAX_UNCONFIRMED}. */
  maxUnconfirmed?: number;
  /** Default {@link DEFAULT_AMQP_RETRY_BASE_MS}. */
  retryBaseMs?: number;
  /** Default {@link DEFAULT_AMQP_RETRY_MAX_MS}; at most 5000. */
  retryMaxMs?: number;
  /** Default {@link DEFAULT_AMQP_STARTUP_TIMEOUT_MS}. */
  startupTimeoutMs?: number;
  /** Default {@link DEFAULT_AMQP_HEARTBEAT_S}; ignored if the URL has ?heartbeat=. */
  heartbeatSec?: number;
  /** Default {@link DEFAULT_QUEUE_EXPIRES_MS}. Must be the same on every instance. */
  queueExpiresMs?: number;
  /** Envelopes per message at most; default {@link DEFAULT_MAX_BATCH}. */
  maxBatch?: number;
  /** Default {@link stderrLogger}. */
  logger?: ClusterLogger;
}

/** Parsed {@link RabbitBusOptions}. */
export type ParsedRabbitBusOptions = Required<RabbitBusOptions>;

/** Validates {@link RabbitBusOptions}; throws a TypeError naming the bad field. */
export function parseRabbitBusOptions(o: RabbitBusOptions): ParsedRabbitBusOptions {
  rejectUnknown(o, [
    'url', 'prefix', 'prefetch', 'maxAttempts', 'retryDelayMs', 'confirmTimeoutMs', 'maxUnconfirmed', 'retryBaseMs',
    'retryMaxMs', 'startupTimeoutMs', 'heartbeatSec', 'queueExpiresMs', 'maxBatch', 'logger',
  ], 'RabbitBus');
  const url = stringOption(o, 'url', '');
  if (!/^amqps?:\/\//.test(url)) throw new TypeError(`cluster option 'url' must be an amqp:// URL (got ${JSON.stringify(url)})`);
  return {
    url,
    prefix: new ClusterKeys(o.prefix ?? DEFAULT_PREFIX).prefix,
    prefetch: intOption(o, 'prefetch', DEFAULT_PREFETCH, 1, 65_535),
    maxAttempts: intOption(o, 'maxAttempts', DEFAULT_MAX_DELIVERY_ATTEMPTS, 1, 1_000),
    retryDelayMs: intOption(o, 'retryDelayMs', DEFAULT_RETRY_DELAY_MS, 0, 60_000),
    confirmTimeoutMs: intOption(o, 'confirmTimeoutMs', DEFAULT_CONFIRM_TIMEOUT_MS, 10, 600_000),
    maxUnconfirmed: intOption(o, 'maxUnconfirmed', DEFAULT_MAX_UNCONFIRMED, 1, 10_000_000),
    retryBaseMs: intOption(o, 'retryBaseMs', DEFAULT_AMQP_RETRY_BASE_MS, 1, 5_000),
    retryMaxMs: intOption(o, 'retryMaxMs', DEFAULT_AMQP_RETRY_MAX_MS, 1, 5_000),
    startupTimeoutMs: intOption(o, 'startupTimeoutMs', DEFAULT_AMQP_STARTUP_TIMEOUT_MS, 10, 600_000),
    heartbeatSec: intOption(o, 'heartbeatSec', DEFAULT_AMQP_HEARTBEAT_S, 0, 3_600),
    queueExpiresMs: intOption(o, 'queueExpiresMs', DEFAULT_QUEUE_EXPIRES_MS, 0, 2 ** 31 - 1),
    maxBatch: intOption(o, 'maxBatch', DEFAULT_MAX_BATCH, 1, 4_096),
    logger: o.logger ?? stderrLogger,
  };
}

/** Reconnect policy: attempt 1, 2, 3… -> base·2^(attempt-1) ms with jitter, at most `cap` (≤ 5 s). */
export function amqpReconnectDelay(attempt: number, base = DEFAULT_AMQP_RETRY_BASE_MS, cap = DEFAULT_AMQP_RETRY_MAX_MS): number {
  return backoffDelay(attempt, base, cap);
}

/** The URL with its credentials masked, for messages and logs. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}
