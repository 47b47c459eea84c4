/**
 * A Bus around another that, while `holding`, keeps the deliver envelopes sent to its instance
 * instead of handing them on (they are acked to the inner bus at once). Tests use it to make one
 * instance late: a group change's SYSTEM message, and with it the member-cache invalidation,
 * reaches that instance only when the test releases it, as behind a slow broker.
 */
import type { Bus, Envelope, Health } from '../../src/cluster';

/** See the module comment. */
export class HoldingBus implements Bus {
  /** Whether deliver envelopes are held now. */
  holding = false;
  private readonly held: Array<() => Promise<void>> = [];
  private waiters: Array<() => void> = [];

  constructor(private readonly inner: Bus) {}

  get health(): Health { return this.inner.health; }
  onHealth(l: (h: Health) => void): () => void { return this.inner.onHealth(l); }
  publish(target: string, env: Envelope): Promise<void> { return this.inner.publish(target, env); }
  close(): Promise<void> { return this.inner.close(); }

  start(id: string, handler: (env: Envelope) => Promise<void>): Promise<void> {
    return this.inner.start(id, async (env) => {
      if (!this.holding || env.kind !== 'deliver') return handler(env);
      this.held.push(() => handler(env));
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /** Resolves once an envelope is being held. */
  heldOne(): Promise<void> {
    return this.held.length > 0 ? Promise.resolve() : new Promise((r) => { this.waiters.push(r); });
  }

  /** Stops holding and hands on what was held, in arrival order. */
  async release(): Promise<void> {
    this.holding = false;
    for (const run of this.held.splice(0)) await run();
  }
}
