/**
 * Client errors. Two families:
 * - {@link ServerError} (an im-common {@link ImError}): the server said no, in an ErrorMessage frame.
 *   Its `code` is the wire code (docs/protocol.md §Errors).
 * - {@link ClientError}: something the client decided locally (a timeout, a closed client, a bad
 *   option). Its codes never travel on the wire.
 */
import { ImError, type ErrorCode, type ErrorMessage } from '@hxim/im-common';

/** Codes of errors raised by the client itself. */
export type ClientErrorCode =
  /** An option is invalid; the message names it. */
  | 'BAD_OPTION'
  /** A method argument is invalid (e.g. a recipient that is not a positive integer). */
  | 'BAD_ARGUMENT'
  /** The operation needs a logged-in connection and there is none right now. */
  | 'NOT_CONNECTED'
  /** A send was written but its STORED ack did not arrive within `ackTimeoutMs`. */
  | 'ACK_TIMEOUT'
  /** A request (sync, register) was not answered within its timeout. */
  | 'REQUEST_TIMEOUT'
  /** No server could be reached (cause: the last network error). */
  | 'CONNECT_FAILED'
  /** The connection was lost while a request was waiting on it. */
  | 'CONNECTION_LOST'
  /** The client was closed (close(), logout() or a kick) while the operation was pending. */
  | 'CLOSED'
  /** The server sent something the protocol does not allow here. */
  | 'PROTOCOL'
  /** A sequence gap could not be filled by the server; the held messages were released. */
  | 'GAP_UNFILLED';

/** An error decided by the client, with a stable {@link ClientErrorCode}. */
export class ClientError extends Error {
  /** Stable code; tests and callers switch on it. */
  readonly code: ClientErrorCode;

  constructor(code: ClientErrorCode, message: string, opts: { cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'ClientError';
    this.code = code;
  }
}

/** An ErrorMessage from the server, as an {@link ImError} whose `code` is the wire code. */
export class ServerError extends ImError {
  /** The failed request's id (a chat's clientMsgId), or "" for connection-level errors. */
  readonly requestId: string;
  /** Type code of the frame the server refused, when it said. */
  readonly refType: number;
  /** The server's hint for when to retry (e.g. RATE_LIMITED), 0 if none. */
  readonly retryAfterMs: number;

  constructor(msg: ErrorMessage) {
    // A newer server may send a code this build does not know; keep the text as is.
    super((msg.code || 'INTERNAL') as ErrorCode, msg.message || msg.code || 'server error', { fatal: msg.fatal });
    this.requestId = msg.requestId;
    this.refType = msg.refType;
    this.retryAfterMs = msg.retryAfterMs;
  }
}

/** Wire codes after which logging in again with the same credentials cannot succeed. */
const AUTH_CODES: ReadonlySet<string> = new Set([
  'AUTH_REQUIRED', 'BAD_CREDENTIALS', 'BAD_TOKEN', 'BAD_USERNAME', 'BAD_PASSWORD', 'UNKNOWN_USER',
]);

/** True for a server error that rejects the credentials themselves (do not retry blindly). */
export function isAuthError(err: unknown): err is ServerError {
  return err instanceof ServerError && AUTH_CODES.has(err.code);
}
