#!/usr/bin/env node
/**
 * im-server command line: `im-server start [options]`. Every flag has an HXIM_* environment
 * variable (flag --idle-timeout-ms -> HXIM_IDLE_TIMEOUT_MS); flags win over the environment.
 */
import { Command } from 'commander';
import { ImError } from '@hxim/im-common';
import { ConfigError, defaultOptions, parseOptions, type ServerOptions } from './config';
import { startServer } from './server';

const d = defaultOptions();

/** Flag name, option key, description. */
const FLAGS: Array<[string, keyof ServerOptions, string]> = [
  ['--host <addr>', 'host', `listen address (default ${d.host})`],
  ['--port <n>', 'port', `listen port, 0 = any free port (default ${d.port})`],
  ['--instance-id <id>', 'instanceId', 'unique id of this instance (default <hostname>-<port>)'],
  ['--advertise <host:port>', 'advertise', 'address clients reach this instance at (default 127.0.0.1:<port>)'],
  ['--auth <mode>', 'auth', `"password": accounts + tokens; "open": trust OnlineMessage.userId like the seed (default ${d.auth})`],
  ['--stranger-policy <who>', 'strangerPolicy', `who may send 1:1 chats: "friends" or "anyone"; --auth open means anyone (default ${d.strangerPolicy})`],
  ['--store <kind>', 'store', `"sqlite" (embedded) or "mysql" (default ${d.store})`],
  ['--data-dir <dir>', 'dataDir', 'SQLite data directory (default ./data)'],
  ['--sqlite-sync <mode>', 'sqliteSync', `SQLite synchronous: FULL survives power loss, NORMAL only crashes (default ${d.sqliteSync})`],
  ['--mysql-url <url>', 'mysqlUrl', `MySQL/MariaDB URL (default ${d.mysqlUrl})`],
  ['--cluster <mode>', 'cluster', `"embedded" (in-memory presence, in-process bus) or "redis-rabbit" (default ${d.cluster})`],
  ['--redis-url <url>', 'redisUrl', `Redis URL (default ${d.redisUrl})`],
  ['--amqp-url <url>', 'amqpUrl', `RabbitMQ URL (default ${d.amqpUrl})`],
  ['--namespace <ns>', 'namespace', `prefix of every Redis key and queue (default ${d.namespace})`],
  ['--idle-timeout-ms <n>', 'idleTimeoutMs', `close after this long without reading (default ${d.idleTimeoutMs})`],
  ['--login-timeout-ms <n>', 'loginTimeoutMs', `close connections not logged in after this long (default ${d.loginTimeoutMs})`],
  ['--heartbeat-ms <n>', 'heartbeatMs', `heartbeat interval told to clients (default ${d.heartbeatMs})`],
  ['--partial-frame-timeout-ms <n>', 'partialFrameTimeoutMs', `a partial frame must complete within (default ${d.partialFrameTimeoutMs})`],
  ['--max-frame-bytes <n>', 'maxFrameBytes', `largest frame body, checked at the header (default ${d.maxFrameBytes})`],
  ['--max-body-bytes <n>', 'maxBodyBytes', `largest chat body (default ${d.maxBodyBytes})`],
  ['--max-connections <n>', 'maxConnections', `connections per process; more get SERVER_FULL (default ${d.maxConnections})`],
  ['--max-outbound-bytes <n>', 'maxOutboundBytes', `unsent bytes before a slow reader is closed (default ${d.maxOutboundBytes})`],
  ['--drain-timeout-ms <n>', 'drainTimeoutMs', `close a connection whose output has not drained for this long (default ${d.drainTimeoutMs})`],
  ['--max-inflight <n>', 'maxInflight', `chats per connection awaiting the store before reading pauses (default ${d.maxInflight})`],
  ['--max-server-inflight <n>', 'maxServerInflight', `chats awaiting the store server-wide before submitting connections pause; 0 = no bound (default ${d.maxServerInflight})`],
  ['--max-notices-per-user <n>', 'maxNoticesPerUser', `stored notifications (friend/group events awaiting an ack) kept per user; more delete that user's oldest; 1-100000 (default ${d.maxNoticesPerUser})`],
  ['--sync-page <n>', 'syncPage', `messages per catch-up page (default ${d.syncPage})`],
  ['--scrypt-log-n <n>', 'scryptLogN', `scrypt cost log2(N); lower only for tests (default ${d.scryptLogN})`],
  ['--scrypt-concurrency <n>', 'scryptConcurrency', `password hashes computed at once (default ${d.scryptConcurrency})`],
  ['--token-ttl-ms <n>', 'tokenTtlMs', `session token lifetime (default ${d.tokenTtlMs})`],
  ['--presence-ttl-ms <n>', 'presenceTtlMs', `location TTL in the cluster (default ${d.presenceTtlMs})`],
  ['--log-level <level>', 'logLevel', `fatal|error|warn|info|debug|trace|silent (default ${d.logLevel})`],
  ['--msg-rate <n>', 'msgRate', `frames/s per connection before reading pauses; 0 = unlimited (default ${d.msgRate})`],
  ['--msg-burst <n>', 'msgBurst', `frames a connection may send at once above the rate (default ${d.msgBurst})`],
  ['--rate-limit-grace-ms <n>', 'rateLimitGraceMs', `a connection over its rate this long gets RATE_LIMITED and is closed (default ${d.rateLimitGraceMs})`],
  ['--connect-rate <n>', 'connectRate', `new connections/s per listener; excess get RATE_LIMITED; 0 = unlimited (default ${d.connectRate})`],
  ['--connect-burst <n>', 'connectBurst', `new connections accepted at once above the rate (default ${d.connectBurst})`],
  ['--login-failures-per-account <n>', 'loginFailuresPerAccount', `failed logins per account per window before LOGIN_THROTTLED; 0 = no limit (default ${d.loginFailuresPerAccount})`],
  ['--login-failures-per-address <n>', 'loginFailuresPerAddress', `failed logins per client address per window; 0 = no limit (default ${d.loginFailuresPerAddress})`],
  ['--login-failure-window-ms <n>', 'loginFailureWindowMs', `window of the failed-login limits (default ${d.loginFailureWindowMs})`],
  ['--tls-cert <file>', 'tlsCert', 'PEM certificate chain: with --tls-key, clients connect with TLS (default: plain TCP)'],
  ['--tls-key <file>', 'tlsKey', 'PEM private key of --tls-cert'],
  ['--admin-port <n>', 'adminPort', 'HTTP port for /healthz and /metrics; "off" or -1 = disabled, 0 = any free port (default off)'],
  ['--admin-host <addr>', 'adminHost', `HTTP admin listen address (default ${d.adminHost})`],
  ['--shutdown-grace-ms <n>', 'shutdownGraceMs', `SIGTERM drain budget; the process exits at most 2 s after it (default ${d.shutdownGraceMs})`],
];

