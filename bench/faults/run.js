#!/usr/bin/env node
'use strict';
/**
 * Fault runs: during a `loadtest cross` run over two instances (MySQL store, Redis presence,
 * RabbitMQ bus), take one thing down and bring it back, then let the history checker judge
 * (DESIGN.md target: lost = 0 and app-visible duplicates = 0; delivery resumes ≤ 10 s after the
 * service is back). Bounded and loopback only; services are restored by inject.sh's trap.
 *
 *   node bench/faults/run.js [--fault kill|rabbitmq|redis|mariadb|all] [--rate 500] [--down 5]
 *                            [--at 8] [--duration 40] [--no-doc]
 *
 * kill: kill -9 of instance i2, restarted on its port after --down seconds (its clients fail over
 * to i1 meanwhile). The others: bench/faults/inject.sh <service> <down>. Recovery comes from the
 * load tool's once-a-second progress line: when delivered/s fell below half the offered rate and
 * when it came back. Writes the `faults` section of docs/benchmarks.md unless --no-doc.
 */
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const S = require('../lib/servers');
const M = require('../lib/markdown');

const FAULTS = ['kill', 'rabbitmq', 'redis', 'mariadb'];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function perSecond(text) {
  const m = /delivered ([\d.]+)(k?)\/s/.exec(text);
  return m ? Number(m[1]) * (m[2] ? 1000 : 1) : null;
}

/** Runs `inject.sh kind down`; resolves with its down_at/back_at (epoch ms). */
function inject(kind, down) {
  return new Promise((resolve, reject) => {
    const p = spawn('bash', [path.join(__dirname, 'inject.sh'), kind, String(down)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    p.once('exit', (code) => {
      const at = (k) => Number((new RegExp(`${k}=(\\d+)`).exec(out) || [])[1]);
      if (code !== 0) reject(new Error(`inject.sh ${kind} exited ${code}`));
      else resolve({ downAt: at('down_at'), backAt: at('back_at') });
    });
  });
}

/** One fault during one cross run. */
async function faultRun(kind, o) {
  S.freshMysqlDb();
  const ns = S.uniqueNamespace(`fault_${kind}`);
  const args = (id) => ['--auth', 'open', '--store', 'mysql', '--mysql-url', S.MYSQL_URL, '--cluster', 'redis-rabbit', '--instance-id', id, '--namespace', ns];
  const servers = [await S.startServer(args('i1')), await S.startServer(args('i2'))];
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'hxim-fault-'));
  const ltArgs = ['cross', '--servers', servers.map((s) => s.address).join(','), '--rate', String(o.rate), '--pairs', '50',
    '--duration', String(o.duration), '--warmup', '2', '--drain-timeout', '30', '--catchup-timeout', '120', '--out', out, '--label', `fault-${kind}`];
  const ticks = [];
  let measuring = null;
  try {
    const lt = spawn(process.execPath, [S.LOADTEST_CLI, ...ltArgs], { stdio: ['ignore', 'ignore', 'pipe'] });
    let buf = '';
    lt.stderr.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (o.verbose) process.stderr.write(`  ${line}\n`);
        if (/\[\S+ measure/.test(line) && measuring === null) measuring = Date.now();
        const v = perSecond(line);
        if (v !== null) ticks.push({ t: Date.now(), v, measure: /\[\S+ measure/.test(line) });
      }
    });
    const exited = new Promise((r) => lt.once('exit', r));
    while (measuring === null) {
      if (lt.exitCode !== null) throw new Error('the load run ended before measuring');
      await sleep(200);
    }
    await sleep(o.at * 1000);
    let marks;
    if (kind === 'kill') {
      const downAt = Date.now();
      process.kill(servers[1].pid, 'SIGKILL');
      await sleep(o.down * 1000);
      const port = servers[1].port;
      await servers[1].stop();
      servers[1] = await S.startServer(args('i2'), { port });
      marks = { downAt, backAt: Date.now() };
    } else {
      marks = await inject(kind, o.down);
    }
    const code = await exited;
    const result = JSON.parse(fs.readFileSync(path.join(out, 'result.json'), 'utf8'));
    return { kind, code, result, ...marks, ...recovery(ticks, marks, o.rate) };
  } finally {
    for (const s of servers) await s.stop();
    fs.rmSync(out, { recursive: true, force: true });
  }
}

