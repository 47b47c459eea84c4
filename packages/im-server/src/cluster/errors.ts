/**
 * Cluster backend errors. Everything the presence and bus adapters reject with is a
 * {@link ClusterError}, a BackendError from '@hxim/im-common' with a stable code, the backend it
 * came from and a machine-readable reason, with the driver's error chained as `cause`.
 */
import { BackendError } from '@hxim/im-common';

/** Which backend failed. */
export type ClusterBackend = 'redis' | 'rabbitmq' | 'memory';

/**
 * Why it failed.
 * - unavailable: not connected (reconnecting) or the connection dropped mid-command;
 * - timeout: no reply / confirm in time;
 * - unroutable: the target instance has no queue (bus only);
 * - overloaded: a bounded buffer is full;
 * - nacked: the broker refused the message;
 * - closed: this client was closed.
 */
export type ClusterErrorReason = 'unavailable' | 'timeout' | 'unroutable' | 'overloaded' | 'nacked' | 'closed';

/**
 * A presence or bus operation failed. Code STORE_TIMEOUT for timeouts, STORE_UNAVAILABLE
 * otherwise (im-common has no dedicated cluster codes yet).
 */
export class ClusterError extends BackendError {
  /** The backend that failed. */
  readonly backend: ClusterBackend;
  /** Why; see {@link ClusterErrorReason}. */
  readonly reason: ClusterErrorReason;

  constructor(backend: ClusterBackend, reason: ClusterErrorReason, message: string, cause?: unknown) {
    super(reason === 'timeout' ? 'STORE_TIMEOUT' : 'STORE_UNAVAILABLE', `${backend}: ${message}`, { cause });
    this.backend = backend;
    this.reason = reason;
  }
}

/** Wraps an ioredis error (or anything thrown) in a ClusterError; ClusterErrors pass through. */
export function redisError(op: string, err: unknown): ClusterError {
  if (err instanceof ClusterError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  const reason: ClusterErrorReason = /timed out/i.test(msg) ? 'timeout' : 'unavailable';
  return new ClusterError('redis', reason, `${op} failed: ${msg}`, err);
}
