/**
 * Test users: who endpoint i is, and how it logs in.
 *
 * - open mode: user id = userBase + i (fresh per run: conversations start at seq 1).
 * - password mode: "lt_<run base36>_<i>" is registered on first use, then logs in with the
 *   password; every later login (reconnect, catch-up) uses the session token from the LoginAck,
 *   falling back to the password if the token is refused. The scrypt cost stays the server's
 *   business: start it with --scrypt-log-n 10 for load tests.
 */
import type { ConvSeq, LoginAck } from '@hxim/im-common';
import { sourceAddressFor } from './addresses';
import type { LoadOptions, ServerAddr } from './options';
import { LoadError, RawConn, type RawHandlers } from './raw-conn';

/** One test user. Filled in as it registers and logs in. */
export interface TestUser {
  /** Run-wide index (pair sender 2i, receiver 2i+1; idle/login-storm connection i). */
  index: number;
  /** Known after the first login (open mode: from the start). */
  userId: number;
  /** "" in open mode. */
  userName: string;
  /** Latest session token ("" until a password login). */
  token: string;
  /** Registered on the server (password mode). */
  registered: boolean;
}

/** The user name of test user `index` in run `runId` (≤ 32 characters, the server's limit). */
export function userNameOf(runId: number, index: number): string {
  return `lt_${runId.toString(36)}_${index}`;
}

/** A fresh {@link TestUser} for index `index`. */
export function makeUser(o: Pick<LoadOptions, 'auth' | 'runId' | 'userBase'>, index: number): TestUser {
  return o.auth === 'open'
    ? { index, userId: o.userBase + index, userName: '', token: '', registered: true }
    : { index, userId: 0, userName: userNameOf(o.runId, index), token: '', registered: false };
}

/** What {@link connectUser} needs besides the user. */
export interface ConnectSpec {
  server: ServerAddr;
  /** Run-wide connection number, for the source-address rotation. */
  connIndex: number;
  handlers?: RawHandlers;
  /** Catch-up starts after these cursors. */
  lastSeqs?: ConvSeq[];
  /** Log in with the password even when a token is known (login-storm measures this). */
  forcePassword?: boolean;
}

/** A logged-in connection. */
export interface Session { conn: RawConn; ack: LoginAck }

/**
 * Opens a connection and logs `user` in (registering it first in password mode if needed).
 * Updates user.userId and user.token. Rejects with a {@link LoadError}; the connection is closed then.
 */
export async function connectUser(o: LoadOptions, user: TestUser, spec: ConnectSpec): Promise<Session> {
  const conn = await RawConn.open({ server: spec.server, localAddress: sourceAddressFor(o.sourceAddrs, spec.connIndex), tls: o.tls });
  if (spec.handlers) conn.handlers = spec.handlers;
  try {
    if (o.auth === 'open') return { conn, ack: await conn.login({ userId: user.userId, lastSeqs: spec.lastSeqs ?? [] }) };
    if (!user.registered) {
      try {
        const r = await conn.register(user.userName, o.password);
        user.userId = r.userId;
      } catch (err) {
        // A rerun with the same --run-id finds its users already there: log in with the password.
        if (!(err instanceof LoadError && err.code === 'USER_EXISTS')) throw err;
      }
      user.registered = true;
    }
    const ack = await loginPassword(o, user, conn, spec);
    user.userId = ack.userId;
    if (ack.token) user.token = ack.token;
    return { conn, ack };
  } catch (err) {
    conn.destroy();
    throw err;
  }
}

async function loginPassword(o: LoadOptions, user: TestUser, conn: RawConn, spec: ConnectSpec): Promise<LoginAck> {
  const lastSeqs = spec.lastSeqs ?? [];
  if (user.token && !spec.forcePassword) {
    try {
      return await conn.login({ token: user.token, lastSeqs });
    } catch (err) {
      // BAD_TOKEN is fatal on the server side: the connection is gone, so the caller retries.
      if (err instanceof LoadError && err.code === 'BAD_TOKEN') user.token = '';
      throw err;
    }
  }
  return conn.login({ userName: user.userName, password: o.password, lastSeqs });
}
