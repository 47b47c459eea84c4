#!/usr/bin/env node
/**
 * `loadtest <scenario> [options]`: the command line. Every flag maps onto one LoadOptions field;
 * parseOptions() validates them all (and refuses non-loopback servers) before anything connects.
 */
import { Command, Option } from 'commander';
import * as O from './options';
import { EXIT_FAILED, EXIT_USAGE, toMarkdown, writeOutputs } from './report';
import { runLoad, ScenarioUnavailable } from './run';
import { SCENARIO_DEFS } from './scenarios';

type Flag = [flag: string, key: keyof O.LoadOptions, description: string];

/** Flags every scenario takes. */
export const COMMON_FLAGS: Flag[] = [
  ['--servers <list>', 'servers', `host:port[,host:port...], loopback only; connections are spread over them (default ${O.DEFAULT_SERVERS})`],
  ['--duration <s>', 'durationS', `measured seconds, after the warm-up (default ${O.DEFAULT_DURATION_S}; soak ${O.DEFAULT_SOAK_DURATION_S})`],
  ['--warmup <s>', 'warmupS', `seconds of load before measuring (default ${O.DEFAULT_WARMUP_S})`],
  ['--drain-timeout <s>', 'drainS', `after the load, wait at most this long for acks and deliveries (default ${O.DEFAULT_DRAIN_S})`],
  ['--max-messages <n>', 'maxMessages', 'stop sending after n messages in all (default 0: no limit)'],
  ['--workers <n>', 'workers', `worker processes (default: ceil(sockets / ${O.MAX_SOCKETS_PER_WORKER}); the fd limit is per process)`],
  ['--source-addrs <list>', 'sourceAddrs', `local addresses to rotate over, e.g. 127.0.0.2-127.0.0.20 (default ${O.DEFAULT_SOURCE_ADDRS})`],
  ['--auth <mode>', 'auth', '"open" (user ids; server --auth open) or "password" (registers lt_<run>_<i>, logs in, re-logs in by token) (default open)'],
  ['--password <pw>', 'password', `password of the test users (default ${O.DEFAULT_PASSWORD})`],
  ['--server-pid <pids>', 'serverPids', 'server process id(s), comma-separated: samples their CPU (µs/msg) and RSS from /proc'],
  ['--service-pid <pids>', 'servicePids', 'backing services\' pids (mariadbd, redis-server, beam.smp): their CPU is reported apart, not as "other processes"'],
  ['--out <dir>', 'outDir', 'write result.json and summary.md there (default: summary on stdout only)'],
  ['--tls', 'tls', 'connect with TLS (certificates are not verified: loopback only)'],
  ['--label <text>', 'label', 'name of the run in reports (default: the scenario)'],
  ['--run-id <n>', 'runId', 'run id stamped in bodies and user names (default: from the clock)'],
  ['--user-base <n>', 'userBase', 'open mode: first user id (default: from the run id, so runs never share conversations)'],
  ['--body-bytes <n>', 'bodyBytes', `chat body size, >= ${O.MIN_BODY_BYTES} (default ${O.DEFAULT_BODY_BYTES})`],
  ['--heartbeat-ms <n>', 'heartbeatMs', 'heartbeat interval (default 0: the server\'s LoginAck.heartbeatMs)'],
  ['--concurrency <n>', 'concurrency', `connects/logins in flight per worker (default ${O.DEFAULT_CONCURRENCY})`],
];

const CHAT_FLAGS: Flag[] = [
  ['--pairs <n>', 'pairs', `sender→receiver pairs (default ${O.DEFAULT_PAIRS})`],
  ['--mode <mode>', 'mode', '"open": fixed --rate, latency from the intended send time; "closed": --window in flight per pair, a new send per delivery (default open)'],
  ['--rate <n>', 'rate', `open loop: messages/s over all pairs (default ${O.DEFAULT_RATE}; soak ${O.DEFAULT_SOAK_RATE})`],
  ['--window <n>', 'window', `closed loop: messages in flight per pair (default ${O.DEFAULT_WINDOW})`],
  ['--ack-delay-ms <n>', 'ackDelayMs', `receivers send coalesced DELIVERED acks this often (default ${O.DEFAULT_ACK_DELAY_MS})`],
  ['--catchup-timeout <s>', 'catchupS', `the final catch-up must end within (default ${O.DEFAULT_CATCHUP_S})`],
];

