/**
 * What a scenario is to the parent: how its workers are built, how the parent drives them, and
 * what it hands to the report.
 */
import type { LatencySummary } from '../hist';
import type { HistoryReport } from '../history';
import type { WorkerSide } from '../ipc';
import type { LoadOptions, ScenarioName } from '../options';
import type { WorkerPool } from '../pool';
import type { CpuWindow } from '../proc';
import type { Progress } from '../progress';

/** What the parent's scenario code gets. */
export interface ParentContext {
  opts: LoadOptions;
  pool: WorkerPool;
  progress: Progress;
}

/** One backing service's CPU over the measured window. */
export interface ServiceCpu {
  /** Its command name (/proc/<pid>/comm). */
  name: string;
  pid: number;
  cores: number;
  /** CPU µs per unit of work (a message, a delivery), or null without work. */
  cpuUsPerUnit: number | null;
}

/** Server-side figures, when --server-pid was given. */
export interface ServerFigures {
  pids: number[];
  /** CPU over the measured window (µs per message when messages flowed). */
  cpu: CpuWindow;
  /** RSS (KiB) per pid at the start and the end of the measured window. */
  rssKiBBefore: number[];
  rssKiBAfter: number[];
}

/** What a scenario run produced. */
export interface ScenarioOutcome {
  connections: { target: number; connected: number };
  errors: Record<string, number>;
  history: HistoryReport;
  /** Headline figures, name (with unit) → value, in display order. */
  figures: Record<string, number | string | null>;
  latency: Record<string, LatencySummary>;
  /** Encoded histograms (compressed base64), by the same names as `latency`. */
  histograms: Record<string, string>;
  server: ServerFigures | null;
  /** CPU of the load tool's worker processes over the measured window. */
  driver: CpuWindow | null;
  /** CPU of each --service-pid over the measured window (null without them, or where not measured). */
  services: ServiceCpu[] | null;
  /** False when the scenario itself failed (besides the history check), e.g. nobody connected. */
  ok: boolean;
  notes: string[];
}

/** A scenario, as registered in scenarios/index.ts. */
export interface ScenarioDef {
  name: ScenarioName;
  /** One line for --help. */
  summary: string;
  /** Set while the scenario cannot run; the CLI prints it and exits 2. */
  unavailable?: string;
  /** Builds worker `w` of `workers`. */
  worker(opts: LoadOptions, w: number, workers: number): WorkerSide;
  /** Drives the workers and measures. */
  parent(ctx: ParentContext): Promise<ScenarioOutcome>;
  /** Seconds after which the watchdog stops the run (everything included). */
  budgetS(opts: LoadOptions): number;
}
