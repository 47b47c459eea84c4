/**
 * CI-sized smoke runs across two instances in cluster mode on the real services (MySQL store,
 * Redis presence, RabbitMQ bus; a database, namespace and instance ids of this file's own):
 * cross (each pair's sender and receiver on different instances) and group (members spread
 * round-robin over both instances, so every message crosses the bus). Correctness only.
 */
import { after, before, describe, it } from 'node:test';
import { parseOptions, runLoad } from '../../src';
import { startCluster, type TestCluster } from './cluster';
import { assertChatClean, assertGroupClean } from './verdicts';

describe('smoke: two cluster instances (mysql, redis-rabbit)', { concurrency: false }, () => {
  let cluster: TestCluster;
  before(async () => { cluster = await startCluster('x'); });
  after(() => cluster?.stop());

  const opts = (scenario: string, extra: Record<string, unknown>) => parseOptions({
    scenario, servers: cluster.addresses, serverPids: cluster.servers.map((s) => s.pid).join(','), progress: false, ...extra,
  });

  it('cross: 100 pairs for 10 s, sender and receiver on different instances, nothing lost', async () => {
    const r = await runLoad(opts('cross', { pairs: 100, rate: 300, warmupS: 1, durationS: 10 }), 'smoke cross');
    assertChatClean(r);
  });

  it('group: 3 groups of 60 spread over both instances for 10 s, every member got every acked message', async () => {
    const r = await runLoad(opts('group', { groups: 3, groupSize: 60, rate: 30, warmupS: 1, durationS: 10 }), 'smoke group cluster');
    assertGroupClean(r, 3 * 60);
  });
});
