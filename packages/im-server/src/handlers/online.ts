/**
 * OnlineMessage (type 4): login (ONLINE) and logout (OFFLINE), seed.md §3.3.
 *
 * Login runs as a list of small named steps (as aedes does): authenticate, claim the local
 * session (kicking an older one on the same platform), record the location (kicking one on
 * another instance), catch up, reply. Pushes that arrive meanwhile are held and written after
 * the reply; frames the client pipelines behind its login wait in the dispatcher's inbox.
 */
import {
  ImError, MessageType, OnlineKind, RequestError, type OnlineMessage,
} from '@hxim/im-common';
import { Pause, type Connection } from '../connection';
import type { ServerContext } from '../context';
import { newToken, tokenHash } from '../auth/tokens';
import { applyClientCursors, missedPage, pageBytes } from '../catchup';
import { chatFrame, toChatMessage } from '../chat-frame';
import { defineHandler } from './handler';
import { MAX_LOGIN_NOTICES, noticeMessage } from './notify';

/** Most messages a seed-mode client is sent at login (it cannot page; the rest come next time). */
const SEED_CATCHUP_MAX = 10_000;

interface Identity {
  userId: number;
  userName: string;
  /** Token to return in LoginAck ("" for open mode). */
  token: string;
  tokenExpiresAt: number;
}

/**
 * Step 0: refuse an account or address that failed too often lately (limits/login-throttle.ts),
 * before any store lookup or scrypt. Token logins are throttled by address only.
 */
function throttle(ctx: ServerContext, conn: Connection, msg: OnlineMessage): void {
  if (ctx.opts.auth === 'open') return;
  try {
    ctx.throttle.check(msg.token ? '' : msg.userName, conn.remoteAddress);
  } catch (err) {
    ctx.stats.loginsThrottled++;
    throw err;
  }
}

/** Records a failed login against the account and the address. */
function failed(ctx: ServerContext, conn: Connection, msg: OnlineMessage): void {
  ctx.stats.loginFailures++;
  ctx.throttle.fail(msg.token ? '' : msg.userName, conn.remoteAddress);
}

/** Step 1: who is this? Throws a fatal ImError when the credentials do not hold. */
async function authenticate(ctx: ServerContext, conn: Connection, msg: OnlineMessage): Promise<Identity> {
  const now = Date.now();
  if (ctx.opts.auth === 'open') {
    if (!Number.isSafeInteger(msg.userId) || msg.userId <= 0) {
      throw new ImError('BAD_REQUEST', 'OnlineMessage.userId must be a positive integer below 2^53', { fatal: true });
    }
    return { userId: msg.userId, userName: '', token: '', tokenExpiresAt: 0 };
  }
  if (msg.token) {
    const rec = await ctx.store.accounts.findToken(tokenHash(msg.token), now);
    if (!rec) {
      failed(ctx, conn, msg);
      throw new ImError('BAD_TOKEN', 'the session token is unknown or expired; log in with your password', { fatal: true });
    }
    return { userId: rec.userId, userName: msg.userName, token: msg.token, tokenExpiresAt: rec.expiresAt };
  }
  if (msg.userName && msg.password) {
    const acc = await ctx.store.accounts.findByName(msg.userName);
    // Verify even for unknown names would cost an scrypt; refusing fast leaks only existence,
    // which RegisterRequest (USER_EXISTS) reveals anyway.
    if (!acc || !(await ctx.hasher.verify(msg.password, acc.passwordHash))) {
      failed(ctx, conn, msg);
      throw new ImError('BAD_CREDENTIALS', 'wrong user name or password', { fatal: true });
    }
    const token = newToken();
    const expiresAt = now + ctx.opts.tokenTtlMs;
    await ctx.store.accounts.saveToken(tokenHash(token), acc.userId, expiresAt);
    return { userId: acc.userId, userName: acc.userName, token, tokenExpiresAt: expiresAt };
  }
  throw new ImError('AUTH_REQUIRED',
    'this server requires an account: log in with userName + password or a token (or start it with --auth open)', { fatal: true });
}

/** Step 2: bind the identity to this connection and replace an older local session. */
function claimSession(ctx: ServerContext, conn: Connection, id: Identity, msg: OnlineMessage): void {
  conn.userId = id.userId;
  conn.platform = msg.userPlatformId;
  conn.seedMode = msg.protocolVersion < 1;
  conn.tokenHash = id.token ? tokenHash(id.token) : '';
  conn.holdPushes();
  const old = ctx.sessions.add(conn);
  if (old) ctx.router.kickLocal(old, `logged in again on platform ${conn.platform} from ${conn.remoteAddress}`);
  ctx.users.remember(id.userId);
}

/** Step 3: record the location; a session of the same platform on another instance is kicked. */
async function locate(ctx: ServerContext, conn: Connection): Promise<void> {
  const loc = { userId: conn.userId, platform: conn.platform, instanceId: ctx.instanceId, connId: conn.id };
  const prev = await ctx.presence.register(loc, ctx.opts.presenceTtlMs);
  if (prev && prev.connId !== conn.id && prev.instanceId !== ctx.instanceId) {
    ctx.router.kickRemote(prev, `logged in again on platform ${conn.platform} elsewhere`).catch((err: unknown) => {
      conn.log.warn({ err: String(err) }, 'could not kick the previous session on another instance');
    });
  }
}

