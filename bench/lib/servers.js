'use strict';
/**
 * Server processes for the benchmark suite: each on a free loopback port with its own temp data
 * dir, started from the compiled CLI and stopped (SIGTERM, then SIGKILL) when the bench is done.
 * Also the small service chores the suite needs: a fresh MySQL database, a unique cluster namespace.
 */
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
/** The compiled server and load-tool CLIs. */
const SERVER_CLI = path.join(ROOT, 'packages', 'im-server', 'dist', 'src', 'cli.js');
const LOADTEST_CLI = path.join(ROOT, 'packages', 'loadtest', 'dist', 'src', 'cli.js');
/** MySQL database the suite recreates for each MySQL bench. */
const BENCH_DB = 'hxim_bench';
const MYSQL_URL = `mysql://root@127.0.0.1:3306/${BENCH_DB}`;

/** A free TCP port on 127.0.0.1 (bound and released; the suite runs alone on the box). */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * Starts `im-server start` with `args` (plus --host/--port/--data-dir/--log-level) and resolves
 * when it listens; `port` restarts an instance on the port it had. `shown` is the command as documented, with <port> and <tmp> placeholders.
 */
async function startServer(args, { timeoutMs = 60_000, nodeArgs = [], port: fixedPort = 0 } = {}) {
  if (!fs.existsSync(SERVER_CLI)) throw new Error(`${SERVER_CLI} is missing: run "npx tsc -b" first`);
  const port = fixedPort || await freePort();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hxim-bench-'));
  const full = ['start', '--host', '127.0.0.1', '--port', String(port), '--data-dir', dataDir, '--log-level', 'warn', ...args];
  const child = spawn(process.execPath, [...nodeArgs, SERVER_CLI, ...full], { stdio: ['ignore', 'ignore', 'pipe'], cwd: dataDir });
  let log = '';
  child.stderr.on('data', (d) => { log += d.toString(); if (log.length > 100_000) log = log.slice(-50_000); });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not listen within ${timeoutMs} ms:\n${log}`)), timeoutMs);
    const onData = () => { if (/listening on/.test(log)) { clearTimeout(timer); child.stderr.off('data', onData); resolve(); } };
    child.stderr.on('data', onData);
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited (code ${code}) before listening:\n${log}`)); });
  });
  const exited = new Promise((r) => child.once('exit', r));
  return {
    port, pid: child.pid, dataDir, child,
    address: `127.0.0.1:${port}`,
    shown: ['node', ...nodeArgs, 'packages/im-server/dist/src/cli.js',
      ...full.map((a) => (a === String(port) ? '<port>' : a === dataDir ? '<tmp>' : /^hxbench_/.test(a) ? '<fresh namespace>' : a))].join(' '),
    log: () => log,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 12_000);
        await exited;
        clearTimeout(t);
      }
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Runs the load tool; resolves with its parsed result.json. `shownArgs` replaces the live
 * address/pids in the documented command.
 */
async function runLoadtest(scenario, args, { servers, pids, label }) {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'hxim-lt-'));
  const full = [scenario, '--servers', servers.join(','), '--no-progress', '--out', out, '--label', label, ...args];
  if (pids && pids.length) full.push('--server-pid', pids.join(','));
  const services = servicePids();
  if (services.length) full.push('--service-pid', services.join(','));
  const code = await new Promise((resolve) => {
    const child = spawn(process.execPath, [LOADTEST_CLI, ...full], { stdio: ['ignore', 'ignore', 'inherit'] });
    child.once('exit', (c) => resolve(c));
  });
  const file = path.join(out, 'result.json');
  if (!fs.existsSync(file)) throw new Error(`loadtest ${scenario} exited with ${code} without a result`);
  const result = JSON.parse(fs.readFileSync(file, 'utf8'));
  fs.rmSync(out, { recursive: true, force: true });
  const shownServers = servers.map((_, i) => `127.0.0.1:<port${servers.length > 1 ? i + 1 : ''}>`).join(',');
  const shownPids = (pids && pids.length ? ` --server-pid ${pids.map((_, i) => `<pid${pids.length > 1 ? i + 1 : ''}>`).join(',')}` : '') +
    (services.length ? ' --service-pid <service pids>' : '');
  result.shown = `node packages/loadtest/dist/src/cli.js ${scenario} --servers ${shownServers} ${args.join(' ')}${shownPids}`;
  return result;
}

