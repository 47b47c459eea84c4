/**
 * Login announcements from Redis: the register script publishes the user's location key on
 * {@link ClusterKeys.locationChanges} in the same atomic step as the write, and every instance
 * subscribes, so a router may cache lookup() results for a short while (router-cache.ts) and drop
 * a user's entry as soon as that user logs in anywhere.
 *
 * A cache is only as good as the announcements it has not missed: while the subscriber
 * connection is down, or has not yet confirmed its subscription, `live` is false (callers must
 * not cache), and each loss or regain of the subscription is reported as `null` ("drop
 * everything"). The subscription counts as confirmed after a PING sent behind the SUBSCRIBE
 * returns (Redis answers one connection's commands in order).
 */
import type Redis from 'ioredis';
import type { ClusterKeys } from './keys';
import type { ClusterLogger } from './log';
import type { LocationWatch } from './ports';

/** Subscriber of {@link ClusterKeys.locationChanges}; created by RedisPresence.watchLocations. */
export class RedisLocationWatch implements LocationWatch {
  private readonly listeners = new Set<(userId: number | null) => void>();
  private readonly sub: Redis;
  private isLive = false;
  private closed = false;

  constructor(redis: Redis, private readonly keys: ClusterKeys, private readonly logger: ClusterLogger, name: string) {
    // A second connection: a subscribed connection can run no other commands.
    this.sub = redis.duplicate({ lazyConnect: true, enableOfflineQueue: true, connectionName: `${name}-watch` });
    this.sub.on('message', (channel: string, key: string) => {
      if (channel !== keys.locationChanges) return;
      const userId = this.keys.userOfLocation(key);
      if (userId !== null) this.emit(userId);
    });
    this.sub.on('ready', () => void this.confirm());
    this.sub.on('close', () => this.lost());
    this.sub.on('end', () => this.lost());
    this.sub.on('error', () => {}); // the presence connection logs the outage
    this.sub.subscribe(keys.locationChanges).catch(() => {}); // re-subscribed on every reconnect
    this.sub.connect().catch(() => {});
  }

  /** True while announcements are received (the subscription is confirmed). */
  get live(): boolean {
    return this.isLive;
  }

  /** Adds a listener; returns its removal. */
  add(listener: (userId: number | null) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Unsubscribes and closes the connection. */
  close(): void {
    this.closed = true;
    this.lost();
    this.sub.disconnect();
  }

  private async confirm(): Promise<void> {
    try {
      await this.sub.ping();
    } catch {
      return; // lost again: 'close' reports it
    }
    if (this.closed || this.sub.status !== 'ready') return;
    this.isLive = true;
    this.logger.info({ channel: this.keys.locationChanges }, 'location announcements subscribed: recipient locations are cached');
    this.emit(null); // anything cached before the subscription was confirmed is dropped
  }

  private lost(): void {
    if (!this.isLive) return;
    this.isLive = false;
    // Routing stays correct (one presence lookup per delivery until the subscription is back).
    if (!this.closed) this.logger.warn({ channel: this.keys.locationChanges }, 'location announcements lost: looking up every recipient until resubscribed');
    this.emit(null);
  }

  private emit(userId: number | null): void {
    for (const l of this.listeners) {
      try {
        l(userId);
      } catch (err) {
        this.logger.error({ err: String(err) }, 'location watch listener threw');
      }
    }
  }
}
