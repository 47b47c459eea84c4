/**
 * Protocol-version-1 helpers over {@link RawClient}: register, log in, and a logged-in pair.
 */
import { MessageType, type LoginAck, type ConvSeq } from '@hxim/im-common';
import { RawClient } from './raw-client';

let seq = 0;

/** Registers an account; returns its user id. */
export async function register(port: number, userName: string, password = 'secret-pw'): Promise<number> {
  const c = await RawClient.connect(port);
  const requestId = `r${++seq}`;
  c.send(MessageType.REGISTER, { requestId, userName, password });
  const ack = await c.next(MessageType.REGISTER_ACK, (m) => m.requestId === requestId);
  c.destroy();
  return ack.userId;
}

/** Connects and logs in with a password or token; resolves with the client and its LoginAck. */
export async function login(port: number, cred: { userName?: string; password?: string; token?: string; userId?: number },
  opts: { platform?: number; lastSeqs?: ConvSeq[] } = {}): Promise<{ c: RawClient; ack: LoginAck }> {
  const c = await RawClient.connect(port);
  c.send(MessageType.ONLINE, {
    id: 'login', protocolVersion: 1, userName: cred.userName ?? '', password: cred.password ?? '', token: cred.token ?? '',
    userId: cred.userId ?? 0, userPlatformId: opts.platform ?? 1, lastSeqs: opts.lastSeqs ?? [], timeStamp: Date.now(),
  });
  const ack = await c.next(MessageType.LOGIN_ACK);
  return { c, ack };
}

/** A unique user name for a test. */
export function uname(tag: string): string {
  return `${tag}_${process.pid}_${++seq}`;
}
