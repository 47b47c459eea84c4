'use strict';
/**
 * docs/benchmarks.md upkeep: generated sections live between `<!-- bench:ID -->` and
 * `<!-- /bench:ID -->`; the suite rewrites only the sections it ran and leaves every other word of
 * the file (hand-written sections, other engineers' sections) alone.
 */
const fs = require('node:fs');
const os = require('node:os');

/** The machine, for the "measured on" line. */
function machine() {
  let model = os.cpus()[0] ? os.cpus()[0].model : 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) model = m[1].trim();
  } catch { /* keep os.cpus() */ }
  return { nproc: os.availableParallelism(), model, memGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10, kernel: os.release(), node: process.version };
}

/** "Measured <date> on <nproc> × <model>, <RAM>, Linux <kernel>, Node <v>." */
function measuredLine(m = machine(), when = new Date()) {
  return `Measured ${when.toISOString().slice(0, 16).replace('T', ' ')} UTC on ${m.nproc} × ${m.model}, ${m.memGiB} GiB RAM, ` +
    `Linux ${m.kernel}, Node ${m.node}; server, services and load tool share the box.`;
}

/** A Markdown table. */
function table(header, rows) {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n');
}

function cell(v) {
  if (v === null || v === undefined || (typeof v === 'number' && !Number.isFinite(v))) return '–';
  if (typeof v === 'number') return Math.abs(v) >= 1000 ? Math.round(v).toLocaleString('en-US') : String(Math.round(v * 100) / 100);
  return String(v);
}

/** A fenced block of commands. */
function commands(lines) {
  return ['```sh', ...lines, '```'].join('\n');
}

/** "lost 0 · duplicates 0 · reordered 0 · unexpected 0 · gaps 0 (PASS)" from a result's history. */
function historyLine(h) {
  return `History check: lost ${h.lost} · duplicates ${h.duplicates} · reordered ${h.reordered} · unexpected ${h.unexpected} · ` +
    `gaps ${h.gaps} — ${h.ok ? 'PASS' : 'FAIL'} (sent ${h.sent}, acked ${h.acked}, unacked ${h.unacked}, refused ${h.refused}).`;
}

/**
 * Replaces the body of section `id` in `text`. A missing section is appended at the end, under
 * `fallbackHeading`, so nothing is lost.
 */
function replaceSection(text, id, body, fallbackHeading) {
  const open = `<!-- bench:${id} -->`;
  const close = `<!-- /bench:${id} -->`;
  const a = text.indexOf(open);
  const b = text.indexOf(close);
  const block = `${open}\n${body.trim()}\n${close}`;
  if (a < 0 || b < a) return `${text.trimEnd()}\n\n## ${fallbackHeading || id}\n\n${block}\n`;
  return text.slice(0, a) + block + text.slice(b + close.length);
}

/** Rewrites the given sections of the file at `file`. */
function updateDoc(file, sections) {
  let text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Benchmarks\n';
  for (const s of sections) text = replaceSection(text, s.id, s.body, s.heading);
  fs.writeFileSync(file, text);
}

module.exports = { machine, measuredLine, table, cell, commands, historyLine, replaceSection, updateDoc };
