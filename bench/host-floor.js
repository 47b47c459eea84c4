#!/usr/bin/env node
'use strict';
/**
 * What this host's kernel allows, with no server code at all: the floors under two DESIGN.md
 * targets that the server cannot beat from user space.
 *
 *   1. Wake-up cost: a bare Node echo server and a client in two processes, one 100-byte message
 *      at a time at a fixed rate over loopback TCP. Prints the CPU each side spends per round
 *      trip (one read and one write each, plus the epoll wake-up). At low rates every message
 *      wakes a sleeping process; the cross-instance chat path crosses ~6 processes per message
 *      (load tool, two instances, MariaDB, RabbitMQ), so this figure times ~10 is its floor.
 *      Also the round trip's latency (p50 / p99 / max): one hop there and back, no work done.
 *   2. Fan-out floor: one process writes one 200-byte buffer to each of N accepted loopback
 *      sockets (a child process reads them all); prints how long the write loop takes, the
 *      writer's CPU, and when the child has read the last one (medians of --rounds). The write
 *      loop is the floor under "the last member of a 10,000-member group in <= 100 ms" on one
 *      instance: a server must make at least these writes, one per member socket.
 *
 *   node bench/host-floor.js [--rates 200,1000,2000] [--seconds 5] [--sockets 10000] [--rounds 10]
 */
const net = require('node:net');
const fs = require('node:fs');
const { fork } = require('node:child_process');
const { performance } = require('node:perf_hooks');

function arg(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
}
const cpuMs = (pid) => fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ').slice(11, 13).map(Number).reduce((a, b) => a + b) * 10;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const send = (m) => process.send && process.send(m);

/** Child roles. */
if (process.argv[2] === 'echo') {
  const srv = net.createServer((s) => { s.setNoDelay(true); s.on('data', (d) => s.write(d)); });
  srv.listen(0, '127.0.0.1', () => send({ port: srv.address().port }));
  return;
}
if (process.argv[2] === 'reader') {
  // Connects n sockets to the writer's port, then reports each round: the moment every socket
  // has received its bytes for that round.
  const [port, n, bytes] = process.argv.slice(3).map(Number);
  let open = 0;
  let got = 0;
  const socks = [];
  const onData = (d) => {
    got += d.length;
    if (got >= n * bytes) { got -= n * bytes; send({ done: true }); }
  };
  const next = () => {
    if (open === n) return send({ connected: n });
    const s = net.connect(port, '127.0.0.1', () => { open++; setImmediate(next); });
    s.on('data', onData);
    s.on('error', (e) => { console.error(`reader: ${e.message}`); process.exit(1); });
    socks.push(s);
  };
  for (let i = 0; i < 50; i++) next();
  return;
}

