/**
 * The client's decisions as plain functions, so they are testable without sockets: what a login
 * says, which heartbeat is in effect, and what follows a lost or failed session.
 */
import { OnlineKind, type ConvSeq, type OnlineMessage } from '@hxim/im-common';
import { ClientError, ServerError, isAuthError } from './errors';
import { DEFAULT_HEARTBEAT_MS, DEFAULT_IDLE_TIMEOUT_MS, type ResolvedOptions } from './options';
import { randomId } from './requests';

/**
 * The OnlineMessage ONLINE of a login: the session token once we have one (cheap re-login), else
 * the configured credentials; always protocolVersion 1 and our cursors (catch-up starts after them).
 */
export function loginMessage(opts: ResolvedOptions, token: string, lastSeqs: ConvSeq[]): Partial<OnlineMessage> {
  const msg: Partial<OnlineMessage> = {
    id: randomId(), msgType: OnlineKind.ONLINE, protocolVersion: 1, userPlatformId: opts.platform,
    timeStamp: Date.now(), lastSeqs,
  };
  const auth = opts.auth;
  if (token) msg.token = token;
  else if ('token' in auth) msg.token = auth.token;
  else if ('userName' in auth) { msg.userName = auth.userName; msg.password = auth.password; }
  else msg.userId = auth.userId;
  return msg;
}

/** The heartbeat interval: the caller's, capped by the server's; else the server's; else 5 s. */
export function heartbeatFor(opts: ResolvedOptions, serverHeartbeatMs: number): number {
  const server = serverHeartbeatMs > 0 ? serverHeartbeatMs : 0;
  const mine = opts.heartbeatMs;
  if (mine !== undefined) return server > 0 ? Math.min(mine, server) : mine;
  return server || DEFAULT_HEARTBEAT_MS;
}

/** The read-idle timeout: the caller's, else max(15 s, 3 heartbeats). */
export function idleTimeoutFor(opts: ResolvedOptions, heartbeatMs: number): number {
  return opts.idleTimeoutMs ?? Math.max(DEFAULT_IDLE_TIMEOUT_MS, 3 * heartbeatMs);
}

/** What follows a lost or failed session. */
export type LossAction =
  /** SESSION_REPLACED: another login took our slot. Emit 'kicked', close, never reconnect. */
  | { kind: 'kicked'; error: ServerError }
  /** Credentials refused, or reconnect disabled: close. */
  | { kind: 'close'; reason: string }
  /**
   * Reconnect after the backoff, to the next server (fail over); at once for SERVER_DRAINING.
   * A refused session token is dropped and the same server is asked again with the credentials.
   * `minDelayMs` is the server's retryAfterMs (RATE_LIMITED, LOGIN_THROTTLED): the backoff is
   * never shorter than that.
   */
  | { kind: 'reconnect'; immediate: boolean; dropToken: boolean; nextServer: boolean; minDelayMs: number };

/** Decides what follows `err` (the fatal ErrorMessage, or why the connection went). */
export function afterLoss(err: Error, opts: ResolvedOptions, hasToken: boolean): LossAction {
  if (err instanceof ServerError && err.code === 'SESSION_REPLACED') return { kind: 'kicked', error: err };
  if (isAuthError(err)) {
    // A session token we were given expired or was revoked (or this server does not know it):
    // fall back to the configured password or open-mode user id. A configured token has no fallback.
    if (err.code === 'BAD_TOKEN' && hasToken && !('token' in opts.auth)) {
      return { kind: 'reconnect', immediate: true, dropToken: true, nextServer: false, minDelayMs: 0 };
    }
    return { kind: 'close', reason: `login refused: ${err.code}: ${err.message}` };
  }
  if (!opts.reconnect) return { kind: 'close', reason: describe(err) };
  const draining = err instanceof ServerError && err.code === 'SERVER_DRAINING';
  const minDelayMs = err instanceof ServerError && err.retryAfterMs > 0 ? err.retryAfterMs : 0;
  return { kind: 'reconnect', immediate: draining && minDelayMs === 0, dropToken: false, nextServer: true, minDelayMs };
}

/** Errors after which trying the next server (or again later) can help. */
export function isRetryable(err: Error): boolean {
  if (isAuthError(err)) return false;
  if (err instanceof ServerError) return err.code !== 'SESSION_REPLACED';
  if (err instanceof ClientError) return err.code !== 'CLOSED' && err.code !== 'BAD_OPTION';
  return true;
}

/** "CODE: message" for server errors, the message otherwise. */
export function describe(err: Error): string {
  return err instanceof ServerError ? `${err.code}: ${err.message}` : err.message;
}

/** Any thrown value as an Error. */
export function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}
