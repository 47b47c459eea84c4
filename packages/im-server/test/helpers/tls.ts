/**
 * TLS for the test helpers. With HXIM_TEST_TLS=1 in the environment, startTestServer() serves
 * TLS with the throwaway test certificate of packages/im-client/test/fixtures (CN localhost,
 * SAN 127.0.0.1), and RawClient.connect() connects with TLS, trusting that test CA. A test file
 * using those helpers therefore runs over TLS unchanged; a spawned server follows with
 * spawnServer(flags, ms, { tls: testTls() }), an ImClient with `tls: testClientTls()`:
 *
 *   HXIM_TEST_TLS=1 node --test packages/im-server/dist/test/reliability.test.js
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** packages/im-client/test/fixtures (from dist/test/helpers). */
const FIXTURES = path.resolve(__dirname, '..', '..', '..', '..', 'im-client', 'test', 'fixtures');

/** The test certificate, key and CA (file paths). */
export const TEST_TLS = {
  cert: path.join(FIXTURES, 'server.crt'),
  key: path.join(FIXTURES, 'server.key'),
  ca: path.join(FIXTURES, 'ca.crt'),
};

/** True when the helpers run over TLS (HXIM_TEST_TLS=1). */
export function testTls(): boolean {
  return process.env.HXIM_TEST_TLS === '1';
}

let caPem: Buffer | undefined;

/** The test CA's PEM, for tls.connect({ ca }). */
export function testCa(): Buffer {
  caPem ??= fs.readFileSync(TEST_TLS.ca);
  return caPem;
}

/** TLS options for ImClient / register() in tests: trust the test CA when HXIM_TEST_TLS=1. */
export function testClientTls(): { ca: Buffer } | undefined {
  return testTls() ? { ca: testCa() } : undefined;
}
