/**
 * The router's cross-instance path (issue 5): two routers on one in-process cluster (the real
 * memory presence and bus), with session tables of recording connections. A failed presence
 * lookup, registry read or publish is retried instead of silently dropping the live push (a
 * 10,000-member bench run once stalled on such a drop); a push given up after every retry is
 * logged as an error; a wide delivery (a big group) sends one envelope per other live instance
 * without looking up any member's location. Bounded: every wait has a deadline.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { it } from 'node:test';
import pino from 'pino';
import { encodeFrame, MessageType } from '@hxim/im-common';
import {
  ClusterError, MemoryBus, MemoryBusHub, MemoryPresence, silentLogger, type Bus, type Envelope, type Health,
  type DeliverEnvelope, type InstanceInfo, type Location, type LocationWatch, type Presence,
} from '../src/cluster';
import type { Connection } from '../src/connection';
import { ROUTE_RETRY_DELAYS_MS, Router, WIDE_DELIVERY_MIN_USERS } from '../src/router';
import { SessionTable } from '../src/sessions';
import { sleep, waitFor } from './cluster/helpers';

/**
 * Presence whose lookup and instances() fail the next `failLookups` / `failInstances` calls.
 * With `watching`, it passes the login announcements on, so the router caches lookups.
 */
class FlakyPresence implements Presence {
  failLookups = 0;
  failInstances = 0;
  lookups = 0;
  /** Users of every lookup, in order. */
  looked: number[][] = [];
  readonly watchLocations?: () => LocationWatch;
  constructor(private readonly inner: Presence, watching = false) {
    if (watching) this.watchLocations = () => inner.watchLocations!();
  }
  get health(): Health { return this.inner.health; }
  onHealth(l: (h: Health) => void): () => void { return this.inner.onHealth(l); }
  register(loc: Location, ttl: number): Promise<Location | null> { return this.inner.register(loc, ttl); }
  unregister(loc: Location): Promise<boolean> { return this.inner.unregister(loc); }
  refresh(locs: readonly Location[], ttl: number): Promise<void> { return this.inner.refresh(locs, ttl); }
  heartbeatInstance(info: InstanceInfo, ttl: number): Promise<void> { return this.inner.heartbeatInstance(info, ttl); }
  removeInstance(id: string): Promise<void> { return this.inner.removeInstance(id); }
  close(): Promise<void> { return this.inner.close(); }
  async lookup(ids: readonly number[]): Promise<Map<number, Location[]>> {
    this.lookups++;
    this.looked.push([...ids]);
    if (this.failLookups > 0 && this.failLookups--) throw new ClusterError('redis', 'timeout', 'lookup timed out (injected)');
    return this.inner.lookup(ids);
  }
  async instances(): Promise<InstanceInfo[]> {
    if (this.failInstances > 0 && this.failInstances--) throw new ClusterError('redis', 'unavailable', 'registry read failed (injected)');
    return this.inner.instances();
  }
}

/** Bus whose publish fails the next `failPublishes` calls. */
class FlakyBus implements Bus {
  failPublishes = 0;
  published: Array<{ target: string; env: Envelope }> = [];
  constructor(private readonly inner: Bus) {}
  get health(): Health { return this.inner.health; }
  onHealth(l: (h: Health) => void): () => void { return this.inner.onHealth(l); }
  start(id: string, h: (env: Envelope) => Promise<void>): Promise<void> { return this.inner.start(id, h); }
  close(): Promise<void> { return this.inner.close(); }
  async publish(target: string, env: Envelope): Promise<void> {
    if (this.failPublishes > 0 && this.failPublishes--) throw new ClusterError('rabbitmq', 'timeout', 'confirm timed out (injected)');
    this.published.push({ target, env });
    return this.inner.publish(target, env);
  }
}

/** A logged-in connection that records what it was pushed. */
function conn(instance: string, userId: number): Connection & { got: Buffer[] } {
  const got: Buffer[] = [];
  return { id: `${instance}#${userId}`, userId, platform: 1, state: 'online', seedMode: false, got, push: (f: Buffer) => got.push(f) } as never;
}

