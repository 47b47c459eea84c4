/**
 * The fuzz suite of issue 7, bounded for CI (about 12 s of fuzzing; seed from HXIM_FUZZ_SEED,
 * printed on failure). Hundreds of connections send random bytes, truncated frames, lengths
 * 0/1/-1/2^31-1/max+1, unknown types, deep nesting, huge fields, prototype-polluting strings in
 * every field of every message type, and valid frames in the wrong state, while a
 * well-behaved pair keeps chatting. Asserts:
 * - no crash and no uncaught exception or unhandled rejection (a process-level trap);
 * - Object.prototype untouched;
 * - every fatal error frame is followed by the close within 1 s, and every offender is closed
 *   in the end (at the latest by the short partial-frame, login and idle deadlines);
 * - the pair never misses a message or an ack.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageType, type ErrorMessage } from '@hxim/im-common';
import type { ImServer } from '../src';
import { RawClient } from './helpers/raw-client';
import { login, register, uname } from './helpers/modern';
import { startTestServer } from './helpers/server';
import { Fuzzer, prng, type FuzzCase } from './helpers/fuzz';

const SEED = Number(process.env.HXIM_FUZZ_SEED ?? Date.now() % 1e9);
const FUZZ_MS = Number(process.env.HXIM_FUZZ_MS ?? 12_000);
const CONCURRENCY = 24;
const MAX_FRAME = 64 * 1024;
/** Every offender is closed by then after its last byte: the deadlines below plus a sweep. */
const CLOSE_BUDGET_MS = 2500;

const trapped: unknown[] = [];
const trap = (err: unknown): void => { trapped.push(err); };
let srv: ImServer;

function snapshot(o: object): string {
  return Reflect.ownKeys(o).map((k) => {
    const d = Object.getOwnPropertyDescriptor(o, k)!;
    return `${String(k)}:${typeof d.value}:${String(d.get)}:${String(d.set)}:${d.writable}:${d.enumerable}`;
  }).join('|');
}
const PROTO_BEFORE = snapshot(Object.prototype);

before(async () => {
  process.on('uncaughtException', trap);
  process.on('unhandledRejection', trap);
  srv = await startTestServer({
    maxFrameBytes: MAX_FRAME, loginTimeoutMs: 600, partialFrameTimeoutMs: 600, idleTimeoutMs: 1500, heartbeatMs: 500,
    loginFailuresPerAccount: 0, loginFailuresPerAddress: 0,
  });
});

after(async () => {
  await srv.stop();
  process.off('uncaughtException', trap);
  process.off('unhandledRejection', trap);
});

interface Account { userName: string; token: string }

/** Logs an offender in: with its account's token, or the password if a logout deleted it. */
async function loginOffender(acc: Account, platform: number): Promise<RawClient> {
  if (acc.token) {
    const c = await RawClient.connect(srv.port);
    c.send(MessageType.ONLINE, { id: 'l', protocolVersion: 1, token: acc.token, userPlatformId: platform });
    const ok = await c.next(MessageType.LOGIN_ACK).then(() => true, () => false);
    if (ok) return c;
    c.destroy();
  }
  const { c, ack } = await login(srv.port, { userName: acc.userName, password: 'secret-pw' }, { platform });
  acc.token = ack.token;
  return c;
}

/** Sends one case on a fresh connection and checks what the server did. Returns a failure or null. */
async function runCase(fc: FuzzCase, acc: Account, platform: number): Promise<string | null> {
  const c = fc.state === 'online' ? await loginOffender(acc, platform) : await RawClient.connect(srv.port);
  const sentAt = Date.now();
  c.sendRaw(fc.bytes);
  let closedAt = 0;
  void c.closedPromise.then(() => { closedAt = Date.now(); });
  const e = fc.expect;
  let err: ErrorMessage | null = null;
  try {
    err = await c.next(MessageType.ERROR, () => true, e.kind === 'any' ? 300 : 1500).catch(() => null);
    if (e.kind === 'error' || e.kind === 'fatal') {
      if (!err) return `${fc.name}: no error frame (got ${JSON.stringify(c.types())}, closed ${c.closed})`;
      if (e.codes && !e.codes.includes(err.code)) return `${fc.name}: error ${err.code}, expected ${e.codes.join('/')}`;
      if (e.kind === 'fatal' && !err.fatal) return `${fc.name}: ${err.code} not fatal`;
      if (e.kind === 'error' && err.fatal) return `${fc.name}: ${err.code} fatal`;
    }
    if (err?.fatal || e.kind === 'fatal') {
      await c.waitClosed(1500).catch(() => undefined);
      if (!closedAt) return `${fc.name}: fatal ${err?.code} but not closed`;
      if (closedAt - sentAt > 1000) return `${fc.name}: closed ${closedAt - sentAt} ms after the offending bytes`;
    } else if (e.kind === 'error') {
      c.send(MessageType.HEARTBEAT, { id: 'still-usable' });
      if (!(await c.next(MessageType.HEARTBEAT, (m) => m.id === 'still-usable', 1000).then(() => true, () => false))) {
        return `${fc.name}: ${err?.code} should leave the connection usable`;
      }
    } else {
      // Anything else must end by the short deadlines at the latest (nothing more is sent).
      await c.waitClosed(CLOSE_BUDGET_MS).catch(() => undefined);
      if (!c.closed) return `${fc.name}: still open ${Date.now() - sentAt} ms after its last byte`;
    }
    return null;
  } finally {
    c.destroy();
  }
}

