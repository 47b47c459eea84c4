/**
 * RegisterRequest (type 7): creates an account. The password is hashed with scrypt in the libuv
 * pool (auth/password.ts); only the hash is stored.
 */
import { MessageType, RequestError } from '@hxim/im-common';
import { defineHandler } from './handler';

const USER_NAME_RE = /^[A-Za-z0-9_.-]{3,32}$/;
/** Shortest accepted password. */
export const MIN_PASSWORD = 6;
/** Longest accepted password (scrypt cost does not depend on it, but the frame does). */
export const MAX_PASSWORD = 128;

/** Checks a password's length; throws BAD_PASSWORD. */
export function checkPassword(password: string): void {
  if (password.length < MIN_PASSWORD || password.length > MAX_PASSWORD) {
    throw new RequestError('BAD_PASSWORD', `a password must be ${MIN_PASSWORD} to ${MAX_PASSWORD} characters`);
  }
}

/** Registers accounts. */
export const registerHandler = defineHandler({
  type: MessageType.REGISTER,
  beforeLogin: true,
  async handle(ctx, conn, msg) {
    if (ctx.opts.auth === 'open') {
      throw new RequestError('NOT_ALLOWED', 'this server runs with --auth open: there are no accounts, log in with a user id');
    }
    if (!USER_NAME_RE.test(msg.userName)) {
      throw new RequestError('BAD_USERNAME', 'a user name is 3-32 characters: letters, digits, ".", "_" or "-"');
    }
    checkPassword(msg.password);
    conn.beginWork();
    try {
      const hash = await ctx.hasher.hash(msg.password);
      const account = await ctx.store.accounts.createAccount(msg.userName, hash);
      ctx.users.remember(account.userId);
      conn.log.info({ userId: account.userId, userName: account.userName }, 'account registered');
      conn.send(MessageType.REGISTER_ACK, { requestId: msg.requestId, userId: account.userId, userName: account.userName });
    } finally {
      conn.endWork();
    }
  },
});
