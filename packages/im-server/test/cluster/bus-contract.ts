/**
 * The Bus contract: one suite, run against MemoryBus (unit) and RabbitBus (integration, real
 * RabbitMQ). Routing by instance, never broadcast (seed.md §9.5); FIFO per target; confirms;
 * ack after the handler, with bounded redelivery of failures.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { BackendError } from '@hxim/im-common';
import { ClusterError, type Bus, type Envelope } from '../../src/cluster';
import { deferred, deliverOf, runTag, seqOf, sleep, waitFor } from './helpers';

/** Options a contract test may ask of a new bus. */
export interface TestBusOptions {
  prefetch?: number;
  maxAttempts?: number;
  retryDelayMs?: number;
}

/** A transport shared by several bus endpoints. */
export interface BusFixture {
  /** A new endpoint on the shared transport (closed by {@link close}). */
  bus(opts?: TestBusOptions): Promise<Bus>;
  /** Closes every endpoint and deletes every queue the test created. */
  close(): Promise<void>;
}

/** Records what a handler received. */
function recorder(): { got: Envelope[]; handler: (env: Envelope) => Promise<void> } {
  const got: Envelope[] = [];
  return { got, handler: async (env) => void got.push(env) };
}

/** Registers the contract tests for one implementation. `make` is called once per test. */
export function runBusContract(name: string, make: () => Promise<BusFixture>): void {
  describe(`Bus contract: ${name}`, () => {
    let fx: BusFixture;
    let tag: string;
    const id = (what: string): string => `${what}-${tag}`;

    beforeEach(async () => {
      fx = await make();
      tag = runTag();
    });
    afterEach(async () => {
      await fx.close();
    });

    it('delivers to the target instance only, intact, with its origin', async () => {
      const [x, y, z, pub] = await Promise.all([fx.bus(), fx.bus(), fx.bus(), fx.bus()]);
      const rx = recorder();
      const ry = recorder();
      const rz = recorder();
      await x.start(id('x'), rx.handler);
      await y.start(id('y'), ry.handler);
      await z.start(id('z'), rz.handler);
      assert.equal(y.health, 'up');
      const env = { ...deliverOf(id('pub'), 7, [1, -2, 2 ** 40]), exceptConnId: 'conn-é-1' };
      await pub.publish(id('y'), env);
      await waitFor('y to receive', () => ry.got.length === 1);
      assert.deepEqual(ry.got[0], env);
      // A sentinel published later to x and z arrives first there: nothing was broadcast.
      await pub.publish(id('x'), deliverOf(id('pub'), 100));
      await pub.publish(id('z'), deliverOf(id('pub'), 100));
      await waitFor('x and z to receive the sentinel', () => rx.got.length === 1 && rz.got.length === 1);
      await sleep(50);
      assert.deepEqual([rx.got.map(seqOf), rz.got.map(seqOf), ry.got.length], [[100], [100], 1]);
    });

    it('carries kick envelopes', async () => {
      const [x, pub] = await Promise.all([fx.bus(), fx.bus()]);
      const r = recorder();
      await x.start(id('x'), r.handler);
      const kick: Envelope = { kind: 'kick', origin: id('o'), userId: 5, platform: 2, connId: 'c|9', reason: 'replaced' };
      await pub.publish(id('x'), kick);
      await waitFor('the kick', () => r.got.length === 1);
      assert.deepEqual(r.got[0], kick);
    });

    it('keeps FIFO order per target with many publishes outstanding (pipelined confirms)', async () => {
      const [x, y, pub] = await Promise.all([fx.bus(), fx.bus(), fx.bus()]);
      const rx = recorder();
      const ry = recorder();
      await x.start(id('x'), rx.handler);
      await y.start(id('y'), ry.handler);
      const sends: Promise<void>[] = [];
      for (let i = 0; i < 1000; i++) sends.push(pub.publish(i % 2 ? id('x') : id('y'), deliverOf(id('pub'), i)));
      await Promise.all(sends); // every publish is confirmed
      await waitFor('all 1000 envelopes', () => rx.got.length + ry.got.length === 1000, 15_000);
      const xs = rx.got.map(seqOf);
      const ys = ry.got.map(seqOf);
      assert.deepEqual(xs, [...xs].sort((a, b) => a - b));
      assert.deepEqual(ys, [...ys].sort((a, b) => a - b));
      assert.equal(xs.length, 500);
      assert.equal(ys.length, 500);
    });

    it('rejects a publish to an instance that has no queue with a BackendError', async () => {
      const pub = await fx.bus();
      await assert.rejects(pub.publish(id('nobody'), deliverOf(id('pub'), 1)),
        (err: unknown) => err instanceof ClusterError && err.reason === 'unroutable');
    });

    it('rejects invalid target ids and envelopes', async () => {
      const pub = await fx.bus();
      await assert.rejects(pub.publish('no spaces', deliverOf(id('pub'), 1)), TypeError);
      await assert.rejects(pub.publish(id('x'), { ...deliverOf('bad origin', 1) }));
    });

    it('keeps envelopes for a stopped instance until it consumes again (durable queue)', async () => {
      const [x1, pub] = await Promise.all([fx.bus(), fx.bus()]);
      await x1.start(id('x'), async () => {});
      await x1.close();
      await pub.publish(id('x'), deliverOf(id('pub'), 1));
      await pub.publish(id('x'), deliverOf(id('pub'), 2));
      const x2 = await fx.bus();
      const r = recorder();
      await x2.start(id('x'), r.handler);
      await waitFor('both envelopes after restart', () => r.got.length === 2);
      assert.deepEqual(r.got.map(seqOf), [1, 2]);
    });

    it('acks only after the handler: a failing handler gets the envelope again', async () => {
      const [x, pub] = await Promise.all([fx.bus({ retryDelayMs: 10, maxAttempts: 5 }), fx.bus()]);
      const seen: number[] = [];
      let failures = 0;
      await x.start(id('x'), async (env) => {
        seen.push(seqOf(env));
        if (seqOf(env) === 1 && failures < 2) {
          failures++;
          throw new Error('local write failed');
        }
      });
      await pub.publish(id('x'), deliverOf(id('pub'), 1));
      await pub.publish(id('x'), deliverOf(id('pub'), 2));
      await waitFor('envelope 1 to succeed on its third delivery', () => seen.filter((s) => s === 1).length === 3);
      await waitFor('envelope 2', () => seen.includes(2));
      await sleep(200);
      assert.equal(seen.filter((s) => s === 1).length, 3, 'no redelivery after success');
      assert.equal(seen.filter((s) => s === 2).length, 1);
    });

    it('drops an envelope after maxAttempts failures and keeps consuming', async () => {
      const [x, pub] = await Promise.all([fx.bus({ retryDelayMs: 5, maxAttempts: 3 }), fx.bus()]);
      const seen: number[] = [];
      await x.start(id('x'), async (env) => {
        seen.push(seqOf(env));
        if (seqOf(env) === 1) throw new Error('always fails');
      });
      await pub.publish(id('x'), deliverOf(id('pub'), 1));
      await waitFor('three deliveries of envelope 1', () => seen.filter((s) => s === 1).length === 3);
      await pub.publish(id('x'), deliverOf(id('pub'), 2));
      await waitFor('envelope 2', () => seen.includes(2));
      await sleep(200);
      assert.equal(seen.filter((s) => s === 1).length, 3);
    });

    it('survives a handler that throws synchronously', async () => {
      const [x, pub] = await Promise.all([fx.bus({ retryDelayMs: 5, maxAttempts: 2 }), fx.bus()]);
      const seen: number[] = [];
      await x.start(id('x'), ((env: Envelope) => {
        seen.push(seqOf(env));
        if (seqOf(env) === 1) throw new Error('sync throw');
        return Promise.resolve();
      }) as (env: Envelope) => Promise<void>);
      await pub.publish(id('x'), deliverOf(id('pub'), 1));
      await pub.publish(id('x'), deliverOf(id('pub'), 2));
      await waitFor('envelope 2 and two tries of envelope 1', () => seen.includes(2) && seen.filter((s) => s === 1).length === 2);
    });

    it('holds at most prefetch envelopes unsettled', async () => {
      const [x, pub] = await Promise.all([fx.bus({ prefetch: 2 }), fx.bus()]);
      const held: { n: number; done: () => void }[] = [];
      const finished: number[] = [];
      await x.start(id('x'), async (env) => {
        const d = deferred();
        held.push({ n: seqOf(env), done: () => d.resolve() });
        await d.promise;
        finished.push(seqOf(env));
      });
      await Promise.all([1, 2, 3, 4, 5].map((n) => pub.publish(id('x'), deliverOf(id('pub'), n))));
      await waitFor('two envelopes in the handler', () => held.length === 2);
      await sleep(300);
      assert.equal(held.length, 2, 'prefetch bounds the handlers in flight');
      for (let i = 0; i < 5; i++) {
        await waitFor(`envelope #${i + 1} in the handler`, () => held.length > i);
        held[i]!.done();
      }
      await waitFor('all five finished', () => finished.length === 5);
      assert.deepEqual(held.map((h) => h.n), [1, 2, 3, 4, 5]);
    });

    it('rejects with a BackendError after close, and start cannot be called twice', async () => {
      const x = await fx.bus();
      await x.start(id('x'), async () => {});
      await assert.rejects(x.start(id('x2'), async () => {}), TypeError);
      await x.close();
      await assert.rejects(x.publish(id('x'), deliverOf(id('pub'), 1)), (err: unknown) => err instanceof BackendError);
    });
  });
}
