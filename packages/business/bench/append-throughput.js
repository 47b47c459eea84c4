'use strict';
/**
 * Append throughput of the stores (not a test: no assertions, run by hand after a build).
 *   node packages/business/bench/append-throughput.js [sqlite|mysql] [--batch 500] [--convs 100]
 *        [--total 200000] [--sync FULL|NORMAL] [--runs 3] [--url mysql://root@127.0.0.1:3306]
 * 1:1 traffic: `convs` conversations, both members sending, 100-byte bodies, random 16-char client ids.
 * Prints msgs/s (wall clock) and CPU-µs/msg for each run and the median.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const crypto = require('node:crypto');
const mysql = require('mysql2/promise');
const { SqliteStore, openMysqlStore } = require('../dist/src/index.js');

function arg(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
}
const kind = process.argv[2] === 'mysql' ? 'mysql' : 'sqlite';
const batch = Number(arg('batch', 500));
const convs = Number(arg('convs', 100));
const total = Number(arg('total', kind === 'mysql' ? 100000 : 200000));
const sync = arg('sync', 'FULL');
const runs = Number(arg('runs', 3));
const baseUrl = arg('url', process.env.HXIM_TEST_MYSQL_URL || 'mysql://root@127.0.0.1:3306');

async function open() {
  if (kind === 'sqlite') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hxim-bench-'));
    const store = new SqliteStore({ dataDir: dir, synchronous: sync });
    return { store, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
  }
  const db = `hxim_bench_${process.pid}_${Math.floor(Math.random() * 1e6)}`;
  const store = await openMysqlStore({ url: `${baseUrl}/${db}`, queryTimeoutMs: 10000 });
  const cleanup = async () => {
    const u = new URL(baseUrl);
    const c = await mysql.createConnection({ host: u.hostname, port: Number(u.port || 3306), user: u.username || 'root', password: u.password });
    await c.query(`DROP DATABASE IF EXISTS \`${db}\``);
    await c.end();
  };
  return { store, cleanup };
}

async function once() {
  const { store, cleanup } = await open();
  const body = Buffer.alloc(100, 97);
  // Random 16-character ids, like im-client's randomId(): the realistic (worst) index locality.
  const ids = Array.from({ length: total }, () => crypto.randomBytes(12).toString('base64url'));
  let n = 0;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  while (n < total) {
    const chats = [];
    for (let i = 0; i < batch && n < total; i++, n++) {
      const c = n % convs;
      const a = c * 2 + 1, b = c * 2 + 2;
      const [from, to] = (n / convs) % 2 < 1 ? [a, b] : [b, a];
      chats.push({ senderId: from, clientMsgId: ids[n], convId: `p:${a}:${b}`, memberIds: [a, b], recipientId: to,
        groupId: 0, msgType: 0, body, clientTime: 0 });
    }
    await store.chats.appendBatch(chats);
  }
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const cpu = process.cpuUsage(cpu0);
  await store.close();
  await cleanup();
  return { rate: Math.round((total / wallMs) * 1000), cpuUs: (cpu.user + cpu.system) / total };
}

(async () => {
  const results = [];
  for (let i = 0; i < runs; i++) {
    const r = await once();
    results.push(r);
    console.log(`run ${i + 1}: ${r.rate} msgs/s, ${r.cpuUs.toFixed(2)} CPU-us/msg`);
  }
  results.sort((x, y) => x.rate - y.rate);
  const m = results[Math.floor(results.length / 2)];
  console.log(`${kind} sync=${kind === 'sqlite' ? sync : '-'} batch=${batch} convs=${convs} total=${total}: median ${m.rate} msgs/s, ${m.cpuUs.toFixed(2)} CPU-us/msg`);
})().catch((err) => { console.error(err); process.exit(1); });
