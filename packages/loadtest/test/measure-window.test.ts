/**
 * The measured window's CPU figures: server, driver and services, and each service apart.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { ProcSample } from '../src/proc';
import { cpuFigures, type WindowSamples } from '../src/scenarios/measure-window';
import type { ParentContext } from '../src/scenarios/types';

/** A sample taken `seconds` into the window with the given CPU µs per pid. */
function sample(seconds: number, cpuUs: number[]): ProcSample {
  return { atUs: seconds * 1e6, machineBusyUs: seconds * 1.5e6, machineIowaitUs: 0, cpuUs, rssKiB: cpuUs.map(() => 1000) };
}

function ctx(serverPids: number[], servicePids: number[]): ParentContext {
  return { opts: { serverPids, servicePids }, pool: { pids: [] }, progress: {} } as unknown as ParentContext;
}

describe('cpuFigures', () => {
  // Pids of processes that certainly exist: this one (comm "node") and init.
  const me = process.pid;
  const w: WindowSamples = {
    server: [sample(0, [0]), sample(10, [5e6])], // 0.5 cores
    driver: [sample(0, []), sample(10, [])],
    services: [sample(0, [0, 0]), sample(10, [4e6, 1e6])], // 0.4 and 0.1 cores
  };

  it('reports each service apart, named by its command, with cores and µs per unit', () => {
    const { figures, services } = cpuFigures(ctx([1], [me, 1]), w, 10_000, 'msg');
    assert.deepEqual(services?.map((x) => [x.pid, x.cores, x.cpuUsPerUnit]), [[me, 0.4, 400], [1, 0.1, 100]]);
    assert.equal(services?.[0]?.name, 'node');
    assert.equal(figures['server CPU-µs/msg'], 500);
    assert.equal(figures['services CPU cores'], 0.5);
    assert.equal(figures['services CPU-µs/msg'], 500);
    assert.equal(figures[`service node (pid ${me}) CPU`], '0.4 cores; 400 µs/msg');
    const init = Object.keys(figures).find((k) => k.startsWith('service ') && k.endsWith(' (pid 1) CPU'));
    assert.ok(init, 'the second service has its own figure');
    assert.equal(figures[init], '0.1 cores; 100 µs/msg');
  });

  it('adds no per-service figures for a single service pid, and none without services', () => {
    const one: WindowSamples = { ...w, services: [sample(0, [0]), sample(10, [4e6])] };
    const keys = Object.keys(cpuFigures(ctx([1], [me]), one, 10_000, 'msg').figures);
    assert.deepEqual(keys.filter((k) => k.startsWith('service ')), []);
    const noServices = cpuFigures(ctx([1], []), { ...w, services: [sample(0, []), sample(10, [])] }, 10_000, 'msg');
    assert.equal(noServices.services, null);
    const none = noServices.figures;
    assert.equal(none['services CPU cores'], null);
    assert.deepEqual(Object.keys(none).filter((k) => k.startsWith('service ')), []);
  });
});
