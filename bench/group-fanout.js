'use strict';
/**
 * Group fan-out benchmark (issue 5): one server (embedded SQLite, --auth open) started from the
 * compiled CLI, N member connections over raw TCP in this process, one group with every member,
 * all online. Measures
 *   - latency to the LAST member: one message at a time, from the send to the moment the last of
 *     the N−1 other members has it (median and max over --rounds);
 *   - deliveries/s: a burst of --burst messages sent back to back; deliveries = (N−1) × burst,
 *     over the time from the first send to the last delivery.
 * The client side only reads frame headers (it counts CHAT frames), so it costs little next to
 * the server, but it shares the box's 2 cores with it: the figures are a floor.
 *
 * With --instances N > 1 the members are spread round-robin over N instances in cluster mode
 * (MySQL store in a database of its own, Redis presence, RabbitMQ bus; the sender is on the
 * first): each message reaches the other instances as one envelope per instance.
 *
 *   npx tsc -b && node bench/group-fanout.js [--sizes 1000,10000] [--rounds 20] [--burst 0 (auto)] [--instances 1]
 */
const net = require('node:net');
const fs = require('node:fs');
const { performance } = require('node:perf_hooks');
const { encodeFrame, MessageType } = require('../packages/im-common/dist/src/index.js');
const { execFileSync } = require('node:child_process');
const { startServer, uniqueNamespace } = require('./lib/servers');

function arg(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
}
const SIZES = String(arg('sizes', '1000,10000')).split(',').map(Number);
const ROUNDS = Number(arg('rounds', 20));
const BURST = Number(arg('burst', 0));
const INSTANCES = Number(arg('instances', 1));
const BODY = Buffer.alloc(100, 0x61);

let delivered = 0;
let firstAt = 0;
let target = Infinity;
let onTarget = null;

/** One member connection: logs in, then counts CHAT frames by reading headers only. */
function connect(port, userId) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    s.setNoDelay(true);
    let buf = Buffer.alloc(0);
    let loggedIn = false;
    const waiters = [];
    const conn = {
      socket: s, userId, chats: 0,
      /** Resolves with the next frame of `type` (decoded by the caller). */
      next(type) { return new Promise((r) => waiters.push({ type, r })); },
    };
    s.on('data', (chunk) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      let off = 0;
      while (buf.length - off >= 8) {
        const len = buf.readInt32BE(off);
        if (buf.length - off < 8 + len) break;
        const type = buf.readInt32BE(off + 4);
        if (type === MessageType.CHAT) {
          conn.chats++;
          if (firstAt === 0) firstAt = performance.now();
          if (++delivered >= target && onTarget) { const f = onTarget; onTarget = null; f(performance.now()); }
        } else if (type === MessageType.LOGIN_ACK && !loggedIn) {
          loggedIn = true;
          resolve(conn);
        } else {
          const i = waiters.findIndex((w) => w.type === type);
          if (i >= 0) waiters.splice(i, 1)[0].r(buf.subarray(off + 8, off + 8 + len));
        }
        off += 8 + len;
      }
      buf = off === buf.length ? Buffer.alloc(0) : buf.subarray(off);
    });
    s.once('error', reject);
    s.once('connect', () => s.write(encodeFrame(MessageType.ONLINE, {
      id: 'login', userId, userPlatformId: 1, protocolVersion: 1, timeStamp: Date.now(),
    })));
  });
}

function waitDeliveries(n) {
  return new Promise((resolve) => {
    target = delivered + n;
    if (delivered >= target) resolve(performance.now());
    else onTarget = resolve;
  });
}

function cpuMs(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime + stime, clock ticks (100/s)
}

async function startServers() {
  const common = ['--auth', 'open', '--idle-timeout-ms', '600000', '--heartbeat-ms', '300000', '--connect-rate', '0',
    '--max-connections', '19500'];
  const nodeArgs = process.env.GROUP_BENCH_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.GROUP_BENCH_PROF_DIR}`] : [];
  if (INSTANCES <= 1) return { servers: [await startServer([...common, '--sqlite-sync', 'NORMAL'], { nodeArgs })], cleanup: () => undefined };
  const db = `hxim_gbench_${process.pid}`;
  const ns = uniqueNamespace('group');
  const servers = [];
  for (let k = 0; k < INSTANCES; k++) {
    servers.push(await startServer([...common, '--store', 'mysql', '--mysql-url', `mysql://root@127.0.0.1:3306/${db}`,
      '--cluster', 'redis-rabbit', '--instance-id', `${ns}-g${k}`, '--namespace', ns], { nodeArgs }));
  }
  const cleanup = () => execFileSync('mariadb', ['-h127.0.0.1', '-uroot', '-e', `DROP DATABASE IF EXISTS ${db}`]);
  return { servers, cleanup };
}

