/**
 * FAULT TESTS: they kill an instance, stop RabbitMQ and restart Redis, the SHARED services.
 * Run this file on its own (not next to other files that use Redis or RabbitMQ); its tests run
 * one after another. Three spawned instances each (the real CLI: --cluster redis-rabbit
 * --store mysql), client-library users on different instances, steady traffic across them, and
 * one fault in the middle. Each test then checks the delivery contract (DESIGN.md) over the
 * whole history: every acked message reaches its recipient exactly once, in seq order per
 * conversation (lost = 0, app-visible duplicates = 0), and every send is acked in the end.
 *   4. kill -9 of an instance: its users' locations are gone within the presence TTL (users
 *      whose clients do not reconnect), its other clients reconnect to another instance and
 *      catch up.
 *   5. rabbitmqctl stop_app / start_app: every message arrives at most 10 s after
 *      max(sent, broker back): delivery resumes within 10 s of the broker being back.
 *   6. Redis shutdown (every key lost) and restart: the locations of connected users are back
 *      in Redis within 5 s.
 * Each fault is undone in a `finally`, and every step has a bound.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it, type TestContext } from 'node:test';
import type { ServerAddress } from '@hxim/im-client';
import { RedisPresence, silentLogger } from '../../../src/cluster';
import {
  adminRedis, ensureRabbit, ensureRedis, online, rabbitmqctl, redisShutdown, redisStart, REDIS_URL, registerUser,
  requireLocalServices, sleep, TestCluster, Traffic, uname, waitFor, waitRabbitUp, type Spawned, type User,
} from './helpers';
import { Ledger, problems } from './ledger';

/** Short presence TTL, so a dead instance's locations expire within the test. */
const TTL_MS = 3000;
/** The bound the contract puts on resuming delivery after a service is back. */
const RESUME_MS = 10_000;
/** The bound on rebuilding locations after a Redis restart. */
const REBUILD_MS = 5_000;
/** Bound of each test. */
const BOUNDED = { timeout: 100_000 };

const cluster = new TestCluster('faults');
let presence: RedisPresence;

before(async () => {
  requireLocalServices();
  await cluster.prepare();
  presence = await RedisPresence.connect({ url: REDIS_URL, prefix: cluster.namespace, logger: silentLogger });
});
// Each test starts its own instances and users; nothing of one test runs into the next.
afterEach(() => cluster.stopAll());
after(async () => {
  // A test cut off by its timeout may not have reached its `finally`: leave the services running.
  await ensureRabbit();
  await ensureRedis();
  await presence?.close();
  await cluster.cleanup();
});

/** Three spawned instances with the short TTL. */
async function threeInstances(tag: string): Promise<Spawned[]> {
  return Promise.all([0, 1, 2].map((i) => cluster.spawnInstance(`${tag}${i}`, ['--presence-ttl-ms', String(TTL_MS)])));
}

/** Registers and logs in one user per `homes` entry; user i's servers are `homes[i]` then the rest. */
async function usersOn(ledger: Ledger, procs: Spawned[], homes: number[], tag: string): Promise<User[]> {
  const out: User[] = [];
  for (const [i, h] of homes.entries()) {
    const servers: ServerAddress[] = [procs[h]!.address, ...procs.filter((_, k) => k !== h).map((p) => p.address)];
    const name = uname(`${tag}${i}`);
    out.push(await online(ledger, servers, name, await registerUser(servers[0]!, name)));
  }
  return out;
}

/** Six users, two per instance, in six directed pairs that all cross instances, both ways. */
async function crossTraffic(ledger: Ledger, procs: Spawned[], tag: string): Promise<{ users: User[]; traffic: Traffic }> {
  const u = await usersOn(ledger, procs, [0, 1, 1, 2, 2, 0], tag);
  const pairs: Array<[User, User]> = [[u[0]!, u[1]!], [u[1]!, u[0]!], [u[2]!, u[3]!], [u[3]!, u[2]!], [u[4]!, u[5]!], [u[5]!, u[4]!]];
  return { users: u, traffic: new Traffic(ledger, pairs, tag, 25) };
}

/** Stops the traffic and checks the whole history: nothing lost, duplicated or out of order. */
async function finish(t: TestContext, ledger: Ledger, traffic: Traffic): Promise<void> {
  traffic.stop();
  await waitFor('every send to be answered', () => ledger.unanswered === 0, 30_000);
  await waitFor('every acked message to be delivered', () => ledger.missing().length === 0, 20_000)
    .catch(() => undefined);
  const r = ledger.check();
  t.diagnostic(`sent ${r.sent}, acked ${r.acked}, delivered ${r.delivered}`);
  assert.equal(problems(r), '', `delivery problems:\n${problems(r)}`);
  assert.equal(r.acked, r.sent);
  assert.equal(r.delivered, r.acked);
}

/** Hash of one user's locations, read straight from Redis. */
async function locationHash(userId: number): Promise<Record<string, string>> {
  const r = adminRedis();
  try {
    return await r.hgetall(cluster.keys.location(userId));
  } finally {
    r.disconnect();
  }
}

