#!/usr/bin/env node
/**
 * Bad-input bench (DESIGN.md target: "1,000,000 malformed frames survived with no crash and no
 * leak; each offender closed within 1 s; well-behaved clients' p99 stays <= 2x its baseline").
 * Not part of CI (test/fuzz.test.ts is the bounded version). Build first: `npx tsc -b`.
 *
 *   node bench/fuzz-1m.js [--frames 1000000] [--rounds 2] [--fatal-share 0.05] [--offenders 48]
 *                         [--connectors 32] [--pair-rate 200] [--baseline-s 10] [--server-heap-mb 0]
 *                         [--sqlite-sync NORMAL] [--rate 0]
 *
 * It starts the real server process (default limits, --auth open, embedded SQLite with
 * synchronous=NORMAL so disk fsync stalls do not blur the latency figures, admin port on), then:
 * 1. baseline: a well-behaved pair chats at --pair-rate msgs/s (open loop) for --baseline-s;
 *    latency = intended send time -> STORED ack, and -> delivery to the peer;
 * 2. fuzz: --frames malformed frames while the pair keeps chatting:
 *    - (1 - fatal-share) of them on --offenders long-lived, logged-in connections: frames that
 *      are well formed but wrong (server-only types, chat to self, forged sender, oversized
 *      id or body, hostile strings in ids, a second login, register in open mode, bad sync
 *      pages); each must be answered by exactly one non-fatal error frame (closed loop,
 *      500 outstanding per connection, so the frame-rate limit paces them, as designed; with
 *      --rate N they are also paced to N frames/s in all, to measure below saturation);
 *    - fatal-share of them each on a fresh connection (--connectors at a time, rotating
 *      source addresses 127.0.0.2-20): lengths -1/-2^31/2^31-1/max+1, unknown types,
 *      undecodable bodies, 64 KiB of nested groups, garbage behind a valid frame; each must
 *      get a fatal error frame and be closed within 1 s (measured send -> close);
 *    Truncated frames are left to the CI fuzz suite: the server rightly waits
 *    partialFrameTimeoutMs (30 s) for the rest, which would only measure this bench's patience.
 *    The frames are sent in --rounds rounds (default 2); after each, 5 s to settle, then the
 *    server's RSS and V8 heap are read: a leak grows round over round, a warmed-up heap does not.
 *    With --server-heap-mb N the server runs with --max-old-space-size=N: a leak then crashes it.
 * 3. read the server's connections and error counters, and stop it with SIGTERM (exit 0).
 * The pair, the long-lived offenders and the fatal connectors each run in their own process
 * (this script, forked with --role), so a busy driver never shows up as server latency; they
 * still share the box's cores with the server, as every bench here does.
 * Prints a human summary on stderr and one JSON line on stdout. HXIM_FUZZ_PROF=<dir> runs the
 * server with --cpu-prof into that directory.
 */