/** The CLI's hard stop after a signal: the drain budget plus this margin (exit code 1). */
const FORCE_EXIT_MARGIN_MS = 2000;

function envName(key: string): string {
  return 'HXIM_' + key.replace(/[A-Z]/g, (c) => '_' + c).toUpperCase();
}

async function runStart(flags: Record<string, unknown>): Promise<void> {
  const input: Partial<Record<keyof ServerOptions, unknown>> = {};
  for (const [, key] of FLAGS) {
    const v = flags[key] ?? process.env[envName(key)];
    if (v !== undefined) input[key] = v;
  }
  let opts: ServerOptions;
  try {
    opts = parseOptions(input);
  } catch (err) {
    console.error(`im-server: ${(err as Error).message}`);
    process.exit(2);
  }
  const srv = await startServer(opts);
  let signals = 0;
  const onSignal = (sig: string): void => {
    if (++signals > 1) process.exit(1);
    process.stderr.write(`im-server: ${sig}, draining (again to force)\n`);
    const force = setTimeout(() => process.exit(1), opts.shutdownGraceMs + FORCE_EXIT_MARGIN_MS);
    force.unref();
    srv.stop().then(() => process.exit(0), () => process.exit(1));
  };
  // Handlers first: a supervisor may signal as soon as it reads the "listening" line.
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.stderr.write(`im-server ${opts.instanceId} listening on ${opts.host}:${srv.port}${srv.tls ? ' (TLS)' : ''} ` +
    `(auth ${opts.auth}, store ${opts.store}${opts.store === 'sqlite' ? ' in ' + opts.dataDir : ''}, cluster ${opts.cluster})` +
    `${srv.adminPort >= 0 ? `; admin http://${opts.adminHost}:${srv.adminPort}/healthz /metrics` : ''}\n`);
}

const program = new Command('im-server')
  .description('Instant-messaging server: TCP + protobuf, seed-compatible with the hxIM Java demo.')
  .showHelpAfterError()
  // Usage errors (unknown flag, missing value) exit 2 like a bad value; --help and --version exit 0.
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));

const start = program.command('start')
  .description('run one server instance (embedded SQLite store by default: needs no services)')
  .addHelpText('after', '\nEvery option can also be set by environment, e.g. --idle-timeout-ms as HXIM_IDLE_TIMEOUT_MS.\n' +
    'Exit codes: 0 after a graceful stop (SIGTERM/SIGINT), 1 start failure or forced stop, 2 bad option.\n' +
    'Limits, metrics, health, drain and TLS: docs/operations.md.');
// commander camel-cases each flag into exactly the option key (--idle-timeout-ms -> idleTimeoutMs).
for (const [flag, , desc] of FLAGS) start.option(flag, desc);
start.action((flags: Record<string, unknown>) => runStart(flags).catch((err: unknown) => {
  const e = err as Error;
  if (e instanceof ConfigError) {
    console.error(`im-server: ${e.message}`);
    process.exit(2);
  }
  console.error(`im-server: could not start: ${e instanceof ImError ? `${e.code}: ` : ''}${e.message}`);
  process.exit(1);
}));

program.parseAsync(process.argv).catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
