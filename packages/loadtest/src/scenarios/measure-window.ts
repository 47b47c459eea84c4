/**
 * The measured window of the message scenarios, seen from the parent: /proc samples of the
 * server, the load tool's workers and the backing services at both edges of the window, and the
 * CPU figures derived from them per unit of work (a message, a group delivery).
 */
import { sleepUntilUs } from '../clock';
import { cpuBetween, procName, round, sampleProcs, type CpuWindow, type ProcSample } from '../proc';
import type { ParentContext, ScenarioOutcome, ServerFigures, ServiceCpu } from './types';

type Edges = [ProcSample, ProcSample];

/** Samples at the start and the end of the measured window. */
export interface WindowSamples { server: Edges; driver: Edges; services: Edges }

/** Sleeps to each edge of [measureStart, measureEnd) and samples there; sets the progress phases. */
export async function sampleWindow(ctx: ParentContext, measureStart: number, measureEnd: number): Promise<WindowSamples> {
  const { opts: o, pool, progress } = ctx;
  const take = (): [ProcSample, ProcSample, ProcSample] => [sampleProcs(o.serverPids), sampleProcs(pool.pids), sampleProcs(o.servicePids)];
  await sleepUntilUs(measureStart);
  const a = take();
  progress.setPhase('measure', measureEnd);
  await sleepUntilUs(measureEnd);
  const b = take();
  progress.setPhase('drain');
  return { server: [a[0], b[0]], driver: [a[1], b[1]], services: [a[2], b[2]] };
}

/** CPU over the window per `units` of work, named "… CPU-µs/<unit>". */
export function cpuFigures(ctx: ParentContext, w: WindowSamples, units: number, unit: string): {
  figures: ScenarioOutcome['figures']; server: ServerFigures | null; driver: CpuWindow; services: ServiceCpu[] | null;
} {
  const o = ctx.opts;
  const cpu = cpuBetween(w.server[0], w.server[1], units);
  const driver = cpuBetween(w.driver[0], w.driver[1], units);
  const services = o.servicePids.length ? cpuBetween(w.services[0], w.services[1], units) : null;
  const each = services ? perService(o.servicePids, services, units) : null;
  const known = o.serverPids.length > 0;
  return {
    figures: {
      [`server CPU-µs/${unit}`]: known ? cpu.cpuUsPerMsg : null,
      'server CPU cores': known ? cpu.cores : null,
      [`driver CPU-µs/${unit}`]: driver.cpuUsPerMsg,
      'driver CPU cores': driver.cores,
      'machine busy cores (everything)': cpu.machineCores,
      // Clamped at 0: with 10 ms ticks, a quiet machine can read slightly below the sum of its parts.
      'other processes cores': known ? Math.max(0, round(cpu.machineCores - cpu.cores - driver.cores - (services?.cores ?? 0), 2)) : null,
      'services CPU cores': services ? services.cores : null,
      [`services CPU-µs/${unit}`]: services ? services.cpuUsPerMsg : null,
      // Each service apart (MariaDB, RabbitMQ and Redis cost very differently).
      ...(each && each.length > 1 ? Object.fromEntries(each.map((x) => [
        `service ${x.name} (pid ${x.pid}) CPU`, `${x.cores} cores; ${x.cpuUsPerUnit ?? '–'} µs/${unit}`])) : {}),
      'machine iowait cores': cpu.iowaitCores,
    },
    server: known ? { pids: o.serverPids, cpu, rssKiBBefore: w.server[0].rssKiB, rssKiBAfter: w.server[1].rssKiB } : null,
    driver,
    services: each,
  };
}

/** Each service pid's CPU over the window. */
function perService(pids: readonly number[], w: CpuWindow, units: number): ServiceCpu[] {
  return pids.map((pid, i) => {
    const us = w.cpuUsByPid[i] ?? NaN;
    return {
      name: procName(pid), pid, cores: round(us / 1e6 / Math.max(w.seconds, 1e-9), 3),
      cpuUsPerUnit: units > 0 && Number.isFinite(us) ? round(us / units, 1) : null,
    };
  });
}