test(`fuzz (seed ${SEED}): no crash, no pollution, offenders closed in time, the pair keeps chatting`, async () => {
  const [an, bn] = [uname('alice'), uname('bob')];
  await register(srv.port, an);
  const bid = await register(srv.port, bn);
  const alice = await login(srv.port, { userName: an, password: 'secret-pw' });
  const bob = await login(srv.port, { userName: bn, password: 'secret-pw' });
  const accounts: Account[] = [];
  for (let i = 0; i < 8; i++) {
    const userName = uname('fz');
    await register(srv.port, userName);
    accounts.push({ userName, token: '' });
  }

  let stop = false;
  let chats = 0, worstMs = 0;
  // Bob only receives: heartbeats keep both under the (short) idle timeout, as a client does.
  const hb = setInterval(() => { for (const c of [alice.c, bob.c]) c.send(MessageType.HEARTBEAT, {}); }, 300);
  const pair = (async () => {
    while (!stop) {
      const id = `pair-${chats}`;
      const t0 = Date.now();
      alice.c.send(MessageType.CHAT, { id, receiveId: bid, msgBody: Buffer.from(`hello ${chats}`) });
      await alice.c.next(MessageType.ACK, (m) => m.clientMsgId === id, 3000);
      await bob.c.next(MessageType.CHAT, (m) => m.id === id, 3000);
      worstMs = Math.max(worstMs, Date.now() - t0);
      chats++;
      await new Promise((r) => setTimeout(r, 5));
    }
  })().finally(() => { stop = true; });

  const fuzz = new Fuzzer(prng(SEED), MAX_FRAME);
  const failures: string[] = [];
  const counts = new Map<string, number>();
  let cases = 0, platform = 0;
  const end = Date.now() + FUZZ_MS;
  await Promise.all(Array.from({ length: CONCURRENCY }, async (_, w) => {
    while (Date.now() < end && failures.length < 20 && !stop) {
      const fc = fuzz.next();
      const kind = fc.name.replace(/[-\d]+/g, 'N');
      counts.set(kind, (counts.get(kind) ?? 0) + 1);
      cases++;
      const f = await runCase(fc, accounts[w % accounts.length]!, ++platform).catch((err: unknown) => `${fc.name}: ${String(err)}`);
      if (f) failures.push(f);
    }
  }));
  stop = true;
  await pair.finally(() => clearInterval(hb));

  assert.deepEqual(failures, [], `seed ${SEED}`);
  assert.deepEqual(trapped, [], `seed ${SEED}: uncaught exceptions or unhandled rejections`);
  assert.equal(snapshot(Object.prototype), PROTO_BEFORE, 'Object.prototype was modified');
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.ok(cases > 300, `only ${cases} cases ran`);
  assert.ok(chats > 100, `the pair exchanged only ${chats} messages`);
  assert.ok(worstMs < 1000, `the pair waited up to ${worstMs} ms for a message`);
  // Every offender is gone; only the pair is left.
  const deadline = Date.now() + CLOSE_BUDGET_MS;
  while (srv.connections.size > 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.equal(srv.connections.size, 2, 'offender connections left open');
  console.log(`# fuzz seed ${SEED}: ${cases} cases, pair ${chats} messages (worst ${worstMs} ms); ${JSON.stringify([...counts].sort())}`);
  alice.c.destroy();
  bob.c.destroy();
});