'use strict';
const { fork, spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const common = require(path.join(ROOT, 'packages', 'im-common'));
const { encodeFrame, decodeBody, FrameDecoder, MessageType } = common;
const SERVER_CLI = path.join(ROOT, 'packages', 'im-server', 'dist', 'src', 'cli.js');

function arg(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}
const FRAMES = arg('frames', 1_000_000);
const FATAL_SHARE = arg('fatal-share', 0.05);
const OFFENDERS = arg('offenders', 48);
const CONNECTORS = arg('connectors', 32);
const PAIR_RATE = arg('pair-rate', 200);
const BASELINE_S = arg('baseline-s', 10);
const ROUNDS = arg('rounds', 2);
const HEAP_MB = arg('server-heap-mb', 0);
/** Non-fatal malformed frames per second over all offenders; 0 = as fast as the server answers. */
const RATE = arg('rate', 0);
// NORMAL by default: the pair's latency should show what bad input costs, not the disk's fsync
// stalls (on a shared box they dominate its p99). --sqlite-sync FULL measures with them.
const SQLITE_SYNC = (() => { const i = process.argv.indexOf('--sqlite-sync'); return i > 0 ? process.argv[i + 1] : 'NORMAL'; })();
const MAX_FRAME = 64 * 1024;
const WINDOW = 500;
const SOURCES = Array.from({ length: 19 }, (_, i) => `127.0.0.${i + 2}`);

const BOOT = performance.now();
const log = (...a) => process.stderr.write(`[fuzz-1m] ${a.join(' ')}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

function rssKiB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

function pct(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const r = (v) => Math.round(v * 100) / 100;
  return { n: s.length, p50: r(pct(s, 50)), p99: r(pct(s, 99)), max: r(s[s.length - 1] ?? NaN) };
}

/** A raw connection that decodes every frame it receives. */
function connect(port, localAddress, onFrame) {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', localAddress, noDelay: true }, () => resolve(s));
    const dec = new FrameDecoder({ maxFrameBytes: 16 * 1024 * 1024 });
    s.on('data', (chunk) => dec.push(chunk, (f) => onFrame(f.typeCode, decodeBody(f.typeCode, f.body))));
    s.once('error', reject);
  });
}

function header(len, type) {
  const h = Buffer.alloc(8);
  h.writeInt32BE(len | 0, 0);
  h.writeInt32BE(type | 0, 4);
  return h;
}

const EVIL = ['__proto__', 'constructor', 'toString', 'prototype', 'hasOwnProperty', 'p:__proto__:1', 'g:constructor',
  '{"__proto__":{"polluted":true}}', '\u0000', "'; DROP TABLE chat_message; --"];

/** Frames a logged-in user `uid` sends that each get exactly one non-fatal error frame. */
function nonFatalFrames(uid) {
  const out = [];
  for (const e of EVIL) {
    out.push(encodeFrame(MessageType.CHAT, { id: e, receiveId: uid, msgBody: Buffer.from(e) })); // to self: BAD_REQUEST
    out.push(encodeFrame(MessageType.CHAT, { id: e, userId: uid + 1, receiveId: 1, msgBody: Buffer.from(e) })); // FORBIDDEN_SENDER
    out.push(encodeFrame(MessageType.ACK, { id: e, kind: 2, convId: e, seq: 1 })); // BAD_REQUEST (not a conversation)
    out.push(encodeFrame(MessageType.ACK, { id: e, kind: 0, userId: uid + 7, receiveId: 1 })); // PEER ack, forged: FORBIDDEN_SENDER
    out.push(encodeFrame(MessageType.SYNC, { requestId: e, convId: e })); // BAD_REQUEST
    out.push(encodeFrame(MessageType.ONLINE, { id: e, userId: uid, userName: e, password: e, token: e, protocolVersion: 1 })); // ALREADY_LOGGED_IN
    out.push(encodeFrame(MessageType.REGISTER, { requestId: e, userName: e, password: e })); // NOT_ALLOWED (open mode)
    out.push(encodeFrame(MessageType.LOGIN_ACK, { userName: e, token: e, instanceId: e })); // BAD_REQUEST (server-only)
    out.push(encodeFrame(MessageType.ERROR, { requestId: e, code: e, message: e })); // BAD_REQUEST (server-only)
  }
  out.push(encodeFrame(MessageType.SYNC, { requestId: 'p', limit: -1 })); // PAGE_TOO_LARGE
  out.push(encodeFrame(MessageType.CHAT, { id: 'x'.repeat(200), receiveId: 1, msgBody: Buffer.from('x') })); // BAD_REQUEST
  out.push(encodeFrame(MessageType.CHAT, { id: 'neg', receiveId: -5, msgBody: Buffer.from('x') })); // BAD_REQUEST
  out.push(encodeFrame(MessageType.CHAT, { id: 'big', receiveId: 1, msgBody: Buffer.alloc(17 * 1024, 0x61) })); // BODY_TOO_LARGE
  return out;
}

/** Frames that must each get a fatal error and a close within 1 s. */
const FATAL = [
  ['length -1', header(-1, 2)],
  ['length -2^31', header(-0x80000000, 2)],
  ['length 2^31-1', header(0x7fffffff, 2)],
  ['length max+1', header(MAX_FRAME + 1, 4)],
  ['unknown type 77', Buffer.concat([header(3, 77), Buffer.from([1, 2, 3])])],
  ['type -1', header(0, -1)],
  ['undecodable body', Buffer.concat([header(3, 2), Buffer.from([0x0a, 0xff, 0xff])])],
  ['64 KiB of nested groups', Buffer.concat([header(MAX_FRAME, 2), Buffer.alloc(MAX_FRAME, 0x0b)])],
  ['garbage behind a valid frame', Buffer.concat([encodeFrame(MessageType.HEARTBEAT, { id: 'ok' }), header(-7, 3)])],
  ['HTTP request', Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')],
];

async function startServer() {
  const [port, admin] = [await freePort(), await freePort()];
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hxim-fuzz1m-'));
  const nodeArgs = process.env.HXIM_FUZZ_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.HXIM_FUZZ_PROF}`] : [];
  // A capped old space turns a leak into a crash instead of a slow climb (0: Node's default).
  if (HEAP_MB > 0) nodeArgs.push(`--max-old-space-size=${HEAP_MB}`);
  const child = spawn(process.execPath, [...nodeArgs, SERVER_CLI, 'start', '--host', '0.0.0.0', '--port', String(port), '--auth', 'open',
    '--data-dir', dataDir, '--log-level', 'error', '--admin-port', String(admin), '--sqlite-sync', SQLITE_SYNC],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  await new Promise((resolve, reject) => {
    child.stderr.on('data', (d) => { err += d; if (err.includes('listening on')) resolve(); });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${err}`)));
  });
  return { child, port, admin, dataDir };
}

async function scrape(admin) {
  const text = await (await fetch(`http://127.0.0.1:${admin}/metrics`)).text();
  const get = (name) => {
    const line = text.split('\n').find((l) => l.startsWith(name + ' '));
    return line ? Number(line.slice(name.length + 1)) : NaN;
  };
  const errors = {};
  for (const m of text.matchAll(/^hxim_errors_total\{code="([A-Z_]+)"\} (\d+)/gm)) errors[m[1]] = Number(m[2]);
  const kib = (name) => Math.round(get(name) / 1024);
  const memory = { heapUsedKiB: kib('nodejs_heap_size_used_bytes'), externalKiB: kib('nodejs_external_memory_bytes') };
  return { connections: get('hxim_connections'), loopLagP99Ms: get('nodejs_eventloop_lag_p99_seconds') * 1000, errors, memory,
    rejectedRate: Number((/hxim_connections_rejected_total\{reason="rate"\} (\d+)/.exec(text) ?? [0, 0])[1]) };
}

/** The well-behaved pair: open loop at `rate` msgs/s; records ack and delivery latency. */
async function startPair(port, rate) {
  const pending = new Map();
  const lat = { ack: [], deliver: [] };
  let phase = null, failures = 0;
  const a = await connect(port, undefined, (type, m) => {
    if (type === MessageType.ACK) {
      const p = pending.get(m.clientMsgId);
      if (p) { p.acked = performance.now(); if (phase) lat.ack.push(p.acked - p.t); }
    } else if (type === MessageType.ERROR) failures++;
  });
  const b = await connect(port, undefined, (type, m) => {
    if (type === MessageType.CHAT) {
      const p = pending.get(m.id);
      if (p) { pending.delete(m.id); if (phase) lat.deliver.push(performance.now() - p.t); }
    }
  });
  a.write(encodeFrame(MessageType.ONLINE, { id: 'a', userId: 1001, protocolVersion: 1 }));
  b.write(encodeFrame(MessageType.ONLINE, { id: 'b', userId: 1002, protocolVersion: 1 }));
  await sleep(200);
  let i = 0;
  const start = performance.now();
  const timer = setInterval(() => {
    // Open loop: every message due by now is sent, with its intended time.
    const due = Math.floor(((performance.now() - start) / 1000) * rate) + 1; // message i is due at i/rate
    for (; i < due; i++) {
      const id = `pair-${i}`;
      pending.set(id, { t: start + (i * 1000) / rate });
      a.write(encodeFrame(MessageType.CHAT, { id, receiveId: 1002, msgBody: Buffer.alloc(100, 0x61) }));
    }
    if (i % rate < 5) { a.write(encodeFrame(MessageType.HEARTBEAT, {})); b.write(encodeFrame(MessageType.HEARTBEAT, {})); }
  }, 1);
  return {
    measure(name) { phase = name; lat.ack = []; lat.deliver = []; },
    // Lost: sent more than 5 s ago and never delivered (younger ones are still in flight).
    result() {
      const old = performance.now() - 5000;
      let lost = 0;
      for (const p of pending.values()) if (p.t < old) lost++;
      return { ack: stats(lat.ack), deliver: stats(lat.deliver), lost, failures };
    },
    stop() { clearInterval(timer); a.destroy(); b.destroy(); },
  };
}

/** One long-lived offender: sends non-fatal bad frames, `WINDOW` outstanding, until `quota` runs out. */
async function offender(port, uid, quota, counters) {
  const frames = nonFatalFrames(uid);
  let answered = 0, fatal = 0, closed = false;
  const s = await connect(port, SOURCES[uid % SOURCES.length], (type, m) => {
    if (type === MessageType.ERROR) { answered++; if (m.fatal) fatal++; }
  });
  s.on('close', () => { closed = true; });
  s.write(encodeFrame(MessageType.ONLINE, { id: 'o', userId: uid, protocolVersion: 1 }));
  let sent = 0, k = uid;
  const perSecond = RATE > 0 ? RATE / OFFENDERS : 0;
  const start = performance.now();
  while (!closed && quota.left > 0) {
    // Paced: never ahead of perSecond (batches of 100 frames).
    if (perSecond > 0 && sent + 100 > ((performance.now() - start) / 1000) * perSecond) await sleep(5);
    else if (sent - answered < WINDOW) {
      const n = Math.min(100, quota.left);
      quota.left -= n;
      const batch = [];
      for (let j = 0; j < n; j++) batch.push(frames[k++ % frames.length]);
      s.write(Buffer.concat(batch));
      sent += n;
      counters.nonFatal += n;
    } else await sleep(1);
  }
  const end = Date.now() + 15_000;
  while (!closed && answered < sent && Date.now() < end) await sleep(5);
  counters.answered += answered;
  counters.unanswered += sent - answered;
  counters.offenderFatal += fatal + (closed ? 1 : 0);
  s.destroy();
}

/** One fatal offender: connect, send one bad frame, time until the server closes. */
async function fatalOne(port, n, counters) {
  const [name, bytes] = FATAL[n % FATAL.length];
  let got = null, gotAt = 0;
  const c0 = performance.now();
  const s = await connect(port, SOURCES[n % SOURCES.length], (type, m) => {
    if (type === MessageType.ERROR && !got) { got = m; gotAt = performance.now(); }
  }).catch(() => null);
  if (!s) { counters.connectFailed++; return false; }
  s.on('error', () => undefined);
  const t0 = performance.now();
  const closed = new Promise((r) => s.on('close', r));
  s.write(bytes);
  const timedOut = await Promise.race([closed.then(() => false), sleep(5000).then(() => true)]);
  const ms = performance.now() - t0;
  s.destroy();
  if (got && got.code === 'RATE_LIMITED') { counters.rateLimited++; await sleep(got.retryAfterMs || 10); return false; }
  counters.closeMs.push(ms);
  if (timedOut || ms > 1000) counters.slowClose.push(`${name}: ${Math.round(ms)} ms (error frame after ${gotAt ? Math.round(gotAt - t0) : '-'} ms, connect took ${Math.round(t0 - c0)} ms, at +${Math.round(t0 - BOOT)} ms)`);
  if (!got || !got.fatal) counters.noFatalFrame.push(`${name}: ${got ? got.code : 'no error frame'}`);
  return true;
}

/** Runs a role in a child process; resolves with its messages as an async channel. */
function worker(role, extra = []) {
  const child = fork(__filename, ['--role', role, ...extra, ...process.argv.slice(2)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const waiting = [];
  const queue = [];
  child.on('message', (m) => { const w = waiting.shift(); if (w) w(m); else queue.push(m); });
  return {
    child,
    send: (m) => child.send(m),
    next: () => (queue.length ? Promise.resolve(queue.shift()) : new Promise((r) => waiting.push(r))),
  };
}

async function roleMain() {
  const t0 = Date.now();
  const srv = await startServer();
  log(`server pid ${srv.child.pid} on :${srv.port}, admin :${srv.admin}; ${FRAMES} frames in ${ROUNDS} rounds, ${FATAL_SHARE * 100}% fatal`);
  const pair = worker('pair', ['--port', String(srv.port)]);
  await pair.next(); // ready
  await sleep(2000);
  pair.send({ measure: 'baseline' });
  await sleep(BASELINE_S * 1000);
  pair.send({ result: true });
  const baseline = await pair.next();
  const before = { rssKiB: rssKiB(srv.child.pid), ...(await scrape(srv.admin)).memory };
  log(`baseline: ack p50 ${baseline.ack.p50} / p99 ${baseline.ack.p99} ms; RSS ${before.rssKiB} KiB, heap used ${before.heapUsedKiB} KiB`);

  pair.send({ measure: 'fuzz' });
  let rssPeak = before.rssKiB;
  const rssTimer = setInterval(() => { rssPeak = Math.max(rssPeak, rssKiB(srv.child.pid)); }, 250);
  const o = { nonFatal: 0, answered: 0, unanswered: 0, offenderFatal: 0 };
  const c = { fatal: 0, connectFailed: 0, rateLimited: 0, closeMs: [], slowClose: [], noFatalFrame: [] };
  const rounds = [];
  let fuzzMs = 0;
  for (let r = 1; r <= ROUNDS; r++) {
    const frames = Math.round(FRAMES / ROUNDS);
    const fatalTotal = Math.round(frames * FATAL_SHARE);
    const start = Date.now();
    const progress = setInterval(() => log(`  round ${r}, ${Math.round((Date.now() - start) / 1000)} s: server RSS ${rssKiB(srv.child.pid)} KiB`), 5000);
    const [ro, rc] = await Promise.all([
      worker('offenders', ['--port', String(srv.port), '--quota', String(frames - fatalTotal)]).next(),
      worker('connectors', ['--port', String(srv.port), '--quota', String(fatalTotal)]).next(),
    ]);
    fuzzMs += Date.now() - start;
    clearInterval(progress);
    for (const k of Object.keys(o)) o[k] += ro[k];
    for (const k of ['fatal', 'connectFailed', 'rateLimited']) c[k] += rc[k];
    for (const k of ['closeMs', 'slowClose', 'noFatalFrame']) c[k].push(...rc[k]);
    await sleep(5000); // let it settle (and collect) before reading memory
    const m = { round: r, rssKiB: rssKiB(srv.child.pid), ...(await scrape(srv.admin)).memory };
    rounds.push(m);
    log(`round ${r}: ${ro.nonFatal + rc.fatal} frames in ${((Date.now() - start) / 1000 - 5).toFixed(1)} s; ` +
      `then RSS ${m.rssKiB} KiB, heap used ${m.heapUsedKiB} KiB, external ${m.externalKiB} KiB`);
  }
  clearInterval(rssTimer);
  pair.send({ result: true });
  const during = await pair.next();
  const server = await scrape(srv.admin);
  pair.send({ stop: true });
  const exit = await new Promise((r) => { srv.child.once('exit', r); srv.child.kill('SIGTERM'); });
  fs.rmSync(srv.dataDir, { recursive: true, force: true });

  const frames = o.nonFatal + c.fatal;
  const fuzzS = fuzzMs / 1000;
  const close = stats(c.closeMs);
  const result = {
    frames, nonFatalFrames: o.nonFatal, fatalFrames: c.fatal, fuzzSeconds: fuzzS, framesPerSecond: Math.round(frames / fuzzS),
    answered: o.answered, unanswered: o.unanswered, offendersClosed: o.offenderFatal,
    fatalCloseMs: close, closedOver1s: c.slowClose.length, noFatalFrame: c.noFatalFrame.length,
    refusedByConnectRate: c.rateLimited, connectFailed: c.connectFailed,
    memory: { before, rounds, rssPeakKiB: rssPeak },
    pairBaseline: baseline, pairDuringFuzz: during,
    p99Ratio: Math.round((during.ack.p99 / baseline.ack.p99) * 100) / 100,
    server, exitCode: exit, totalSeconds: Math.round((Date.now() - t0) / 1000),
  };
  log(`fuzz: ${frames} frames in ${fuzzS.toFixed(1)} s (${result.framesPerSecond}/s): ${o.nonFatal} non-fatal ` +
    `(${o.answered} answered by an error frame, ${o.unanswered} unanswered), ${c.fatal} fatal, each on its own connection`);
  log(`fatal offenders closed after p50 ${close.p50} ms, p99 ${close.p99} ms, max ${close.max} ms (client's view: ` +
    `from its send, accept queue included); ${c.slowClose.length} over 1 s` +
    `${c.slowClose.length ? ' e.g. ' + c.slowClose.slice(0, 3).join(', ') : ''}; ${c.noFatalFrame.length} without a fatal frame` +
    `${c.noFatalFrame.length ? ' e.g. ' + c.noFatalFrame.slice(0, 3).join(', ') : ''}; ${c.rateLimited} refused by the connection rate (retried)`);
  log(`server memory: RSS ${before.rssKiB} KiB before, ${rssPeak} KiB peak, ${rounds.map((m) => `${m.rssKiB} KiB`).join(' / ')} after each round; ` +
    `heap used ${before.heapUsedKiB} -> ${rounds.map((m) => m.heapUsedKiB).join(' / ')} KiB; connections left ${server.connections}`);
  log(`pair ack latency: baseline p50 ${baseline.ack.p50} / p99 ${baseline.ack.p99} ms; during fuzz p50 ${during.ack.p50} / ` +
    `p99 ${during.ack.p99} ms (x${result.p99Ratio}), max ${during.ack.max} ms; lost ${during.lost}, errors ${during.failures}`);
  log(`server exit code after SIGTERM: ${exit}`);
  process.stdout.write(JSON.stringify(result) + '\n');
}

async function rolePair() {
  const pair = await startPair(arg('port', 0), PAIR_RATE);
  process.send('ready');
  process.on('message', (m) => {
    if (m.measure) pair.measure(m.measure);
    if (m.result) process.send(pair.result());
    if (m.stop) { pair.stop(); process.exit(0); }
  });
}

async function roleOffenders() {
  const quota = { left: arg('quota', 0) };
  const counters = { nonFatal: 0, answered: 0, unanswered: 0, offenderFatal: 0 };
  await Promise.all(Array.from({ length: OFFENDERS }, (_, i) => offender(arg('port', 0), 100_000 + i, quota, counters)));
  process.send(counters, () => process.exit(0));
}

async function roleConnectors() {
  const port = arg('port', 0);
  const total = arg('quota', 0);
  const counters = { fatal: 0, connectFailed: 0, rateLimited: 0, closeMs: [], slowClose: [], noFatalFrame: [] };
  let next = 0;
  // Paced with --rate: fatal connections keep the same share of the frames per second.
  const perSecond = RATE > 0 ? (RATE * FATAL_SHARE) / (1 - FATAL_SHARE) : 0;
  const start = performance.now();
  await Promise.all(Array.from({ length: CONNECTORS }, async () => {
    while (next < total) {
      if (perSecond > 0 && next >= ((performance.now() - start) / 1000) * perSecond) { await sleep(5); continue; }
      const n = next++;
      if (await fatalOne(port, n, counters)) counters.fatal++;
      else next--; // refused at accept (connection rate): not a malformed frame yet, retry
    }
  }));
  process.send(counters, () => process.exit(0));
}

const ROLES = { main: roleMain, pair: rolePair, offenders: roleOffenders, connectors: roleConnectors };
const roleIndex = process.argv.indexOf('--role');
const role = roleIndex > 0 ? process.argv[roleIndex + 1] : 'main';
// A worker never outlives the bench that forked it.
if (role !== 'main') process.on('disconnect', () => process.exit(0));

ROLES[role]().catch((err) => { console.error(err); process.exit(1); });