/** Step 4+5 for a protocol client: catch-up page and LoginAck. */
async function replyModern(ctx: ServerContext, conn: Connection, id: Identity, msg: OnlineMessage): Promise<void> {
  await applyClientCursors(ctx, conn.userId, msg.lastSeqs);
  // Unread counts (last seq - read seq, issue 4) and the stored notices waiting for an ack are
  // read alongside the catch-up page; the notices follow the LoginAck (docs/protocol.md §9.6).
  const [page, counts, notices] = await Promise.all([
    missedPage(ctx, conn.userId, ctx.opts.syncPage), ctx.convs.unreadAtLogin(conn.userId),
    ctx.friends.pendingNotices(conn.userId, MAX_LOGIN_NOTICES),
  ]);
  conn.state = 'online';
  conn.send(MessageType.LOGIN_ACK, {
    userId: id.userId, userName: id.userName, token: id.token, tokenExpiresAt: id.tokenExpiresAt,
    instanceId: ctx.instanceId, serverTime: Date.now(), heartbeatMs: ctx.opts.heartbeatMs,
    idleTimeoutMs: ctx.opts.idleTimeoutMs, messages: page.messages.map(toChatMessage), hasMore: page.hasMore,
    totalUnread: counts.totalUnread, unread: counts.unread,
  });
  for (const n of notices) conn.send(MessageType.NOTIFICATION, noticeMessage(n));
}

/** Step 4+5 for a seed client: no reply frame exists, so missed chats are simply pushed. */
async function replySeed(ctx: ServerContext, conn: Connection): Promise<void> {
  conn.state = 'online';
  let sent = 0;
  while (sent < SEED_CATCHUP_MAX) {
    const page = await missedPage(ctx, conn.userId, Math.min(ctx.opts.syncPage * 5, SEED_CATCHUP_MAX - sent));
    for (const c of page.messages) conn.write(chatFrame(c));
    sent += page.messages.length;
    if (page.messages.length === 0) break;
    // Seed clients cannot ack: what was written counts as delivered (docs/protocol.md).
    const last = new Map<string, number>();
    for (const c of page.messages) last.set(c.convId, c.seq);
    await ctx.store.chats.advanceAck([...last].map(([convId, seq]) => ({ userId: conn.userId, convId, seq })));
    if (!page.hasMore) break;
    // Pages are bounded in bytes; the next one waits until this one is mostly sent, so a
    // large backlog never trips the slow-consumer limit.
    await conn.whenDrained(pageBytes(ctx));
    if (conn.state !== 'online') break;
  }
}

async function login(ctx: ServerContext, conn: Connection, msg: OnlineMessage): Promise<void> {
  if (conn.state !== 'new') throw new RequestError('ALREADY_LOGGED_IN', 'this connection is already logged in');
  conn.state = 'authenticating';
  conn.seedDeclared = msg.protocolVersion < 1;
  conn.pauseReading(Pause.LOGIN);
  let claimed = false;
  try {
    throttle(ctx, conn, msg);
    const id = await authenticate(ctx, conn, msg);
    if (conn.state !== 'authenticating') return; // closed meanwhile
    claimSession(ctx, conn, id, msg);
    claimed = true;
    await locate(ctx, conn);
    if (conn.seedMode) await replySeed(ctx, conn);
    else await replyModern(ctx, conn, id, msg);
    ctx.stats.logins++;
    conn.log.info({ platform: conn.platform, seed: conn.seedMode }, 'logged in');
    conn.releasePushes();
    ctx.drainInbox(conn);
  } catch (err) {
    if (claimed && ctx.sessions.remove(conn)) {
      void ctx.presence.unregister({ userId: conn.userId, platform: conn.platform, instanceId: ctx.instanceId, connId: conn.id })
        .catch(() => undefined);
    }
    conn.state = 'new';
    // Every login failure closes the connection; the error keeps its retry hint (cause).
    throw err instanceof ImError && !err.fatal ? new ImError(err.code, err.message, { fatal: true, cause: err }) : err;
  } finally {
    conn.resumeReading(Pause.LOGIN);
  }
}

async function logout(ctx: ServerContext, conn: Connection): Promise<void> {
  if (conn.state !== 'online') {
    conn.close('logout before login');
    return;
  }
  if (conn.tokenHash) await ctx.store.accounts.deleteToken(conn.tokenHash).catch(() => undefined);
  conn.log.info('logged out');
  conn.close('logout');
}

/** Login and logout. */
export const onlineHandler = defineHandler({
  type: MessageType.ONLINE,
  beforeLogin: true,
  handle(ctx, conn, msg) {
    return msg.msgType === OnlineKind.OFFLINE ? logout(ctx, conn) : login(ctx, conn, msg);
  },
});