/** Busy cores of the whole machine over `ms` (from /proc/stat). */
async function machineBusy(ms = 2000) {
  const read = () => {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const total = f.reduce((a, b) => a + b, 0);
    return { busy: total - f[3] - (f[4] || 0), total };
  };
  const a = read();
  await new Promise((r) => setTimeout(r, ms));
  const b = read();
  return Math.round(((b.busy - a.busy) / (b.total - a.total)) * os.availableParallelism() * 100) / 100;
}

/** How long to wait for a quiet machine before a measurement (s); 0 measures at once. */
let quietWaitS = 600;
/** Background load (cores) up to which the machine counts as quiet. */
const QUIET_CORES = 0.3;

/** Sets how long {@link waitQuiet} may wait. */
function setQuietWait(seconds) {
  quietWaitS = seconds;
}

/**
 * Waits (up to the quiet wait) until other processes use less than QUIET_CORES: figures taken
 * while another benchmark runs on the shared 2 cores are not worth recording. Resolves with the
 * background load measured last, which the sections print.
 */
async function waitQuiet() {
  const deadline = Date.now() + quietWaitS * 1000;
  let busy = await machineBusy();
  while (busy > QUIET_CORES && Date.now() < deadline) {
    process.stderr.write(`  waiting for a quiet machine: ${busy} cores busy in other processes\n`);
    await new Promise((r) => setTimeout(r, 10_000));
    busy = await machineBusy();
  }
  return busy;
}

/**
 * The disk's fdatasync latency (4 KiB appends in a temp file for `ms`): a durable store's commit
 * waits for it, so its tail bounds the latency tail of every stored message.
 */
function fsyncProbe(ms = 5000) {
  const file = path.join(os.tmpdir(), `hxim-fsync-${process.pid}`);
  const fd = fs.openSync(file, 'w');
  const b = Buffer.alloc(4096, 1);
  const t = [];
  const end = Date.now() + ms;
  try {
    while (Date.now() < end) {
      fs.writeSync(fd, b);
      const s = process.hrtime.bigint();
      fs.fdatasyncSync(fd);
      t.push(Number(process.hrtime.bigint() - s) / 1e6);
    }
  } finally {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
  }
  t.sort((a, b) => a - b);
  const q = (p) => Math.round(t[Math.floor(p * (t.length - 1))] * 100) / 100;
  return { n: t.length, p50: q(0.5), p99: q(0.99), p999: q(0.999), max: q(1) };
}

/** Process names of the backing services, whose CPU the results report apart. */
const SERVICE_COMMS = ['mariadbd', 'redis-server', 'beam.smp'];

/** Pids of the running backing services (MariaDB, Redis, RabbitMQ), from /proc/<pid>/comm. */
function servicePids() {
  const out = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (SERVICE_COMMS.includes(fs.readFileSync(`/proc/${d}/comm`, 'utf8').trim())) out.push(Number(d));
    } catch { /* gone meanwhile */ }
  }
  return out;
}

/** Drops and recreates the bench database, so every MySQL bench starts empty. */
function freshMysqlDb() {
  execFileSync('mariadb', ['-h127.0.0.1', '-uroot', '-e', `DROP DATABASE IF EXISTS ${BENCH_DB}; CREATE DATABASE ${BENCH_DB}`], { stdio: 'inherit' });
}

/** A Redis/RabbitMQ namespace nobody else uses. */
function uniqueNamespace(tag) {
  return `hxbench_${tag}_${Date.now().toString(36)}`;
}

module.exports = { fsyncProbe, servicePids, machineBusy, waitQuiet, setQuietWait, QUIET_CORES, ROOT, SERVER_CLI, LOADTEST_CLI, BENCH_DB, MYSQL_URL, freePort, startServer, runLoadtest, freshMysqlDb, uniqueNamespace };
