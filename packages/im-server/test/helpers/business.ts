/**
 * Helpers for the business tests (issue 4) over {@link RawClient}: typed requests that resolve
 * with the response or reject with the ErrorMessage's code, registered users, and making two
 * users friends.
 */
import assert from 'node:assert/strict';
import {
  FriendOp, MessageType, type ErrorMessage, type LoginAck, type MessageByType, type MessageTypeCode, type Notification,
} from '@hxim/im-common';
import { login, register, uname } from './modern';
import type { RawClient } from './raw-client';

let next = 0;

/** An ErrorMessage answer, as a rejection. */
export class ErrorAnswer extends Error {
  constructor(readonly error: ErrorMessage) {
    super(`${error.code}: ${error.message}`);
  }

  /** The stable code. */
  get code(): string {
    return this.error.code;
  }
}

/** Sends `msg` with a fresh requestId; resolves with the `answer` frame carrying it, rejects on an ErrorMessage. */
export async function request<Q extends MessageTypeCode, A extends MessageTypeCode>(
  c: RawClient, type: Q, msg: Partial<MessageByType[Q]>, answer: A, ms = 5000,
): Promise<MessageByType[A]> {
  const requestId = `q${++next}`;
  c.send(type, { ...msg, requestId } as Partial<MessageByType[Q]>);
  const deadline = Date.now() + ms;
  for (;;) {
    const i = c.frames.findIndex((f) => (f.type === answer || f.type === MessageType.ERROR)
      && (f.msg as { requestId?: string }).requestId === requestId);
    if (i >= 0) {
      const [f] = c.frames.splice(i, 1);
      if (f!.type === MessageType.ERROR) throw new ErrorAnswer(f!.msg as ErrorMessage);
      return f!.msg as MessageByType[A];
    }
    if (c.closed) throw new Error(`connection closed waiting for the answer to ${type}`);
    if (Date.now() > deadline) throw new Error(`no answer to ${type} within ${ms} ms; got ${JSON.stringify(c.types())}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Asserts that `p` rejects with an ErrorMessage of `code`. */
export async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof ErrorAnswer, `expected an ErrorMessage ${code}, got ${String(e)}`);
    assert.equal(e.code, code);
    assert.equal(e.error.fatal, false);
    return true;
  });
}

/** A FriendRequest; resolves with the FriendResponse. */
export function friendOp(c: RawClient, op: number, user: number | string, message = ''): Promise<MessageByType[21]> {
  const ref = typeof user === 'number' ? { userId: user } : { userName: user };
  return request(c, MessageType.FRIEND_REQUEST, { op, message, ...ref }, MessageType.FRIEND_RESPONSE);
}

/** A logged-in registered user. */
export interface User {
  name: string;
  id: number;
  c: RawClient;
  ack: LoginAck;
}

/** Registers `tag`_<unique> and logs it in (platform 1 unless said). */
export async function newUser(port: number, tag: string, platform = 1): Promise<User> {
  const name = uname(tag);
  const id = await register(port, name);
  const { c, ack } = await login(port, { userName: name, password: 'secret-pw' }, { platform });
  return { name, id, c, ack };
}

/** Logs an existing user in again (another device, or a reconnect). */
export async function relogin(port: number, u: { name: string }, platform = 1): Promise<{ c: RawClient; ack: LoginAck }> {
  return login(port, { userName: u.name, password: 'secret-pw' }, { platform });
}

/** a applies, b accepts; both notifications are consumed. */
export async function befriend(a: User, b: User): Promise<void> {
  await friendOp(a.c, FriendOp.APPLY, b.id);
  await nextNotice(b.c);
  await friendOp(b.c, FriendOp.ACCEPT, a.id);
  await nextNotice(a.c);
}

/** The next Notification (optionally of a kind). */
export function nextNotice(c: RawClient, kind?: number, ms = 5000): Promise<Notification> {
  return c.next(MessageType.NOTIFICATION, (n) => kind === undefined || n.kind === kind, ms);
}

/** Asserts that no Notification arrives within `ms`. */
export async function noNotice(c: RawClient, ms = 200): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
  assert.deepEqual(c.frames.filter((f) => f.type === MessageType.NOTIFICATION).map((f) => f.msg), []);
}

/** Round trip on the connection: proves it is still usable. */
export async function ping(c: RawClient): Promise<void> {
  c.send(MessageType.HEARTBEAT, { id: `hb${++next}` });
  await c.next(MessageType.HEARTBEAT);
}
