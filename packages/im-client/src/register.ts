/**
 * Account registration over a short-lived connection: RegisterRequest → RegisterAck or
 * ErrorMessage (docs/protocol.md §Register). Allowed before login, so no credentials are needed.
 */
import type * as tls from 'node:tls';
import { MessageType, type RegisterAck } from '@hxim/im-common';
import { ClientError, ServerError } from './errors';
import {
  DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_HEARTBEAT_MS, DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_LOGIN_TIMEOUT_MS,
  DEFAULT_MAX_FRAME_BYTES, formatAddress, type ServerAddress,
} from './options';
import { randomId } from './requests';
import { Connection } from './transport';

/** Options of {@link register}. */
export interface RegisterOptions {
  /** TLS as in ClientOptions.tls. Default false. */
  tls?: tls.ConnectionOptions | boolean;
  /** Default {@link DEFAULT_CONNECT_TIMEOUT_MS}. */
  connectTimeoutMs?: number;
  /** How long to wait for the answer (password hashing is slow on purpose). Default {@link DEFAULT_LOGIN_TIMEOUT_MS}. */
  timeoutMs?: number;
  /** Local address to bind. */
  localAddress?: string;
}

/** The new account. */
export interface RegisterResult {
  userId: number;
  userName: string;
}

/**
 * Creates an account. Rejects with a {@link ServerError} (USER_EXISTS, BAD_USERNAME,
 * BAD_PASSWORD, ...) or a {@link ClientError} (CONNECT_FAILED, REQUEST_TIMEOUT, CONNECTION_LOST).
 */
export async function register(
  server: ServerAddress, userName: string, password: string, opts: RegisterOptions = {},
): Promise<RegisterResult> {
  const conn = await Connection.open({
    address: server,
    connectTimeoutMs: opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
    tls: opts.tls === true ? {} : opts.tls || undefined,
    localAddress: opts.localAddress,
  });
  // Heartbeats keep the server's idle timer happy while it hashes the password.
  conn.keepalive(DEFAULT_HEARTBEAT_MS, DEFAULT_IDLE_TIMEOUT_MS);
  const requestId = randomId();
  const timeoutMs = opts.timeoutMs ?? DEFAULT_LOGIN_TIMEOUT_MS;
  try {
    const ack = await new Promise<RegisterAck>((resolve, reject) => {
      const timer = setTimeout(() => reject(new ClientError('REQUEST_TIMEOUT',
        `no answer to the registration within ${timeoutMs} ms from ${formatAddress(server)}`)), timeoutMs);
      conn.on('frame', (f) => {
        if (f.type === MessageType.REGISTER_ACK && f.msg.requestId === requestId) {
          clearTimeout(timer);
          resolve(f.msg);
        } else if (f.type === MessageType.ERROR && (f.msg.requestId === requestId || f.msg.fatal)) {
          clearTimeout(timer);
          reject(new ServerError(f.msg));
        }
      });
      conn.on('close', (reason) => {
        clearTimeout(timer);
        reject(new ClientError('CONNECTION_LOST', `registration interrupted: ${reason.message}`, { cause: reason.error }));
      });
      conn.write(MessageType.REGISTER, { requestId, userName, password });
    });
    return { userId: ack.userId, userName: ack.userName || userName };
  } finally {
    conn.destroy('registration done');
  }
}
