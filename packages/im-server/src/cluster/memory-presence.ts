/**
 * In-process presence: the embedded default (STYLE.md practice 5). Real code with the same TTL
 * and compare-and-delete semantics as RedisPresence, checked by the same contract suite. One
 * {@link MemoryPresenceStore} can back several {@link MemoryPresence} handles, so tests can run
 * three server instances in one process, each with its own handle.
 */
import { ClusterError } from './errors';
import { checkInstanceId, checkLocation, checkSafeInt, checkTtl } from './keys';
import { HealthTracker, intOption, rejectUnknown } from './options';
import type { Health, InstanceInfo, Location, LocationWatch, Presence } from './ports';

/** How often expired entries are swept from memory (they are invisible as soon as they expire). */
export const DEFAULT_MEMORY_SWEEP_INTERVAL_MS = 10_000;

/** Options of {@link MemoryPresenceStore}. */
export interface MemoryPresenceStoreOptions {
  /** Sweep period in ms. Default {@link DEFAULT_MEMORY_SWEEP_INTERVAL_MS}. */
  sweepIntervalMs?: number;
  /** Clock in ms; tests may inject one. Default Date.now. */
  now?: () => number;
}

interface Entry {
  instanceId: string;
  connId: string;
  expiresAt: number;
}

/** The shared state: user -> platform -> location, and the instance registry. */
export class MemoryPresenceStore {
  /** The clock every handle uses. */
  readonly now: () => number;
  /** userId -> platform -> entry. */
  readonly locations = new Map<number, Map<number, Entry>>();
  /** instanceId -> info and expiry. */
  readonly registry = new Map<string, { info: InstanceInfo; expiresAt: number }>();
  /** Called with the user id of every register() (login announcements, like Redis pub/sub). */
  readonly loginListeners = new Set<(userId: number) => void>();
  private timer: NodeJS.Timeout | null = null;
  private readonly sweepIntervalMs: number;

  constructor(opts: MemoryPresenceStoreOptions = {}) {
    rejectUnknown(opts, ['sweepIntervalMs', 'now'], 'MemoryPresenceStore');
    this.sweepIntervalMs = intOption(opts, 'sweepIntervalMs', DEFAULT_MEMORY_SWEEP_INTERVAL_MS, 1, 3_600_000);
    this.now = opts.now ?? Date.now;
  }

  /** Drops expired entries now. */
  sweep(): void {
    const now = this.now();
    for (const [uid, byPlatform] of this.locations) {
      for (const [p, e] of byPlatform) if (e.expiresAt <= now) byPlatform.delete(p);
      if (byPlatform.size === 0) this.locations.delete(uid);
    }
    for (const [id, r] of this.registry) if (r.expiresAt <= now) this.registry.delete(id);
    if (this.locations.size === 0 && this.registry.size === 0) this.stopSweeper();
  }

