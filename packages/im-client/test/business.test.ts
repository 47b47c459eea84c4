/**
 * The client side of issue 4 against the fake server: Notification pushes become 'notification'
 * events (stored ones acked, and emitted once even when resent), and BusinessApi sends the
 * documented requests and resolves or rejects with the server's answer.
 */
import { strict as assert } from 'node:assert';
import { afterEach, describe, it } from 'node:test';
import { FriendListKind, FriendOp, FriendResult, MessageType, NoticeKind, type Notification } from '@hxim/im-common';
import { BusinessApi, ServerError, userRef } from '../src';
import { FakeServer } from './fake-server';
import { clientFor, until } from './helpers';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function setup(): Promise<{ fake: FakeServer; client: ReturnType<typeof clientFor> }> {
  const fake = await FakeServer.start();
  const client = clientFor(fake);
  cleanups.push(() => fake.close(), () => client.close());
  await client.connect();
  return { fake, client };
}

describe('notifications', () => {
  it('emits each stored notice once, acks it every time, and does not ack live ones', async () => {
    const { fake, client } = await setup();
    const got: Notification[] = [];
    client.on('notification', (n) => got.push(n));
    const conn = fake.online(1)[0]!;
    conn.send(MessageType.NOTIFICATION, { noticeId: 5, kind: NoticeKind.FRIEND_APPLY, fromUserId: 2, message: 'hi' });
    conn.send(MessageType.NOTIFICATION, { noticeId: 5, kind: NoticeKind.FRIEND_APPLY, fromUserId: 2, message: 'hi' });
    conn.send(MessageType.NOTIFICATION, { kind: NoticeKind.READ_RECEIPT, fromUserId: 2, convId: 'p:1:2', seq: 3 });
    await until(() => got.length === 2 && fake.framesOf(MessageType.NOTIFICATION_ACK).length === 2, 3000, 'notices and acks');
    assert.deepEqual(got.map((n) => [n.noticeId, n.kind]), [[5, NoticeKind.FRIEND_APPLY], [0, NoticeKind.READ_RECEIPT]]);
    assert.deepEqual(fake.framesOf(MessageType.NOTIFICATION_ACK).map((a) => a.noticeId), [5, 5]);
  });
});

describe('BusinessApi', () => {
  it('names users by id or by name', () => {
    assert.deepEqual(userRef(7), { userId: 7, userName: '' });
    assert.deepEqual(userRef('42'), { userId: 42, userName: '' });
    assert.deepEqual(userRef('alice'), { userId: 0, userName: 'alice' });
  });

  it('sends typed requests and resolves with the answer, or rejects with the server code', async () => {
    const { fake, client } = await setup();
    fake.hook = (conn, frame) => {
      if (frame.type === MessageType.FRIEND_REQUEST) {
        const m = frame.msg;
        if (m.userName === 'ghost') {
          conn.send(MessageType.ERROR, { requestId: m.requestId, code: 'UNKNOWN_USER', message: 'no ghost' });
        } else {
          conn.send(MessageType.FRIEND_RESPONSE, {
            requestId: m.requestId, op: m.op, result: FriendResult.APPLIED, user: { userId: 2, userName: 'bob', since: 0, online: false },
          });
        }
        return true;
      }
      if (frame.type === MessageType.FRIEND_LIST_REQUEST) {
        conn.send(MessageType.FRIEND_LIST, { requestId: frame.msg.requestId, kind: frame.msg.kind, hasMore: false });
        return true;
      }
      if (frame.type === MessageType.READ_REQUEST) {
        conn.send(MessageType.READ_RESPONSE, { requestId: frame.msg.requestId, convId: frame.msg.convId, readSeq: 4, lastSeq: 4 });
        return true;
      }
      return false;
    };
    const api = new BusinessApi(client);
    const r = await api.apply('bob', 'hello');
    assert.deepEqual([r.result, r.user?.userName], [FriendResult.APPLIED, 'bob']);
    const sent = fake.framesOf(MessageType.FRIEND_REQUEST)[0]!;
    assert.deepEqual([sent.op, sent.userName, sent.userId, sent.message], [FriendOp.APPLY, 'bob', 0, 'hello']);
    await assert.rejects(api.accept('ghost'), (e: unknown) => e instanceof ServerError && e.code === 'UNKNOWN_USER');
    assert.equal((await api.applications('sent')).kind, FriendListKind.SENT);
    assert.equal((await api.markRead('p:1:2')).readSeq, 4);
    assert.equal(fake.framesOf(MessageType.READ_REQUEST)[0]!.seq, 0, 'seq 0 = everything');
  });
});
