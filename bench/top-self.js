#!/usr/bin/env node
'use strict';
/**
 * Top self-time functions of a V8 CPU profile (`node --cpu-prof` writes *.cpuprofile on exit).
 *
 *   node bench/top-self.js <file.cpuprofile> [--top 25]
 *
 * Self time = samples whose leaf is the function, times the sampling interval. Functions are
 * keyed by name + script + line, so two closures of one name stay apart.
 */
const fs = require('node:fs');
const path = require('node:path');

function topSelf(profile, top) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const counts = new Map();
  for (const id of profile.samples) counts.set(id, (counts.get(id) || 0) + 1);
  const deltas = profile.timeDeltas || [];
  const totalUs = deltas.reduce((a, b) => a + b, 0) || profile.endTime - profile.startTime;
  const perSample = totalUs / Math.max(1, profile.samples.length);
  const fns = new Map();
  for (const [id, n] of counts) {
    const cf = byId.get(id).callFrame;
    const where = cf.url ? `${path.basename(cf.url)}:${cf.lineNumber + 1}` : '';
    const key = `${cf.functionName || '(anonymous)'} ${where}`.trim();
    fns.set(key, (fns.get(key) || 0) + n);
  }
  const total = profile.samples.length;
  return [...fns.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)
    .map(([fn, n]) => ({ fn, selfPct: Math.round((n / total) * 1000) / 10, selfMs: Math.round((n * perSample) / 100) / 10 }));
}

if (require.main === module) {
  const file = process.argv[2];
  const i = process.argv.indexOf('--top');
  const top = i > 0 ? Number(process.argv[i + 1]) : 25;
  if (!file) {
    process.stderr.write('usage: node bench/top-self.js <file.cpuprofile> [--top N]\n');
    process.exit(2);
  }
  const rows = topSelf(JSON.parse(fs.readFileSync(file, 'utf8')), top);
  process.stdout.write('| self % | self ms | function |\n|---|---|---|\n');
  for (const r of rows) process.stdout.write(`| ${r.selfPct} | ${r.selfMs} | \`${r.fn}\` |\n`);
}

module.exports = { topSelf };