interface Node { router: Router; sessions: SessionTable; presence: FlakyPresence; bus: FlakyBus; errors: string[] }

type Conns = Map<number, Connection & { got: Buffer[] }>;

/** Starts instance `i` on the hub: registered, with its users logged in (presence included). */
async function addNode(hub: MemoryBusHub, conns: Conns, i: number, users: number[], watching = false): Promise<Node> {
  const id = `rt${i}-${process.pid}`;
  const sessions = new SessionTable();
  const presence = new FlakyPresence(new MemoryPresence(hub.presence), watching);
  const bus = new FlakyBus(new MemoryBus(hub, { logger: silentLogger }));
  const errors: string[] = [];
  const sink = new Writable({ write(chunk, _enc, cb) { errors.push(String(chunk)); cb(); } });
  const log = pino({ level: 'error' }, sink);
  const router = new Router({ instanceId: id, sessions, presence, bus, clustered: true, log, onSeedDelivered: () => undefined });
  await bus.start(id, (env) => router.handleEnvelope(env));
  await presence.heartbeatInstance({ instanceId: id, advertise: 'x', pid: 1, startedAt: 1, users: users.length }, 60_000);
  for (const u of users) {
    const c = conn(id, u);
    sessions.add(c);
    conns.set(u, c);
    await presence.register({ userId: u, platform: 1, instanceId: id, connId: c.id }, 60_000);
  }
  return { router, sessions, presence, bus, errors };
}

/** Instances on one new hub (`watching`: their routers cache lookups). */
async function cluster(usersByInstance: number[][], watching = false): Promise<{ hub: MemoryBusHub; nodes: Node[]; conns: Conns }> {
  const hub = new MemoryBusHub();
  const conns: Conns = new Map();
  const nodes: Node[] = [];
  for (const [i, users] of usersByInstance.entries()) nodes.push(await addNode(hub, conns, i, users, watching));
  return { hub, nodes, conns };
}

const frame = (n: number): Buffer => encodeFrame(MessageType.CHAT, { id: `m${n}`, userId: 1, msgBody: Buffer.from('x'), seq: n, convId: 'g:1' });

it('a failed presence lookup is retried: the remote recipient still gets its live push, once', async () => {
  const { nodes, conns } = await cluster([[1], [2]]);
  nodes[0]!.presence.failLookups = 1;
  nodes[0]!.router.deliver(frame(1), [1, 2], '', 'g:1', 1);
  await waitFor('the push to user 2 on the other instance', () => conns.get(2)!.got.length > 0, 5_000);
  await sleep(50);
  assert.equal(conns.get(2)!.got.length, 1);
  assert.equal(conns.get(1)!.got.length, 1);
  assert.equal(nodes[0]!.presence.lookups, 2, 'one failed lookup, one retry');
});

it('a failed publish is retried', async () => {
  const { nodes, conns } = await cluster([[1], [2]]);
  nodes[0]!.bus.failPublishes = 2;
  nodes[0]!.router.deliver(frame(1), [2], '', 'g:1', 1);
  await waitFor('the push to user 2', () => conns.get(2)!.got.length > 0, 5_000);
  await sleep(50);
  assert.equal(conns.get(2)!.got.length, 1);
});

it('a push given up after every retry is logged as an error with its conversation and seq', async () => {
  const { nodes, conns } = await cluster([[1], [2]]);
  nodes[0]!.presence.failLookups = ROUTE_RETRY_DELAYS_MS.length + 1;
  nodes[0]!.router.deliver(frame(7), [1, 2], '', 'g:1', 7);
  await waitFor('the error log', () => nodes[0]!.errors.length > 0, 5_000);
  const line = JSON.parse(nodes[0]!.errors[0]!) as Record<string, unknown>;
  assert.equal(line.convId, 'g:1');
  assert.equal(line.seq, 7);
  assert.equal(conns.get(2)!.got.length, 0);
  assert.equal(conns.get(1)!.got.length, 1, 'local members are written at once');
});

