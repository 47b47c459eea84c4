#!/usr/bin/env node
/**
 * Codec benchmark (DESIGN.md target: >= 1,000,000 frames/s encode+decode of a typical chat on one
 * core). Plain Node on the compiled im-common, so build first: `npx tsc -b packages/im-common`.
 *
 *   node bench/codec.js [--seconds S] [--rounds R] [--batch B]
 *
 * Three measurements, each the median of R rounds of S CPU-seconds after a warm-up:
 *   encode        encodeFrame(CHAT, msg) per frame
 *   decode        FrameDecoder.push + decodeBody on pre-encoded frames, B frames per pushed chunk
 *                 (a TCP read usually carries several frames; B=1 is the worst case)
 *   encode+decode one frame encoded, pushed alone and decoded per iteration: the headline number
 * Prints one JSON line (for scripts) and one human line.
 */
'use strict';
const path = require('node:path');
const common = require(path.join(__dirname, '..', 'packages', 'im-common'));

const { encodeFrame, decodeBody, FrameDecoder, MessageType } = common;

function arg(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}
const SECONDS = arg('seconds', 1);
const ROUNDS = arg('rounds', 5);
const BATCH = arg('batch', 16);

/** A typical stored chat as the server pushes it: ~100-byte body, every id field set. */
function typicalChat(i) {
  return {
    id: `c-8f14e45f-ceea-467e-${(100000 + (i % 900000)).toString()}`,
    userId: 1001,
    receiveId: 1002,
    msgType: 0,
    timeStamp: 1665142797000 + i,
    msgBody: Buffer.from('x'.repeat(100)),
    needAck: true,
    seq: 100000 + i,
    serverMsgId: 9007199254 + i,
    convId: 'p:1001:1002',
    serverTime: 1665142797123 + i,
  };
}

const MSGS = Array.from({ length: 1024 }, (_, i) => typicalChat(i));
const FRAMES = MSGS.map((m) => encodeFrame(MessageType.CHAT, m));

/** CPU time of this process in ns (user + system, all threads: GC helpers count too). */
function cpuNs(since) {
  const u = process.cpuUsage(since);
  return (u.user + u.system) * 1000;
}

/**
 * Runs `fn(n)` (which must do n frames) for about `seconds` of CPU time; returns frames per CPU
 * second and per wall second. CPU time is the figure that matters for "one core" and is far less
 * disturbed than wall time when other processes share the machine.
 */
function measure(fn, seconds) {
  let n = 1024;
  // Calibrate the batch size so the clocks are read rarely.
  for (;;) {
    const t0 = process.hrtime.bigint();
    fn(n);
    if (Number(process.hrtime.bigint() - t0) > 20e6) break;
    n *= 2;
  }
  let frames = 0;
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  let cpu = 0;
  while (cpu < seconds * 1e9) {
    fn(n);
    frames += n;
    cpu = cpuNs(c0);
  }
  const wall = Number(process.hrtime.bigint() - t0);
  return { cpu: (frames / cpu) * 1e9, wall: (frames / wall) * 1e9 };
}

let sink = 0; // keeps results alive so nothing is optimised away

function encodeLoop(n) {
  for (let i = 0; i < n; i++) sink += encodeFrame(MessageType.CHAT, MSGS[i & 1023]).length;
}

const decoder = new FrameDecoder();
function onFrame(f) {
  const m = decodeBody(f.typeCode, f.body);
  sink += m.seq;
}

// Pre-joined chunks of BATCH frames for the decode-only measurement.
const CHUNKS = [];
for (let i = 0; i < 1024; i += BATCH) CHUNKS.push(Buffer.concat(FRAMES.slice(i, i + BATCH)));
function decodeLoop(n) {
  const chunks = Math.max(1, Math.round(n / BATCH));
  for (let i = 0; i < chunks; i++) {
    const err = decoder.push(CHUNKS[i % CHUNKS.length], onFrame);
    if (err) throw err;
  }
}

function roundTripLoop(n) {
  for (let i = 0; i < n; i++) {
    const err = decoder.push(encodeFrame(MessageType.CHAT, MSGS[i & 1023]), onFrame);
    if (err) throw err;
  }
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Median over rounds of frames per CPU second (and per wall second). */
function run(fn) {
  measure(fn, Math.min(0.5, SECONDS)); // warm-up: let the JIT settle
  const rs = [];
  for (let r = 0; r < ROUNDS; r++) rs.push(measure(fn, SECONDS));
  return { cpu: Math.round(median(rs.map((r) => r.cpu))), wall: Math.round(median(rs.map((r) => r.wall))) };
}

const encode = run(encodeLoop);
const decode = run(decodeLoop);
const roundTrip = run(roundTripLoop);

const result = {
  bench: 'codec',
  node: process.version,
  frameBytes: FRAMES[0].length,
  batch: BATCH,
  encodePerSec: encode.cpu,
  decodePerSec: decode.cpu,
  encodeDecodePerSec: roundTrip.cpu,
  encodeDecodePerWallSec: roundTrip.wall,
  target: 1_000_000,
  pass: roundTrip.cpu >= 1_000_000,
};
console.log(JSON.stringify(result));
const fmt = (x) => x.toLocaleString('en-US');
console.log(`codec: ${result.frameBytes}-byte chat frame, per CPU-second: encode ${fmt(encode.cpu)}/s, ` +
  `decode ${fmt(decode.cpu)}/s (${BATCH} frames/chunk), encode+decode ${fmt(roundTrip.cpu)}/s ` +
  `(1 frame/chunk; ${fmt(roundTrip.wall)}/s wall) — target 1,000,000/s ${result.pass ? 'MET' : 'NOT MET'}` +
  ` (sink ${sink % 10})`);
