/**
 * The result of a run: one JSON document (everything, histograms included) and a Markdown
 * summary for humans. `--out dir` writes both (result.json, summary.md).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LatencySummary } from './hist';
import { FAILING_COUNTS } from './history';
import type { LoadOptions } from './options';
import { machineInfo, type MachineInfo } from './proc';
import type { ScenarioOutcome } from './scenarios/types';

/** Exit code of a run whose history check or scenario failed. */
export const EXIT_FAILED = 1;
/** Exit code of a usage error or a scenario that cannot run yet. */
export const EXIT_USAGE = 2;

/** The whole result of a run. */
export interface RunResult extends ScenarioOutcome {
  tool: 'hxim-loadtest';
  scenario: string;
  label: string;
  /** True when the scenario and the history check passed. */
  pass: boolean;
  exitCode: number;
  startedAt: string;
  finishedAt: string;
  /** The command line that produced it. */
  command: string;
  machine: MachineInfo;
  workers: number;
  options: LoadOptions;
}

/** Assembles the result. */
export function buildResult(o: LoadOptions, out: ScenarioOutcome, workers: number, startedAt: Date, command: string): RunResult {
  const pass = out.ok && out.history.ok;
  return {
    tool: 'hxim-loadtest', scenario: o.scenario, label: o.label, pass, exitCode: pass ? 0 : EXIT_FAILED,
    startedAt: startedAt.toISOString(), finishedAt: new Date().toISOString(), command, machine: machineInfo(), workers,
    options: o, ...out,
  };
}

const cell = (v: unknown): string => (v === null || v === undefined || (typeof v === 'number' && !Number.isFinite(v)) ? '–' : String(v));

function latencyRow(name: string, l: LatencySummary): string {
  return `| ${name} | ${l.count} | ${cell(l.p50Ms)} | ${cell(l.p90Ms)} | ${cell(l.p99Ms)} | ${cell(l.p999Ms)} | ${cell(l.maxMs)} |`;
}

/** The Markdown summary. */
export function toMarkdown(r: RunResult): string {
  const m = r.machine;
  const lines = [
    `# loadtest ${r.scenario}: ${r.label} — ${r.pass ? 'PASS' : 'FAIL'}`,
    '',
    `- when: ${r.startedAt} → ${r.finishedAt}`,
    `- machine: ${m.nproc} × ${m.cpuModel}, ${m.memGiB} GiB RAM, ${m.kernel}, Node ${m.node}`,
    `- command: \`${r.command}\``,
    `- servers: ${r.options.servers.map((s) => `${s.host}:${s.port}`).join(', ')}; workers: ${r.workers}; auth: ${r.options.auth}`,
    `- connections: ${r.connections.connected} of ${r.connections.target}`,
    '',
    '| figure | value |',
    '|---|---|',
    ...Object.entries(r.figures).map(([k, v]) => `| ${k} | ${cell(v)} |`),
  ];
  const lat = Object.entries(r.latency);
  if (lat.length > 0) {
    lines.push('', '| latency (ms) | count | p50 | p90 | p99 | p99.9 | max |', '|---|---|---|---|---|---|---|');
    for (const [k, l] of lat) lines.push(latencyRow(k, l));
  }
  if (r.server) {
    lines.push('', `Server pids ${r.server.pids.join(', ')}: CPU ${r.server.cpu.cores} cores over ${r.server.cpu.seconds} s` +
      `${r.server.cpu.cpuUsPerMsg !== null ? ` (${r.server.cpu.cpuUsPerMsg} µs/${r.scenario === 'group' ? 'delivery' : 'msg'})` : ''}` +
      `${r.server.rssKiBAfter.length ? `; RSS ${r.server.rssKiBBefore.join('/')} → ${r.server.rssKiBAfter.join('/')} KiB` : ''}.`);
  }
  const h = r.history;
  lines.push('', `History check: ${h.ok ? 'OK' : 'FAILED'} — ` + FAILING_COUNTS.map((k) => `${k} ${h[k]}`).join(', ') +
    `; sent ${h.sent}, acked ${h.acked}, refused ${h.refused}, unacked ${h.unacked} (of which delivered ${h.unackedDelivered}), ` +
    `delivered ${h.delivered}, transport duplicates ${h.transportDuplicates}, out-of-order arrivals ${h.outOfOrderArrivals}.`);
  for (const e of h.examples) lines.push(`- ${e}`);
  const errs = Object.entries(r.errors);
  lines.push('', `Errors: ${errs.length === 0 ? 'none' : errs.map(([k, n]) => `${k} × ${n}`).join(', ')}.`);
  for (const n of r.notes) lines.push(`- note: ${n}`);
  return lines.join('\n') + '\n';
}

/** Writes result.json and summary.md into `dir` (created if needed); returns their paths. */
export function writeOutputs(r: RunResult, dir: string): { json: string; md: string } {
  fs.mkdirSync(dir, { recursive: true });
  const json = path.join(dir, 'result.json');
  const md = path.join(dir, 'summary.md');
  fs.writeFileSync(json, JSON.stringify(r, null, 2) + '\n');
  fs.writeFileSync(md, toMarkdown(r));
  return { json, md };
}