it('a wide delivery: one envelope per other live instance, no per-member lookup, exactly once per member', async () => {
  const n = WIDE_DELIVERY_MIN_USERS * 3;
  const byInstance: number[][] = [[], [], []];
  for (let u = 1; u <= n; u++) byInstance[u % 3]!.push(u);
  const { nodes, conns } = await cluster(byInstance);
  const all = Array.from({ length: n }, (_, i) => i + 1);
  const sender = conns.get(3)!; // on instance 0
  nodes[0]!.router.deliver(frame(1), all, sender.id, 'g:1', 1);
  nodes[0]!.presence.failInstances = 1; // the second turn falls back to the registry list of the first
  await sleep(10);
  nodes[0]!.router.deliver(frame(2), all, sender.id, 'g:1', 2);
  await waitFor('every member but the sender has both', () => all.every((u) => u === 3 || conns.get(u)!.got.length === 2), 5_000);
  await sleep(50);
  for (const u of all) assert.equal(conns.get(u)!.got.length, u === 3 ? 0 : 2, `user ${u}`);
  assert.equal(nodes[0]!.presence.lookups, 0, 'no location lookup');
  const targets = nodes[0]!.bus.published.map((p) => p.target).sort();
  assert.deepEqual(targets, [`rt1-${process.pid}`, `rt1-${process.pid}`, `rt2-${process.pid}`, `rt2-${process.pid}`]);
});

it('a wide delivery reaches an instance that joined after the last registry read, once', async () => {
  const n = WIDE_DELIVERY_MIN_USERS * 2;
  const { hub, nodes, conns } = await cluster([[], Array.from({ length: n }, (_, i) => i + 1)]);
  const all = Array.from({ length: n + 1 }, (_, i) => i + 1);
  nodes[0]!.router.deliver(frame(1), all, '', 'g:1', 1); // reads the registry: instance 1 only
  await waitFor('the first push', () => conns.get(1)!.got.length === 1, 5_000);
  nodes.push(await addNode(hub, conns, 2, [n + 1])); // user n+1 logs in on a new instance
  nodes[0]!.router.deliver(frame(2), all, '', 'g:1', 2);
  await waitFor('the second push everywhere', () => all.every((u) => conns.get(u)!.got.length >= (u === n + 1 ? 1 : 2)), 5_000);
  await sleep(50);
  for (const u of all) assert.equal(conns.get(u)!.got.length, u === n + 1 ? 1 : 2, `user ${u}`);
});

it('a kick (duplicate login elsewhere) is retried while publishing fails, and not when the target has no queue', async (t) => {
  const { nodes } = await cluster([[1], [2]]);
  const bus = nodes[0]!.bus;
  let calls = 0;
  const counting: Bus = Object.assign(Object.create(bus) as Bus, {
    publish: (target: string, env: Envelope) => { calls++; return bus.publish(target, env); },
  });
  const kicker = new Router({
    instanceId: `rt0-${process.pid}`, sessions: new SessionTable(), presence: nodes[0]!.presence, bus: counting, clustered: true,
    log: pino({ level: 'silent' }), onSeedDelivered: () => undefined, kickRetryDelaysMs: [1, 1, 1],
  });
  const loc: Location = { userId: 2, platform: 1, instanceId: `rt1-${process.pid}`, connId: 'old-conn' };
  const alive = setInterval(() => undefined, 1000); // the retry timers are unref'd, as in a server
  t.after(() => clearInterval(alive));
  bus.failPublishes = 2;
  await kicker.kickRemote(loc, 'replaced');
  assert.equal(calls, 3, 'two failures, then published');
  assert.deepEqual(bus.published.map((p) => [p.target, p.env.kind]), [[loc.instanceId, 'kick']]);
  bus.failPublishes = 4;
  calls = 0;
  await assert.rejects(kicker.kickRemote(loc, 'replaced'), (e: unknown) => e instanceof ClusterError && e.reason === 'timeout');
  assert.equal(calls, 4, 'bounded: the first try and three retries');
  calls = 0;
  await assert.rejects(kicker.kickRemote({ ...loc, instanceId: 'gone' }, 'replaced'),
    (e: unknown) => e instanceof ClusterError && e.reason === 'unroutable');
  assert.equal(calls, 1, 'no retry when the instance has no queue');
});

