/**
 * An error that tells the client when to try again: its `retryAfterMs` travels in
 * ErrorMessage.retryAfterMs (proto/Session.proto) next to the stable code.
 */
import { ImError, type ErrorCode } from '@hxim/im-common';

/** A refusal with a retry hint (RATE_LIMITED, LOGIN_THROTTLED). */
export class RetryLaterError extends ImError {
  /** Milliseconds after which the same request may succeed. */
  readonly retryAfterMs: number;

  constructor(code: ErrorCode, message: string, retryAfterMs: number, opts: { fatal?: boolean; cause?: unknown } = {}) {
    super(code, message, opts);
    this.retryAfterMs = Math.max(0, Math.ceil(retryAfterMs));
  }
}

/** The retry hint of `err` or of the error it wraps (`cause`), else 0. */
export function retryAfterOf(err: unknown): number {
  for (let e = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof RetryLaterError) return e.retryAfterMs;
  }
  return 0;
}