  /** Starts the (unref'd) sweeper once there is something to sweep. */
  touch(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.sweep(), this.sweepIntervalMs);
    this.timer.unref();
  }

  private stopSweeper(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

/** A Presence handle over a (possibly shared) {@link MemoryPresenceStore}. Always healthy. */
export class MemoryPresence implements Presence {
  private closed = false;
  private readonly tracker = new HealthTracker('up', () => {});

  /** @param store shared state; a private one by default. */
  constructor(readonly store: MemoryPresenceStore = new MemoryPresenceStore()) {}

  /** Always 'up' (there is no connection to lose). */
  get health(): Health {
    return this.tracker.health;
  }

  /** Never fires; present for the HealthSource contract. */
  onHealth(listener: (health: Health) => void): () => void {
    return this.tracker.onHealth(listener);
  }

  async register(loc: Location, ttlMs: number): Promise<Location | null> {
    this.open();
    checkLocation(loc);
    checkTtl(ttlMs);
    const now = this.store.now();
    let byPlatform = this.store.locations.get(loc.userId);
    if (!byPlatform) this.store.locations.set(loc.userId, (byPlatform = new Map()));
    const old = byPlatform.get(loc.platform);
    byPlatform.set(loc.platform, { instanceId: loc.instanceId, connId: loc.connId, expiresAt: now + ttlMs });
    this.store.touch();
    for (const l of this.store.loginListeners) l(loc.userId);
    if (!old || old.expiresAt <= now || (old.connId === loc.connId && old.instanceId === loc.instanceId)) return null;
    return { userId: loc.userId, platform: loc.platform, instanceId: old.instanceId, connId: old.connId };
  }

  async unregister(loc: Location): Promise<boolean> {
    this.open();
    checkLocation(loc);
    const byPlatform = this.store.locations.get(loc.userId);
    const cur = byPlatform?.get(loc.platform);
    if (!byPlatform || !cur || cur.connId !== loc.connId || cur.instanceId !== loc.instanceId) return false;
    byPlatform.delete(loc.platform);
    if (byPlatform.size === 0) this.store.locations.delete(loc.userId);
    return cur.expiresAt > this.store.now();
  }

  async lookup(userIds: readonly number[]): Promise<Map<number, Location[]>> {
    this.open();
    const now = this.store.now();
    const out = new Map<number, Location[]>();
    for (const userId of userIds) {
      checkSafeInt(userId, 'userId');
      const byPlatform = this.store.locations.get(userId);
      if (!byPlatform || out.has(userId)) continue;
      const list: Location[] = [];
      for (const [platform, e] of byPlatform) {
        if (e.expiresAt > now) list.push({ userId, platform, instanceId: e.instanceId, connId: e.connId });
      }
      if (list.length > 0) out.set(userId, list.sort((a, b) => a.platform - b.platform));
    }
    return out;
  }

  async refresh(locs: readonly Location[], ttlMs: number): Promise<void> {
    this.open();
    checkTtl(ttlMs);
    for (const loc of locs) checkLocation(loc);
    const now = this.store.now();
    for (const loc of locs) {
      let byPlatform = this.store.locations.get(loc.userId);
      if (!byPlatform) this.store.locations.set(loc.userId, (byPlatform = new Map()));
      const cur = byPlatform.get(loc.platform);
      const mine = cur && cur.connId === loc.connId && cur.instanceId === loc.instanceId;
      if (cur && !mine && cur.expiresAt > now) continue; // a newer login owns it
      byPlatform.set(loc.platform, { instanceId: loc.instanceId, connId: loc.connId, expiresAt: now + ttlMs });
    }
    if (locs.length > 0) this.store.touch();
  }

  async heartbeatInstance(info: InstanceInfo, ttlMs: number): Promise<void> {
    this.open();
    checkInstanceId(info.instanceId);
    checkTtl(ttlMs);
    this.store.registry.set(info.instanceId, { info: { ...info }, expiresAt: this.store.now() + ttlMs });
    this.store.touch();
  }

  async removeInstance(instanceId: string): Promise<void> {
    this.open();
    this.store.registry.delete(checkInstanceId(instanceId));
  }

  async instances(): Promise<InstanceInfo[]> {
    this.open();
    const now = this.store.now();
    const out: InstanceInfo[] = [];
    for (const r of this.store.registry.values()) if (r.expiresAt > now) out.push({ ...r.info });
    return out;
  }

  /** Login announcements of every handle on the store, delivered synchronously; live until closed. */
  watchLocations(): LocationWatch {
    this.open();
    const listeners = this.store.loginListeners;
    const isOpen = (): boolean => !this.closed;
    return {
      get live() {
        return isOpen();
      },
      add(listener: (userId: number | null) => void): () => void {
        const l = (userId: number): void => listener(userId);
        listeners.add(l);
        return () => listeners.delete(l);
      },
    };
  }

  /** Closes this handle only; the shared store lives on for the other handles. */
  async close(): Promise<void> {
    this.closed = true;
  }

  private open(): void {
    if (this.closed) throw new ClusterError('memory', 'closed', 'this presence handle was closed');
  }
}
