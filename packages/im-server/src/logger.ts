/**
 * The server's structured log (pino). Secrets are redacted; message bodies are never logged.
 */
import pino, { type Logger } from 'pino';

/** Paths removed from every log line. */
export const REDACT_PATHS = ['password', '*.password', 'token', '*.token', 'msgBody', '*.msgBody', 'body', '*.body'];

/** A root logger for one instance. Writes JSON lines to stdout (or `dest`). */
export function createLogger(level: string, instanceId: string, dest?: pino.DestinationStream): Logger {
  return pino({ level, base: { instanceId }, redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, dest ?? pino.destination({ sync: false }));
}
