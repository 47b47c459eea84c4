/**
 * The logger the cluster adapters accept: the subset of pino's API they use, so the server can
 * inject its pino logger (or a child) as is.
 */

/** pino-compatible logging methods: `log.warn({ err }, 'message')`. */
export interface ClusterLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

function line(level: string, obj: object, msg: string): void {
  let fields: string;
  try {
    fields = JSON.stringify(obj, (_k, v: unknown) => (v instanceof Error ? v.message : v));
  } catch {
    fields = '{}';
  }
  process.stderr.write(`{"level":"${level}","time":${Date.now()},"msg":${JSON.stringify(msg)},"fields":${fields}}\n`);
}

/** Default logger: warnings and errors as JSON lines on stderr, nothing else. */
export const stderrLogger: ClusterLogger = {
  debug() {},
  info() {},
  warn: (obj, msg) => line('warn', obj, msg),
  error: (obj, msg) => line('error', obj, msg),
};

/** Discards everything (tests that provoke failures on purpose). */
export const silentLogger: ClusterLogger = { debug() {}, info() {}, warn() {}, error() {} };