function child(args) {
  const c = fork(__filename, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const waiters = [];
  c.on('message', (m) => waiters.shift()?.(m));
  c.next = () => new Promise((r) => waiters.push(r));
  return c;
}

async function wakeup(rate, seconds) {
  const echo = child(['echo']);
  const { port } = await echo.next();
  const sock = net.connect(port, '127.0.0.1');
  sock.setNoDelay(true);
  await new Promise((r) => sock.once('connect', r));
  // Each message carries its send time; round trips are timed when the echo is complete.
  let back = 0;
  let pending = Buffer.alloc(0);
  let rtts = [];
  sock.on('data', (d) => {
    back += d.length;
    pending = pending.length ? Buffer.concat([pending, d]) : d;
    while (pending.length >= 100) {
      rtts.push(performance.now() - pending.readDoubleLE(0));
      pending = pending.subarray(100);
    }
  });
  const timer = setInterval(() => {
    const buf = Buffer.alloc(100, 1);
    buf.writeDoubleLE(performance.now(), 0);
    sock.write(buf);
  }, 1000 / rate);
  await new Promise((r) => setTimeout(r, 1000)); // warm-up
  rtts = [];
  const b0 = back; const e0 = cpuMs(echo.pid); const c0 = cpuMs(process.pid);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const msgs = (back - b0) / 100;
  rtts.sort((a, b) => a - b);
  const pct = (q) => rtts[Math.min(rtts.length - 1, Math.floor(q * rtts.length))];
  const out = {
    rate, msgs, echoUsPerMsg: ((cpuMs(echo.pid) - e0) * 1000) / msgs, clientUsPerMsg: ((cpuMs(process.pid) - c0) * 1000) / msgs,
    rttP50: pct(0.5), rttP99: pct(0.99), rttMax: rtts[rtts.length - 1],
  };
  clearInterval(timer);
  sock.destroy();
  echo.kill();
  return out;
}

async function fanout(n, rounds) {
  const accepted = [];
  const srv = net.createServer((s) => { s.setNoDelay(true); accepted.push(s); });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const bytes = 200;
  const reader = child(['reader', String(srv.address().port), String(n), String(bytes)]);
  await reader.next(); // connected
  while (accepted.length < n) await new Promise((r) => setTimeout(r, 10));
  const buf = Buffer.alloc(bytes, 2);
  const lat = [];
  const loop = [];
  const cpu = [];
  const rcpu = [];
  for (let i = 0; i < rounds + 1; i++) {
    await new Promise((r) => setTimeout(r, 200));
    const done = reader.next();
    const c0 = cpuMs(process.pid);
    const r0 = cpuMs(reader.pid);
    const t0 = performance.now();
    for (const s of accepted) s.write(buf);
    const t1 = performance.now();
    const c1 = cpuMs(process.pid);
    await done;
    if (i > 0) { lat.push(performance.now() - t0); loop.push(t1 - t0); cpu.push(c1 - c0); rcpu.push(cpuMs(reader.pid) - r0); } // round 0 warms up
  }
  reader.kill();
  for (const s of accepted) s.destroy();
  srv.close();
  return { sockets: n, rounds, lastSocketMedianMs: median(lat), lastSocketMaxMs: Math.max(...lat), writeLoopMedianMs: median(loop), writerCpuMsMedian: median(cpu), readerCpuMsMedian: median(rcpu) };
}

async function main() {
  const rates = String(arg('rates', '200,1000,2000')).split(',').map(Number);
  const seconds = Number(arg('seconds', 5));
  console.log('| rate (msgs/s) | echo server CPU-µs per message | client CPU-µs per message | round trip p50 / p99 / max (ms) |');
  console.log('|---|---|---|---|');
  for (const r of rates) {
    const w = await wakeup(r, seconds);
    console.log(`| ${r.toLocaleString('en')} | ${w.echoUsPerMsg.toFixed(0)} | ${w.clientUsPerMsg.toFixed(0)} | ` +
      `${w.rttP50.toFixed(3)} / ${w.rttP99.toFixed(3)} / ${w.rttMax.toFixed(3)} |`);
  }
  const f = await fanout(Number(arg('sockets', 10000)), Number(arg('rounds', 10)));
  console.log('');
  console.log(`fan-out floor: one 200-byte write to each of ${f.sockets.toLocaleString('en')} loopback sockets (median of ${f.rounds} rounds): ` +
    `the write loop takes ${f.writeLoopMedianMs.toFixed(1)} ms; the reader has the last one after ${f.lastSocketMedianMs.toFixed(1)} ms ` +
    `(max ${f.lastSocketMaxMs.toFixed(1)}). CPU per round (10 ms ticks): writer ${f.writerCpuMsMedian} ms, reader ${f.readerCpuMsMedian} ms, so ` +
    `even spread perfectly over both cores one round needs ${((f.writerCpuMsMedian + f.readerCpuMsMedian) / 2).toFixed(0)} ms`);
  process.exit(0);
}

main().catch((e) => { console.error(e); process.exit(1); });
