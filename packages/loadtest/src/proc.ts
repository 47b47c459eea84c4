/**
 * /proc sampling: CPU time and RSS of server processes (by pid) and a description of the machine,
 * so every figure says where it was measured.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { nowUs } from './clock';

/** Clock ticks per second for /proc/<pid>/stat (getconf CLK_TCK on Linux x86-64 and arm64). */
export const CLK_TCK = 100;

/** The process's command name (/proc/<pid>/comm), or "pid <pid>" when it cannot be read. */
export function procName(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() || `pid ${pid}`;
  } catch {
    return `pid ${pid}`;
  }
}

/** utime + stime of a process (all threads) in µs; NaN when the process is gone. */
export function procCpuUs(pid: number): number {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may contain spaces and parentheses: fields start after the last ')'.
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return ((Number(rest[11]) + Number(rest[12])) * 1e6) / CLK_TCK;
  } catch {
    return NaN;
  }
}

/** VmRSS of a process in KiB; NaN when the process is gone. */
export function procRssKiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

/** Busy and I/O-wait CPU µs of the whole machine (all cores) from /proc/stat. */
export function machineCpuUs(): { busyUs: number; iowaitUs: number } {
  try {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = f.reduce((a, b) => a + b, 0);
    return { busyUs: ((total - f[3]! - (f[4] ?? 0)) * 1e6) / CLK_TCK, iowaitUs: ((f[4] ?? 0) * 1e6) / CLK_TCK };
  } catch {
    return { busyUs: NaN, iowaitUs: NaN };
  }
}

/** One sample of some processes. */
export interface ProcSample {
  /** Monotonic µs. */
  atUs: number;
  /** The machine's busy CPU µs ({@link machineCpuUs}) at the same moment. */
  machineBusyUs: number;
  /** The machine's I/O-wait µs: cores idle while waiting for the disk (another process's fsyncs show here). */
  machineIowaitUs: number;
  /** CPU µs per pid, in the order given. */
  cpuUs: number[];
  /** RSS KiB per pid. */
  rssKiB: number[];
}

/** Samples every pid now. */
export function sampleProcs(pids: readonly number[]): ProcSample {
  const m = machineCpuUs();
  return { atUs: nowUs(), machineBusyUs: m.busyUs, machineIowaitUs: m.iowaitUs, cpuUs: pids.map(procCpuUs), rssKiB: pids.map(procRssKiB) };
}

/** Server CPU over a window: per pid and in total, as cores busy and µs per message. */
export interface CpuWindow {
  seconds: number;
  /** CPU µs used by each pid in the window. */
  cpuUsByPid: number[];
  cpuUs: number;
  /** Cores busy on average (1.0 = one core fully). */
  cores: number;
  /** cpuUs / messages, or null without messages. */
  cpuUsPerMsg: number | null;
  /** Cores busy on the whole machine in the window (everything: other processes too). */
  machineCores: number;
  /** Cores in I/O wait on the whole machine in the window. */
  iowaitCores: number;
}

/** The CPU used between two samples of the same pids. */
export function cpuBetween(a: ProcSample, b: ProcSample, messages: number): CpuWindow {
  const byPid = a.cpuUs.map((v, i) => (b.cpuUs[i] ?? NaN) - v);
  const cpuUs = byPid.reduce((x, y) => x + y, 0);
  const seconds = (b.atUs - a.atUs) / 1e6;
  return {
    seconds: round(seconds, 3),
    cpuUsByPid: byPid.map((v) => Math.round(v)),
    cpuUs: Math.round(cpuUs),
    cores: seconds > 0 ? round(cpuUs / 1e6 / seconds, 3) : 0,
    cpuUsPerMsg: messages > 0 && Number.isFinite(cpuUs) ? round(cpuUs / messages, 2) : null,
    machineCores: seconds > 0 ? round((b.machineBusyUs - a.machineBusyUs) / 1e6 / seconds, 2) : 0,
    iowaitCores: seconds > 0 ? round((b.machineIowaitUs - a.machineIowaitUs) / 1e6 / seconds, 2) : 0,
  };
}

/** The machine a figure was measured on. */
export interface MachineInfo {
  nproc: number;
  cpuModel: string;
  memGiB: number;
  kernel: string;
  node: string;
}

/** nproc, the CPU model (/proc/cpuinfo), RAM, kernel and Node version. */
export function machineInfo(): MachineInfo {
  let model = os.cpus()[0]?.model ?? 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) model = m[1]!.trim();
  } catch { /* not Linux: keep os.cpus() */ }
  return {
    nproc: os.availableParallelism(), cpuModel: model, memGiB: round(os.totalmem() / 2 ** 30, 1),
    kernel: `${os.type()} ${os.release()}`, node: process.version,
  };
}

/** This process's own CPU (user + system) in µs. */
export function selfCpuUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/** Rounds to `digits` decimals. */
export function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
