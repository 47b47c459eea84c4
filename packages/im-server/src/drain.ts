/**
 * Graceful stop (SIGTERM), as a list of small named steps with one shared deadline
 * ({@link ServerOptions.shutdownGraceMs}). The order keeps the delivery contract: nothing is
 * acked that is not stored, and every request already read is answered before the goodbye.
 *
 * 1. stopAccepting: close the listener; /healthz turns 503 (draining), so a load balancer
 *    sends new clients elsewhere; no more reads from any connection.
 * 2. finishRequests: wait for requests already read (their store batches commit, their acks
 *    are written), then flush the chat batcher.
 * 3. sayGoodbye: a fatal SERVER_DRAINING error frame to every client ("reconnect elsewhere";
 *    the client library reconnects at once), then wait for the sockets to flush and close;
 *    whatever is left at the deadline is destroyed.
 * 4. releaseBackends: flush cursor moves, wait for per-connection location removals, deregister
 *    the instance, close the bus consumer, presence and store.
 */
import { ImError } from '@hxim/im-common';
import { Pause, type Connection } from './connection';
import type { ServerContext } from './context';
import type { Bus, Presence } from './cluster/ports';
import type { Store } from '@hxim/business';

/** Time kept back for step 4 out of the grace period. */
const RELEASE_RESERVE_MS = 1000;

/** What the drain needs from the server. */
export interface DrainTarget {
  readonly ctx: ServerContext;
  readonly connections: ReadonlySet<Connection>;
  readonly presence: Presence;
  readonly bus: Bus;
  readonly store: Store;
  readonly ownsStore: boolean;
  /** Location removals still in flight (onClose starts them). */
  readonly unregistering: ReadonlySet<Promise<unknown>>;
  /** Stops the listener, timers and the admin server's readiness. */
  stopAccepting(): void;
  /** Closes the admin HTTP server, last. */
  closeAdmin(): Promise<void>;
}

/** Runs the drain; resolves within about `graceMs`. Never rejects. */
export async function drain(t: DrainTarget, graceMs: number): Promise<void> {
  const log = t.ctx.log;
  const deadline = Date.now() + graceMs;
  const left = (reserve = 0): number => Math.max(0, deadline - reserve - Date.now());
  log.info({ connections: t.connections.size, graceMs }, 'draining');

  // 1. stopAccepting
  t.stopAccepting();
  for (const c of t.connections) c.pauseReading(Pause.DRAIN);

  // 2. finishRequests
  const busy = (): boolean => t.ctx.chats.queued + t.ctx.chats.inFlight > 0 || some(t.connections, (c) => c.inflight > 0);
  await until(() => !busy(), left(RELEASE_RESERVE_MS) / 2);
  await bounded(t.ctx.chats.flush(), left(RELEASE_RESERVE_MS), () => log.error('chat flush did not finish in time'));
  await new Promise((r) => setImmediate(r));

  // 3. sayGoodbye
  const bye = new ImError('SERVER_DRAINING', 'this server is shutting down; reconnect to another instance', { fatal: true });
  for (const c of t.connections) c.fail(bye);
  await until(() => t.connections.size === 0, left(RELEASE_RESERVE_MS));
  if (t.connections.size > 0) log.warn({ left: t.connections.size }, 'destroying connections that did not close in time');
  for (const c of t.connections) c.socket.destroy();

  // 4. releaseBackends
  const step = (p: Promise<unknown>, what: string): Promise<void> =>
    bounded(p.then(() => undefined, (err: unknown) => log.warn({ err: String(err) }, `${what} failed`)), Math.max(200, left()),
      () => log.warn(`${what} did not finish in time`));
  await step(t.ctx.cursors.flush(), 'cursor flush');
  await step(Promise.allSettled([...t.unregistering]), 'location removal');
  await step(t.presence.removeInstance(t.ctx.instanceId), 'instance deregistration');
  await step(t.bus.close(), 'bus close');
  await step(t.presence.close(), 'presence close');
  if (t.ownsStore) await step(t.store.close(), 'store close');
  await t.closeAdmin().catch(() => undefined);
  log.info({ tookMs: graceMs - left() }, 'stopped');
  log.flush?.();
}

function some<T>(items: Iterable<T>, pred: (x: T) => boolean): boolean {
  for (const x of items) if (pred(x)) return true;
  return false;
}

/** Polls `cond` every 20 ms until it holds or `ms` passed. */
async function until(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
}

/** Waits for `p`, but at most `ms`; calls `onTimeout` if the time ran out. */
async function bounded(p: Promise<unknown>, ms: number, onTimeout: () => void): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    p.then(() => false, () => false),
    new Promise<boolean>((r) => { timer = setTimeout(() => r(true), ms); }),
  ]);
  clearTimeout(timer);
  if (timedOut) onTimeout();
}