const SCENARIO_FLAGS: Record<O.ScenarioName, Flag[]> = {
  idle: [
    ['--connections <n>', 'connections', `connections to hold (default ${O.DEFAULT_CONNECTIONS})`],
    ['--steps <list>', 'steps', 'intermediate connection counts to sample RSS at, e.g. 5000 (the slope between the last two is reported)'],
    ['--settle <s>', 'settleS', `seconds to settle after each step before sampling RSS (default ${O.DEFAULT_SETTLE_S})`],
  ],
  chat: [...CHAT_FLAGS, ['--client <kind>', 'client', '"raw": pre-encoded frames on im-common; "lib": one ImClient per user (default raw)']],
  cross: [...CHAT_FLAGS, ['--client <kind>', 'client', '"raw" or "lib" (default raw)']],
  group: [
    ['--groups <n>', 'groups', `groups (default ${O.DEFAULT_GROUPS})`],
    ['--group-size <n>', 'groupSize', `members per group, the owner included, at most ${O.MAX_GROUP_SIZE} (default ${O.DEFAULT_GROUP_SIZE})`],
    ['--group-senders <n>', 'groupSenders', `members of each group that send, in turn (default ${O.DEFAULT_GROUP_SENDERS})`],
    ['--mode <mode>', 'mode', '"open": fixed --rate; "closed": --window in flight per sender, a new send when a witness member gets one (default open)'],
    ['--rate <n>', 'rate', `open loop: group messages/s over all groups, each delivered to size − 1 members (default ${O.DEFAULT_GROUP_RATE})`],
    ['--window <n>', 'window', `closed loop: messages in flight per sender (default ${O.DEFAULT_WINDOW})`],
    ['--ack-delay-ms <n>', 'ackDelayMs', `members send coalesced DELIVERED acks this often (default ${O.DEFAULT_ACK_DELAY_MS})`],
    ['--catchup-timeout <s>', 'catchupS', `the final catch-up must end within (default ${O.DEFAULT_CATCHUP_S})`],
  ],
  'login-storm': [['--connections <n>', 'connections', `logins (default ${O.DEFAULT_CONNECTIONS})`]],
  soak: [
    ...CHAT_FLAGS,
    ['--churn <pct>', 'churnPct', `percent of connections dropped and reconnected each interval (default ${O.DEFAULT_CHURN_PCT})`],
    ['--churn-interval <s>', 'churnIntervalS', `seconds between churn rounds (default ${O.DEFAULT_CHURN_INTERVAL_S})`],
  ],
};

const camel = (flag: string): string => flag.replace(/^--/, '').split(' ')[0]!.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** Builds the commander program (exported for the tests). */
export function buildProgram(onRun: (opts: O.LoadOptions, json: boolean) => Promise<void>): Command {
  const program = new Command('loadtest')
    .description('Load tests for the IM server: many sockets over worker processes, open/closed-loop rates, HDR latency ' +
      'histograms (p50..max), server CPU-µs/msg and RSS, and a history checker (lost, duplicates, reordered, ' +
      'unexpected, gaps) after a catch-up. Loopback only; every run stops by itself. Exit 0 = pass, 1 = failed, 2 = usage.')
    .showHelpAfterError()
    .exitOverride();
  for (const name of O.SCENARIOS) {
    const def = SCENARIO_DEFS[name];
    const cmd = program.command(name).description(def.summary + (def.unavailable ? ` — ${def.unavailable}` : ''));
    for (const [flag, , desc] of [...SCENARIO_FLAGS[name], ...COMMON_FLAGS]) cmd.addOption(new Option(flag, desc));
    cmd.option('--no-progress', 'no live progress line on stderr');
    cmd.option('--json', 'print the JSON result on stdout instead of the Markdown summary');
    cmd.action(async (flags: Record<string, unknown>) => {
      const input: Partial<Record<keyof O.LoadOptions, unknown>> & { scenario: string } = { scenario: name };
      for (const [flag, key] of [...SCENARIO_FLAGS[name], ...COMMON_FLAGS]) {
        const v = flags[camel(flag)];
        if (v !== undefined) (input as Record<string, unknown>)[key] = v;
      }
      input.progress = flags.progress !== false;
      await onRun(O.parseOptions(input), flags.json === true);
    });
  }
  program.addHelpText('after', '\nExamples:\n' +
    '  loadtest chat --servers 127.0.0.1:9090 --pairs 100 --rate 1000 --server-pid $(pgrep -f "im-server.*9090")\n' +
    '  loadtest chat --mode closed --window 10 --pairs 100 --duration 15 --out /tmp/lt-closed\n' +
    '  loadtest idle --connections 19500 --heartbeat-ms 30000 --server-pid 1234\n' +
    '  loadtest cross --servers 127.0.0.1:9091,127.0.0.1:9092 --rate 2000\n' +
    '  loadtest group --groups 10 --group-size 1000 --rate 50 --server-pid 1234\n' +
    '  loadtest login-storm --auth password --connections 2000   # server: --auth password --scrypt-log-n 10');
  return program;
}

async function execute(opts: O.LoadOptions, json: boolean): Promise<void> {
  const result = await runLoad(opts, ['loadtest', ...process.argv.slice(2)].join(' '));
  if (opts.outDir) {
    const files = writeOutputs(result, opts.outDir);
    process.stderr.write(`loadtest: wrote ${files.json} and ${files.md}\n`);
  }
  process.stdout.write(json ? JSON.stringify(result) + '\n' : toMarkdown(result));
  process.exitCode = result.exitCode;
}

async function main(): Promise<void> {
  const program = buildProgram(execute);
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    const e = err as Error & { code?: string; exitCode?: number };
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') {
      process.exitCode = 0;
    } else if (e.code?.startsWith('commander.')) {
      process.exitCode = EXIT_USAGE;
    } else if (err instanceof O.OptionError || err instanceof ScenarioUnavailable) {
      process.stderr.write(`loadtest: ${e.message}\n`);
      process.exitCode = EXIT_USAGE;
    } else {
      process.stderr.write(`loadtest: ${e.message}\n`);
      // A run stopped by its watchdog may still have timers pending: leave now.
      process.exit(EXIT_FAILED);
    }
  }
}

if (require.main === module) void main();