/** From the progress ticks: how long delivery was below half the rate, and when it came back. */
function recovery(ticks, { downAt, backAt }, rate) {
  const after = ticks.filter((x) => x.t >= downAt && x.measure);
  const low = after.findIndex((x) => x.v < rate / 2);
  if (low < 0) return { interruptedS: 0, resumedAfterBackS: 0 };
  const back = after.slice(low).find((x) => x.v >= rate / 2);
  if (!back) return { interruptedS: null, resumedAfterBackS: null };
  return { interruptedS: (back.t - after[low].t) / 1000, resumedAfterBackS: Math.max(0, (back.t - backAt) / 1000) };
}

/** Runs the chosen faults; resolves with the Markdown section. */
async function runFaults(o) {
  const runs = [];
  for (const kind of o.faults) {
    process.stderr.write(`--- fault ${kind}\n`);
    runs.push(await faultRun(kind, o));
  }
  const rows = runs.map((r) => {
    const h = r.result.history;
    return [r.kind, (r.backAt - r.downAt) / 1000, r.interruptedS, r.resumedAfterBackS, h.lost, h.duplicates, h.reordered, h.unexpected, h.gaps,
      h.unacked, h.refused, Object.entries(r.result.errors).map(([k, n]) => `${k}×${n}`).join(' ') || 'none', h.ok ? 'PASS' : 'FAIL'];
  });
  return [M.measuredLine(), '',
    M.table(['fault', 'down s', 'delivery < ½ rate for s', 'resumed s after back', 'lost', 'dup', 'reord', 'unexp', 'gaps', 'unacked', 'refused', 'errors', 'history'], rows), '',
    `Targets: lost = 0 and app-visible duplicates = 0; delivery resumes ≤ 10 s after the service is back. Resolution 1 s (the progress line). ` +
    `Unacked and refused sends are not losses: the sender was told nothing, or told no.`, '',
    M.commands([`node bench/faults/run.js --fault ${o.faults.length === FAULTS.length ? 'all' : o.faults.join(',')} --rate ${o.rate} --down ${o.down} --at ${o.at} --duration ${o.duration}`,
      '# each: two instances (--store mysql --cluster redis-rabbit), node packages/loadtest/dist/src/cli.js cross --rate R --pairs 50 ...,',
      '# then kill -9 + restart of i2, or bench/faults/inject.sh rabbitmq|redis|mariadb <down>']),
  ].join('\n');
}

function parseArgs(argv) {
  const o = { faults: FAULTS, rate: 500, down: 5, at: 8, duration: 40, doc: true, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = () => argv[++i];
    if (k === '--fault') { const f = v(); o.faults = f === 'all' ? FAULTS : f.split(','); }
    else if (k === '--rate') o.rate = Number(v());
    else if (k === '--down') o.down = Number(v());
    else if (k === '--at') o.at = Number(v());
    else if (k === '--duration') o.duration = Number(v());
    else if (k === '--no-doc') o.doc = false;
    else if (k === '--verbose') o.verbose = true;
    else throw new Error(`unknown argument ${k}`);
  }
  for (const f of o.faults) if (!FAULTS.includes(f)) throw new Error(`unknown fault "${f}" (${FAULTS.join(', ')}, all)`);
  if (o.at + o.down + 5 > o.duration) throw new Error('--duration must leave room for --at + --down + 5 s of recovery');
  return o;
}

if (require.main === module) {
  (async () => {
    const o = parseArgs(process.argv.slice(2));
    const body = await runFaults(o);
    if (o.doc) M.updateDoc(path.join(S.ROOT, 'docs', 'benchmarks.md'), [{ id: 'faults', heading: 'Faults', body }]);
    process.stdout.write(body + '\n');
  })().catch((err) => { process.stderr.write(`faults: ${err.stack || err}\n`); process.exitCode = 1; });
}

module.exports = { runFaults, FAULTS, parseArgs };
