/** Small helpers shared by the client tests. */
import { afterEach } from 'node:test';
import type { ChatMessage } from '@hxim/im-common';
import { ImClient, type ClientOptions, type StateChange } from '../src';
import { FakeServer } from './fake-server';

/**
 * Per-test fixtures, undone after each test (last first): `setup` starts a fake server, `track`
 * closes a client, `cleanups` takes anything else. Call once at the top of a test file.
 */
export function useFixtures(): {
  cleanups: Array<() => unknown>;
  setup: (opts?: Parameters<typeof FakeServer.start>[0]) => Promise<FakeServer>;
  track: (client: ImClient) => ImClient;
} {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });
  return {
    cleanups,
    async setup(opts = {}) {
      const fake = await FakeServer.start(opts);
      cleanups.push(() => fake.close());
      return fake;
    },
    track(client) {
      cleanups.push(() => client.close());
      return client;
    },
  };
}

/** A client against `fake` with test-friendly timings; closed by `cleanup`. */
export function clientFor(fake: FakeServer | Array<{ host: string; port: number }>, opts: Partial<ClientOptions> = {}): ImClient {
  const servers = Array.isArray(fake) ? fake : [fake.address];
  return new ImClient({
    servers, auth: { userId: 1 }, reconnectDelay: () => 20, ackDelayMs: 10, gapFillDelayMs: 10,
    connectTimeoutMs: 2000, loginTimeoutMs: 3000, ...opts,
  });
}

/** Collects 'message' events. */
export function collect(client: ImClient): ChatMessage[] {
  const out: ChatMessage[] = [];
  client.on('message', (m) => out.push(m));
  return out;
}

/** Collects 'state' events. */
export function states(client: ImClient): StateChange[] {
  const out: StateChange[] = [];
  client.on('state', (s) => out.push(s));
  return out;
}

/** Polls `pred` every 5 ms; rejects after `ms`. */
export async function until(pred: () => boolean, ms = 3000, what = 'a condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(5);
  }
}

/** Resolves with the next state change matching `pred`. */
export function nextState(client: ImClient, pred: (s: StateChange) => boolean, ms = 3000): Promise<StateChange> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { client.off('state', on); reject(new Error(`no matching state within ${ms} ms`)); }, ms);
    const on = (s: StateChange): void => {
      if (!pred(s)) return;
      clearTimeout(timer);
      client.off('state', on);
      resolve(s);
    };
    client.on('state', on);
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The text of a chat body. */
export function text(m: ChatMessage): string {
  return Buffer.from(m.msgBody).toString('utf8');
}