describe('faults during cross-instance traffic (restarts the shared Redis and RabbitMQ)', { concurrency: 1 }, () => {
  it('kill -9 of an instance: locations expire within the TTL, its clients fail over and catch up', BOUNDED,
    cluster.keepLogsOnFailure(async (t) => {
    const procs = await threeInstances('k');
    const victim = procs[2]!;
    const ledger = new Ledger();
    const { users, traffic } = await crossTraffic(ledger, procs, 'kill');
    // Users on the victim whose clients will not reconnect: only the TTL can clear them.
    const stranded: User[] = [];
    for (let i = 0; i < 2; i++) {
      const name = uname(`strand${i}`);
      stranded.push(await online(null, [victim.address], name, await registerUser(victim.address, name), { reconnect: false }));
    }
    const onVictim = users.filter((u) => u.client.server.port === victim.port);
    assert.equal(onVictim.length, 2);
    const relogins = new Map<number, string>();
    let caughtUp = 0;
    for (const u of onVictim) {
      u.client.on('login', (info) => {
        if (!info.relogin) return;
        relogins.set(u.id, info.instanceId);
        caughtUp += info.caughtUp;
      });
    }
    const victimUsers = [...onVictim, ...stranded].map((u) => u.id);
    const located = await presence.lookup(victimUsers);
    for (const id of victimUsers) assert.equal(located.get(id)?.[0]?.instanceId, victim.id, `user ${id} on the victim`);

    traffic.start();
    await sleep(1500);
    const killedAt = Date.now();
    await cluster.kill9(victim);

    // Nobody treats the dead instance's users as online once the TTL has passed.
    await waitFor('the dead instance\'s locations to expire', async () => {
      const locs = await presence.lookup(stranded.map((s) => s.id));
      const insts = await presence.instances();
      return locs.size === 0 && !insts.some((i) => i.instanceId === victim.id);
    }, TTL_MS + 1000, 50);
    t.diagnostic(`locations of the dead instance gone after ${Date.now() - killedAt} ms (TTL ${TTL_MS} ms)`);
    const left = await presence.lookup(victimUsers);
    for (const locs of left.values()) for (const l of locs) assert.notEqual(l.instanceId, victim.id);

    // Its reconnecting clients are on other instances now, and the traffic goes on.
    await waitFor('the victim\'s clients to log in elsewhere', () => relogins.size === onVictim.length, 15_000);
    for (const inst of relogins.values()) assert.notEqual(inst, victim.id);
    t.diagnostic(`the victim's clients re-logged in elsewhere and caught up ${caughtUp} messages`);
    await sleep(2000);
    await finish(t, ledger, traffic);
  }));

  it('RabbitMQ stop_app/start_app: nothing lost or duplicated, delivery resumes within 10 s', BOUNDED,
    cluster.keepLogsOnFailure(async (t) => {
    const procs = await threeInstances('r');
    const ledger = new Ledger();
    const { traffic } = await crossTraffic(ledger, procs, 'rmq');
    traffic.start();
    await sleep(1500);
    let backAt = 0;
    try {
      await rabbitmqctl(['stop_app'], 60_000);
      const downAt = Date.now();
      await sleep(3000);
      await rabbitmqctl(['start_app'], 60_000);
      await waitRabbitUp();
      backAt = Date.now();
      t.diagnostic(`broker down for ${backAt - downAt} ms`);
    } finally {
      await ensureRabbit();
    }
    // Keep sending well past the resume bound, so the bound is checked on live traffic.
    await sleep(RESUME_MS + 1000);
    await finish(t, ledger, traffic);
    const late: string[] = [];
    let worst = 0;
    for (const s of ledger.sent.values()) {
      const due = Math.max(s.sentAt, backAt);
      const got = ledger.receivedAt(s)!;
      worst = Math.max(worst, got - due);
      if (got - due > RESUME_MS) late.push(`${s.body}: ${got - due} ms after max(sent, broker back)`);
    }
    t.diagnostic(`latest arrival after max(sent, broker back): ${worst} ms`);
    assert.deepEqual(late.slice(0, 5), [], `${late.length} messages arrived more than ${RESUME_MS} ms late`);
  }));

  it('Redis restart (all keys lost): nothing lost, locations rebuilt within 5 s', BOUNDED,
    cluster.keepLogsOnFailure(async (t) => {
    const procs = await threeInstances('d');
    const ledger = new Ledger();
    const { users, traffic } = await crossTraffic(ledger, procs, 'rds');
    for (const u of users) assert.notDeepEqual(await locationHash(u.id), {}, `user ${u.id} located`);
    traffic.start();
    await sleep(1500);
    let backAt = 0;
    try {
      await redisShutdown();
      await sleep(2000);
      await redisStart();
      backAt = Date.now();
    } finally {
      await ensureRedis();
    }
    // Every connected user's location hash is written again by its instance.
    await waitFor('every location to be rebuilt', async () => {
      for (const u of users) if (Object.keys(await locationHash(u.id)).length === 0) return false;
      return true;
    }, REBUILD_MS, 50);
    t.diagnostic(`locations rebuilt ${Date.now() - backAt} ms after Redis was back`);
    await waitFor('the test\'s own presence client to reconnect', () => presence.health === 'up', 5_000);
    const locs = await presence.lookup(users.map((u) => u.id));
    for (const u of users) {
      const port = u.client.server.port;
      const home = procs.find((p) => p.port === port)!;
      assert.equal(locs.get(u.id)?.[0]?.instanceId, home.id, `user ${u.id} located on its instance`);
    }
    await sleep(3000);
    await finish(t, ledger, traffic);
  }));
});