async function runSize(N) {
  const { servers, cleanup } = await startServers();
  const base = 1_000_000 + N * 10;
  const conns = [];
  try {
    for (let i = 0; i < N; i += 500) {
      conns.push(...await Promise.all(Array.from({ length: Math.min(500, N - i) },
        (_, k) => connect(servers[(i + k) % servers.length].port, base + i + k))));
    }
    process.stderr.write(`  ${N} members connected to ${servers.length} instance(s)\n`);
    const owner = conns[0];
    const { decodeBody } = require('../packages/im-common/dist/src/index.js');
    let groupId = 0;
    for (let i = 1; i < N; i += 1000) {
      const members = conns.slice(i, i + 1000).map((c) => ({ userId: c.userId }));
      const op = groupId === 0 ? 1 : 3; // CREATE, then INVITE
      const resp = owner.next(MessageType.GROUP_RESPONSE);
      const err = owner.next(MessageType.ERROR);
      const sys = waitDeliveries(groupId === 0 ? members.length + 1 : conns.slice(0, Math.min(N, i + 1000)).length);
      owner.socket.write(encodeFrame(MessageType.GROUP_REQUEST, { requestId: `g${i}`, op, groupId, name: 'bench', members }));
      const body = await Promise.race([resp, err.then((b) => { throw new Error(JSON.stringify(decodeBody(MessageType.ERROR, b))); })]);
      groupId = decodeBody(MessageType.GROUP_RESPONSE, body).group.groupId;
      await sys; // every member has the SYSTEM join message
      process.stderr.write(`  group ${groupId}: ${Math.min(N, i + 1000)} members\n`);
    }
    const others = N - 1;
    const send = (id) => owner.socket.write(encodeFrame(MessageType.CHAT, { id, groupId, msgBody: BODY, timeStamp: Date.now() }));
    // warm-up
    for (let i = 0; i < 3; i++) { const w = waitDeliveries(others); send(`w${i}-${N}`); await w; }
    // latency to the last member, one message at a time
    const lat = [];
    const first = [];
    const cpuAll = () => servers.reduce((a, x) => a + cpuMs(x.pid), 0);
    const latCpu0 = cpuAll();
    for (let r = 0; r < ROUNDS; r++) {
      const done = waitDeliveries(others);
      firstAt = 0;
      const t0 = performance.now();
      send(`r${r}-${N}`);
      lat.push((await done) - t0);
      first.push(firstAt - t0);
      await new Promise((res) => setTimeout(res, 20));
    }
    const latCpuMsPerMsg = (cpuAll() - latCpu0) / ROUNDS;
    lat.sort((a, b) => a - b);
    first.sort((a, b) => a - b);
    // throughput: a burst
    const burst = BURST || Math.max(20, Math.round(500_000 / others));
    const cpu0 = cpuAll();
    const done = waitDeliveries(others * burst);
    const t0 = performance.now();
    for (let i = 0; i < burst; i++) send(`b${i}-${N}`);
    const t1 = await done;
    const cpu = cpuAll() - cpu0;
    const secs = (t1 - t0) / 1000;
    return {
      members: N, instances: servers.length, firstMemberMedianMs: first[Math.floor(first.length / 2)], latencyMedianMs: lat[Math.floor(lat.length / 2)], latencyMaxMs: lat[lat.length - 1], serverCpuMsPerMessage: latCpuMsPerMsg, burst,
      deliveries: others * burst, seconds: secs, deliveriesPerSec: (others * burst) / secs,
      serverCpuUsPerDelivery: (cpu * 1000) / (others * burst),
    };
  } finally {
    for (const c of conns) c.socket.destroy();
    for (const x of servers) await x.stop();
    cleanup();
  }
}

(async () => {
  const out = [];
  for (const n of SIZES) {
    const r = await runSize(n);
    out.push(r);
    console.log(JSON.stringify(r));
  }
  console.log(`\n${INSTANCES > 1 ? `${INSTANCES} instances (redis-rabbit, MySQL)` : 'one instance (SQLite)'}:`);
  console.log('\n| members | first member, median (ms) | last member, median / max (ms) | burst | deliveries/s | server CPU-µs/delivery |');
  console.log('|---|---|---|---|---|---|');
  for (const r of out) {
    console.log(`| ${r.members.toLocaleString('en-US')} | ${r.firstMemberMedianMs.toFixed(1)} | ${r.latencyMedianMs.toFixed(1)} / ${r.latencyMaxMs.toFixed(1)} | ${r.burst} | ` +
      `${Math.round(r.deliveriesPerSec).toLocaleString('en-US')} | ${r.serverCpuUsPerDelivery.toFixed(2)} |`);
  }
})().catch((err) => { console.error(err); process.exit(1); });
