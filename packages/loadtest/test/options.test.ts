/**
 * Options: defaults, validation naming the flag, loopback only, workers for N sockets, slices,
 * and the commander front end.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import {
  buildProgram, isLoopback, MAX_SOCKETS_PER_WORKER, OptionError, parseOptions, parseServers, sliceOf, socketsNeeded,
  workersFor, type LoadOptions,
} from '../src';

describe('parseOptions', () => {
  it('fills every default', () => {
    const o = parseOptions({ scenario: 'chat' });
    assert.equal(o.durationS, 15);
    assert.equal(o.pairs, 100);
    assert.equal(o.mode, 'open');
    assert.equal(o.rate, 1000);
    assert.deepEqual(o.servers, [{ host: '127.0.0.1', port: 9090 }]);
    assert.equal(o.sourceAddrs.length, 19);
    assert.equal(o.auth, 'open');
    assert.ok(o.userBase > 0 && Number.isSafeInteger(o.userBase));
    assert.equal(parseOptions({ scenario: 'soak' }).durationS, 300);
    assert.equal(parseOptions({ scenario: 'soak' }).rate, 200);
  });

  it('refuses non-loopback servers and source addresses', () => {
    assert.throws(() => parseOptions({ scenario: 'chat', servers: '10.1.2.3:9090' }), (e: Error) => e instanceof OptionError && /servers.*not a loopback/.test(e.message));
    assert.throws(() => parseOptions({ scenario: 'chat', servers: 'example.com:9090' }), /not a loopback/);
    assert.throws(() => parseOptions({ scenario: 'chat', servers: '127.0.0.1:9090,192.168.1.1:9090' }), /192\.168\.1\.1/);
    assert.throws(() => parseOptions({ scenario: 'chat', sourceAddrs: '10.0.0.1' }), /source-addrs.*not loopback/);
    assert.deepEqual(parseOptions({ scenario: 'chat', servers: 'localhost:1,[::1]:2' }).servers,
      [{ host: 'localhost', port: 1 }, { host: '::1', port: 2 }]);
  });

  it('names the bad flag', () => {
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ rate: 'fast' }, /--rate/], [{ pairs: '0' }, /--pairs/], [{ pairs: '1.5' }, /--pairs.*whole/],
      [{ mode: 'half' }, /--mode.*open, closed/], [{ auth: 'none' }, /--auth/], [{ bodyBytes: '10' }, /--body-bytes/],
      [{ servers: '127.0.0.1' }, /--servers.*host:port/], [{ servers: '127.0.0.1:70000' }, /--servers.*port/],
      [{ serverPids: '12,x' }, /--server-pid/], [{ workers: '-1' }, /--workers/],
    ];
    for (const [input, re] of bad) assert.throws(() => parseOptions({ scenario: 'chat', ...input }), re, JSON.stringify(input));
    assert.throws(() => parseOptions({ scenario: 'nope' }), /scenario/);
    assert.throws(() => parseOptions({ scenario: 'cross' }), /cross needs at least two servers/);
    assert.throws(() => parseOptions({ scenario: 'soak', client: 'lib' }), /--client/);
    assert.throws(() => parseOptions({ scenario: 'idle', connections: '100', steps: '50,200' }), /--steps/);
    assert.throws(() => parseOptions({ scenario: 'idle', steps: '50,20' }), /--steps: must increase/);
  });

  it('group: its defaults, its sockets (every member), its limits', () => {
    const o = parseOptions({ scenario: 'group' });
    assert.deepEqual([o.groups, o.groupSize, o.groupSenders, o.rate], [5, 100, 1, 100]);
    assert.equal(socketsNeeded(parseOptions({ scenario: 'group', groups: '10', groupSize: '1000' })), 10_000);
    assert.throws(() => parseOptions({ scenario: 'group', groupSize: '10', groupSenders: '11' }), /--group-senders: must be at most --group-size/);
    assert.throws(() => parseOptions({ scenario: 'group', groupSize: '10001' }), /--group-size/);
    assert.throws(() => parseOptions({ scenario: 'group', groupSize: '1' }), /--group-size/);
    assert.throws(() => parseOptions({ scenario: 'group', client: 'lib' }), /--client/);
  });

  it('parses server pids and steps lists', () => {
    const o = parseOptions({ scenario: 'idle', serverPids: '12, 34', servicePids: '7', steps: '100,200', connections: '300' });
    assert.deepEqual(o.serverPids, [12, 34]);
    assert.deepEqual(o.servicePids, [7]);
    assert.throws(() => parseOptions({ scenario: 'idle', servicePids: 'x' }), /--service-pid/);
    assert.deepEqual(o.steps, [100, 200]);
  });
});

describe('loopback and servers', () => {
  it('isLoopback', () => {
    for (const h of ['127.0.0.1', '127.255.0.9', '::1', 'localhost', '::ffff:127.0.0.2']) assert.equal(isLoopback(h), true, h);
    for (const h of ['0.0.0.0', '128.0.0.1', '10.0.0.1', '::', 'localhost.example.com', '::ffff:10.0.0.1']) assert.equal(isLoopback(h), false, h);
  });

  it('parseServers keeps the order', () => {
    assert.deepEqual(parseServers(' 127.0.0.1:1 , 127.0.0.2:2 '), [{ host: '127.0.0.1', port: 1 }, { host: '127.0.0.2', port: 2 }]);
  });
});

describe('workers', () => {
  it('defaults to what the sockets need, at most 18,000 per worker', () => {
    assert.equal(MAX_SOCKETS_PER_WORKER, 18_000);
    assert.equal(workersFor(200, 0), 1);
    assert.equal(workersFor(18_000, 0), 1);
    assert.equal(workersFor(18_001, 0), 2);
    assert.equal(workersFor(39_000, 0), 3);
    assert.equal(workersFor(200, 4), 4);
    assert.throws(() => workersFor(39_000, 2), /--workers: 2 worker\(s\) cannot hold 39000 sockets.*use 3/);
  });

  it('counts sockets per scenario', () => {
    const o = (s: LoadOptions['scenario']): LoadOptions => parseOptions({ scenario: s, servers: '127.0.0.1:1,127.0.0.1:2', pairs: '50', connections: '70' });
    assert.equal(socketsNeeded(o('chat')), 100);
    assert.equal(socketsNeeded(o('cross')), 100);
    assert.equal(socketsNeeded(o('idle')), 70);
    assert.equal(socketsNeeded(o('login-storm')), 70);
  });

  it('slices cover [0, total) without overlap', () => {
    for (const [total, count] of [[10, 3], [2, 5], [39_000, 3], [0, 2]] as const) {
      let next = 0;
      for (let w = 0; w < count; w++) {
        const s = sliceOf(total, count, w);
        assert.equal(s.start, next);
        assert.ok(s.end - s.start <= Math.ceil(total / count));
        next = s.end;
      }
      assert.equal(next, total);
    }
  });
});

describe('command line', () => {
  async function parse(args: string[]): Promise<LoadOptions> {
    let got: LoadOptions | null = null;
    await buildProgram(async (o) => { got = o; }).parseAsync(['node', 'loadtest', ...args]);
    return got!;
  }

  it('maps flags onto options', async () => {
    const o = await parse(['chat', '--servers', '127.0.0.1:9191', '--mode', 'closed', '--window', '5', '--pairs', '7',
      '--duration', '2.5', '--server-pid', '42', '--source-addrs', '127.0.0.2-4', '--no-progress', '--auth', 'password']);
    assert.equal(o.scenario, 'chat');
    assert.deepEqual(o.servers, [{ host: '127.0.0.1', port: 9191 }]);
    assert.equal(o.mode, 'closed');
    assert.equal(o.window, 5);
    assert.equal(o.pairs, 7);
    assert.equal(o.durationS, 2.5);
    assert.deepEqual(o.serverPids, [42]);
    assert.deepEqual(o.sourceAddrs, ['127.0.0.2', '127.0.0.3', '127.0.0.4']);
    assert.equal(o.progress, false);
    assert.equal(o.auth, 'password');
  });

  it('refuses a non-loopback server before anything runs', async () => {
    await assert.rejects(parse(['idle', '--servers', '10.0.0.1:9090']), /not a loopback address/);
  });
});