it('location cache: a 1:1 recipient is looked up once, then again after a login anywhere', async () => {
  const { nodes, conns } = await cluster([[1], [2], [3]], true);
  const [a, b, c] = nodes as [Node, Node, Node];
  const gotBy = (u: number): number => conns.get(u)!.got.length;
  a.router.deliver(frame(1), [2], '', 'p:1:2', 1);
  await waitFor('push 1', () => gotBy(2) === 1, 5_000);
  a.router.deliver(frame(2), [2], '', 'p:1:2', 2);
  await waitFor('push 2', () => gotBy(2) === 2, 5_000);
  assert.deepEqual(a.presence.looked, [[2]], 'the second delivery used the cached location');
  // User 2 logs in on the third instance (a second device): the announcement drops the entry.
  const c2 = conn(`rt2-${process.pid}`, 2);
  c.sessions.add(c2);
  await c.presence.register({ userId: 2, platform: 2, instanceId: `rt2-${process.pid}`, connId: c2.id }, 60_000);
  a.router.deliver(frame(3), [2], '', 'p:1:2', 3);
  await waitFor('push 3 on both devices', () => gotBy(2) === 3 && c2.got.length === 1, 5_000);
  assert.equal(a.presence.looked.length, 2);
  await sleep(30);
  assert.deepEqual([gotBy(2), c2.got.length, gotBy(3)], [3, 1, 0], 'exactly once per device');
  assert.equal(b.errors.length + c.errors.length, 0);
});

it('location cache: a stale entry (the user moved) is passed on once by the instance that no longer holds the user', async () => {
  const { hub, nodes, conns } = await cluster([[1], [2], [3]], true);
  const [a, b, c] = nodes as [Node, Node, Node];
  a.router.deliver(frame(1), [2], '', 'p:1:2', 1);
  await waitFor('push 1', () => conns.get(2)!.got.length === 1, 5_000);
  // User 2 moves to the third instance, and the announcement is lost: the cache still says the second.
  const old = conns.get(2)!;
  b.sessions.remove(old);
  await b.presence.unregister({ userId: 2, platform: 1, instanceId: `rt1-${process.pid}`, connId: old.id });
  const moved = conn(`rt2-${process.pid}`, 2);
  c.sessions.add(moved);
  const { loginListeners } = hub.presence;
  const saved = [...loginListeners];
  loginListeners.clear();
  await c.presence.register({ userId: 2, platform: 1, instanceId: `rt2-${process.pid}`, connId: moved.id }, 60_000);
  for (const l of saved) loginListeners.add(l);
  a.router.deliver(frame(2), [2], '', 'p:1:2', 2);
  await waitFor('push 2 at the new instance', () => moved.got.length === 1, 5_000);
  assert.deepEqual(a.presence.looked, [[2]], 'the origin used its (stale) cached entry');
  assert.deepEqual(b.presence.looked, [[2]], 'the old instance looked the user up afresh');
  const fwd = b.bus.published.filter((p) => p.env.kind === 'deliver');
  assert.deepEqual(fwd.map((p) => [p.target, p.env.kind === 'deliver' && p.env.forwarded]), [[`rt2-${process.pid}`, true]]);
  // A forwarded envelope that misses again goes no further (at most one hop).
  c.sessions.remove(moved);
  await c.router.handleEnvelope({ ...(fwd[0]!.env as DeliverEnvelope) });
  await sleep(30);
  assert.equal(c.presence.looked.length, 0, 'no lookup for a forwarded envelope');
  assert.equal(c.bus.published.length, 0);
  assert.equal(old.got.length, 1);
  assert.equal(moved.got.length, 1);
});
