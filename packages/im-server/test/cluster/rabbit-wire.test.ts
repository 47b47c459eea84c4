/**
 * RabbitBus's wire helpers. AckBatcher against a recording channel: one ack with
 * `multiple` per turn for a settled prefix, never past a delivery still being handled, and
 * single acks for finished deliveries behind one. Batch bodies, packing, handler slots, the outbox.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type * as amqp from 'amqplib';
import { AckBatcher, decodeBatch, encodeBatch, MAX_BATCH_BYTES, Outbox, packBatches, Slots } from '../../src/cluster/rabbit-wire';

function setup(): { acks: AckBatcher; sent: Array<[number, boolean]>; msg: (tag: number) => amqp.Message } {
  const sent: Array<[number, boolean]> = [];
  const ch = { ack: (m: amqp.Message, allUpTo?: boolean) => void sent.push([m.fields.deliveryTag, allUpTo === true]) };
  const acks = new AckBatcher(ch as unknown as amqp.Channel);
  const msg = (tag: number) => ({ fields: { deliveryTag: tag } }) as amqp.Message;
  return { acks, sent, msg };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

it('acks a turn of finished deliveries with one multiple ack', async () => {
  const { acks, sent, msg } = setup();
  const m = [1, 2, 3, 4].map(msg);
  for (const x of m) acks.received(x);
  acks.ack(m[1]!);
  acks.ack(m[0]!);
  acks.ack(m[2]!);
  assert.deepEqual(sent, [], 'nothing before the end of the turn');
  await turn();
  assert.deepEqual(sent, [[3, true]]);
  assert.equal(acks.unsettled, 1);
  acks.ack(m[3]!);
  await turn();
  assert.deepEqual(sent, [[3, true], [4, true]]);
  assert.equal(acks.unsettled, 0);
});

it('never covers a delivery still being handled; acks the finished ones behind it alone', async () => {
  const { acks, sent, msg } = setup();
  const m = [1, 2, 3, 4].map(msg);
  for (const x of m) acks.received(x);
  acks.ack(m[0]!);
  acks.ack(m[2]!);
  acks.ack(m[3]!); // 2 is still in its handler (or waiting for a redelivery)
  await turn();
  assert.deepEqual(sent, [[1, true], [3, false], [4, false]]);
  acks.settled(m[1]!); // nacked for a redelivery
  assert.equal(acks.unsettled, 0);
  const m5 = msg(5);
  acks.received(m5);
  acks.ack(m5);
  await turn();
  assert.deepEqual(sent.at(-1), [5, true]);
});

it('packs envelopes into batch bodies and back, and refuses malformed ones', () => {
  const bodies = [Buffer.from('a'), Buffer.alloc(0), Buffer.from('hello')];
  assert.deepEqual(decodeBatch(encodeBatch(bodies)).map(String), ['a', '', 'hello']);
  const good = encodeBatch(bodies);
  assert.throws(() => decodeBatch(good.subarray(0, good.length - 1)), TypeError);
  assert.throws(() => decodeBatch(Buffer.concat([good, Buffer.from([0])])), TypeError);
  assert.throws(() => decodeBatch(Buffer.alloc(2)), TypeError);
  const items = Array.from({ length: 5 }, (_, i) => ({ body: Buffer.alloc(i === 3 ? MAX_BATCH_BYTES : 10) }));
  assert.deepEqual(packBatches(items, 2).map((b) => b.length), [2, 1, 1, 1], 'at most 2 per message, and a big one alone');
});

it('runs handlers in call order with at most n at once', async () => {
  const slots = new Slots(2);
  const started: number[] = [];
  const release: Array<() => void> = [];
  const runs = [1, 2, 3, 4].map((n) => slots.run(() => {
    started.push(n);
    return new Promise<void>((resolve) => release.push(resolve));
  }));
  assert.deepEqual(started, [1, 2], 'free slots start synchronously');
  await turn();
  assert.deepEqual(started, [1, 2]);
  release[1]!();
  await turn();
  assert.deepEqual(started, [1, 2, 3]);
  release[0]!();
  release[2]!();
  await turn();
  release[3]!();
  await Promise.all(runs);
  assert.deepEqual(started, [1, 2, 3, 4]);
  await assert.rejects(slots.run(() => { throw new Error('sync'); }), /sync/);
  let ran = false;
  await slots.run(async () => { ran = true; });
  assert.ok(ran, 'a failed handler gives its slot back');
});

it('sends the publishes of one turn per target together, in call order', async () => {
  const sent: Array<[string, number[]]> = [];
  const box = new Outbox<number>((target, items) => sent.push([target, items]));
  box.add('x', 1);
  box.add('y', 2);
  box.add('x', 3);
  assert.deepEqual(sent, []);
  await Promise.resolve();
  assert.deepEqual(sent, [['x', [1, 3]], ['y', [2]]]);
  box.add('x', 4);
  await Promise.resolve();
  assert.deepEqual(sent.at(-1), ['x', [4]]);
});
