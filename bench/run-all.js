#!/usr/bin/env node
'use strict';
/**
 * The standard benchmark suite in one command (`npm run bench`): starts and stops its own server
 * processes on free ports with temp data dirs, runs each bench, and rewrites the generated sections
 * of docs/benchmarks.md (between `<!-- bench:ID -->` markers; nothing else in the file changes).
 *
 *   node bench/run-all.js                       every default bench (~25 min)
 *   node bench/run-all.js --only chat-sqlite,idle
 *   node bench/run-all.js --quick               short runs, for checking the suite itself
 *   node bench/run-all.js --list                the bench ids
 *   node bench/run-all.js --no-doc              print the sections instead of writing the doc
 *   node bench/run-all.js --quiet-wait 60       wait at most 60 s (default 600) for other processes
 *                                               to drop below 0.3 cores before each measurement
 *
 * Needs a build (`npx tsc -b`; `npm run bench` builds first) and, for the MySQL, cross and
 * cluster benches, MariaDB/Redis/RabbitMQ on 127.0.0.1 (scripts/services.sh).
 */
const path = require('node:path');
const { BENCHES } = require('./lib/suites');
const { updateDoc } = require('./lib/markdown');
const { ROOT, setQuietWait } = require('./lib/servers');

const DOC = path.join(ROOT, 'docs', 'benchmarks.md');

function parseArgs(argv) {
  const a = { only: null, quick: false, list: false, doc: true };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (k === '--only') a.only = String(argv[++i] || '').split(',').map((s) => s.trim()).filter(Boolean);
    else if (k === '--quick') a.quick = true;
    else if (k === '--list') a.list = true;
    else if (k === '--no-doc') a.doc = false;
    else if (k === '--quiet-wait') setQuietWait(Number(argv[++i]));
    else if (k === '--help' || k === '-h') a.help = true;
    else throw new Error(`unknown argument ${k} (see --help)`);
  }
  return a;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.help) {
    process.stdout.write(require('node:fs').readFileSync(__filename, 'utf8').split('*/')[0].replace(/^[\s\S]*?\/\*\*/, '').replace(/^ \* ?/gm, '') + '\n');
    return;
  }
  if (args.list) {
    for (const b of BENCHES) process.stdout.write(`${b.id.padEnd(14)} ${b.heading}${b.default ? '' : ' (only with --only)'}\n`);
    return;
  }
  const known = new Set(BENCHES.map((b) => b.id));
  for (const id of args.only || []) if (!known.has(id)) throw new Error(`unknown bench "${id}"; known: ${[...known].join(', ')}`);
  const chosen = BENCHES.filter((b) => (args.only ? args.only.includes(b.id) : b.default));
  const done = [];
  let failed = 0;
  for (const b of chosen) {
    const t0 = Date.now();
    process.stderr.write(`\n=== bench ${b.id}: ${b.heading}\n`);
    let body;
    try {
      body = await b.run({ quick: args.quick });
    } catch (err) {
      // The section keeps its last good figures; the failure is this run's to report.
      failed++;
      process.stderr.write(`bench ${b.id} FAILED (docs/benchmarks.md keeps its previous section): ${err && err.stack || err}\n`);
      continue;
    }
    if (args.quick) body = `_Quick run (--quick): short durations, not the reference figures._\n\n${body}`;
    process.stderr.write(`=== bench ${b.id} done in ${Math.round((Date.now() - t0) / 1000)} s\n`);
    done.push({ id: b.id, heading: b.heading, body });
    if (args.doc) updateDoc(DOC, [{ id: b.id, heading: b.heading, body }]); // after each bench: a crash keeps what was measured
    else process.stdout.write(`\n<!-- bench:${b.id} -->\n${body}\n<!-- /bench:${b.id} -->\n`);
  }
  if (args.doc) process.stderr.write(`\nupdated ${path.relative(process.cwd(), DOC)}: ${done.map((d) => d.id).join(', ')}\n`);
  process.exitCode = failed > 0 ? 1 : 0;
}

main().catch((err) => {
  process.stderr.write(`run-all: ${err.message}\n`);
  process.exitCode = 2;
});
