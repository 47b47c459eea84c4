/**
 * The server's structured log (pino). Secrets and message bodies are redacted from every line,
 * at any level: passwords, tokens (and their hashes), chat bodies, and URLs that may carry
 * credentials. Nothing on a hot path logs a whole frame; handlers log ids and sizes only.
 * The level is --log-level (default "info").
 */
import pino, { type Logger } from 'pino';

const SECRET_KEYS = [
  'password', 'passwordHash', 'token', 'tokenHash', 'msgBody', 'body', 'mysqlUrl', 'amqpUrl', 'redisUrl', 'authorization',
];

/** Paths removed from every log line: each key at the top level and up to two levels down. */
export const REDACT_PATHS = SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);

/** A root logger for one instance. Writes JSON lines to stdout (or `dest`). */
export function createLogger(level: string, instanceId: string, dest?: pino.DestinationStream): Logger {
  return pino({ level, base: { instanceId }, redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, dest ?? pino.destination({ sync: false }));
}
