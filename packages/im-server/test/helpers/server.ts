/**
 * Starts test servers on ephemeral ports with a temporary SQLite store and quiet logs.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import { startServer, type ImServer, type ServerDeps, type ServerOptions } from '../../src';
import { TEST_TLS, testTls } from './tls';

/** A fresh temporary data directory. */
export function tempDir(tag = 'hxim'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `${tag}-`));
}

/**
 * Test defaults: ephemeral port, loopback, cheap scrypt, silent logs; TLS when HXIM_TEST_TLS=1.
 * strangerPolicy "anyone": most tests chat between users who are not friends; the production
 * default is "friends", and the friendship tests ask for it explicitly.
 */
export function testOptions(over: Partial<ServerOptions> = {}): Partial<ServerOptions> {
  const tls = testTls() ? { tlsCert: TEST_TLS.cert, tlsKey: TEST_TLS.key } : {};
  return {
    host: '127.0.0.1', port: 0, scryptLogN: 10, dataDir: tempDir(), logLevel: 'silent', strangerPolicy: 'anyone', ...tls, ...over,
  };
}

/** Starts a server with {@link testOptions}. */
export function startTestServer(over: Partial<ServerOptions> = {}, deps: ServerDeps = {}): Promise<ImServer> {
  const level = process.env.HXIM_TEST_LOG ?? 'silent';
  return startServer(testOptions(over), { logger: pino({ level }), ...deps });
}
