/**
 * Routes encoded frames to users: to their connections on this instance directly, and to other
 * instances through the bus, one envelope per target instance (never a broadcast: seed.md §9.5).
 *
 * A frame is encoded once by the caller and the same bytes are written to every connection.
 * Remote targets are found once per event-loop turn, for every delivery of that turn, in one of
 * two ways:
 *  - a delivery to few users (1:1 chats, small groups): their locations are looked up in Redis
 *    (one pipelined lookup per turn, for the users not in the short-lived location cache,
 *    cluster/location-cache.ts) and each instance holding one of them gets one envelope. An
 *    instance receiving such an envelope for a user it does not hold (a cached location gone
 *    stale by a logout or an instance death) looks the user up afresh and passes the envelope on
 *    once, flagged so it is never passed on again;
 *  - a delivery to many users (at least {@link WIDE_DELIVERY_MIN_USERS}: a big group) skips the
 *    per-user lookup. Every other LIVE instance of the registry gets one envelope with the whole
 *    user list, and writes to those of the users it holds, from its own session table (each
 *    instance is the authority on its own connections). Nothing about locations is cached, so no
 *    login, logout, kick or instance death can make it stale. The registry is read per turn (two
 *    Redis commands instead of one HGETALL per member); an instance enters it before its first
 *    login registers (server.ts heartbeats right after binding, on the same Redis connection the
 *    logins' registrations use) and leaves it when it stops or its heartbeat expires. To save the
 *    read's round trip, the instances of the previous read get the envelope at once, before the
 *    local writes; the read then adds any instance that joined since (none gets two). If the
 *    read fails, the previous list is used (an envelope to a dead instance waits in its queue or
 *    is dropped by the broker; clients dedup by seq). An instance holding none of the users
 *    ignores the envelope; a big group has members everywhere, so this costs little.
 * A failed lookup or publish is retried ({@link ROUTE_RETRY_DELAYS_MS}); pushes are at least
 * once, and clients drop duplicates and reorder by seq. Only after the last retry is a push given
 * up, logged as an error: the message is stored, and the recipient gets it by seq on its next
 * catch-up, or from a gap fill when the next message of the conversation arrives (DESIGN.md "The
 * broker is a transport, not the store").
 */
import type { Logger } from 'pino';
import { ChatKind, decodeBody, ImError, MessageType, SEED_MAX_TYPE } from '@hxim/im-common';
import { ClusterError } from './cluster/errors';
import { LocationCache, LOCATION_CACHE_TTL_MS } from './cluster/location-cache';
import type { Bus, DeliverEnvelope, Envelope, Location, Presence } from './cluster/ports';
import type { Connection } from './connection';
import type { SessionTable } from './sessions';

/** Called after a frame was written to a seed-mode connection (seed clients cannot ack). */
export type SeedDelivered = (conn: Connection, convId: string, seq: number) => void;

/** Router dependencies. */
export interface RouterDeps {
  instanceId: string;
  sessions: SessionTable;
  presence: Presence;
  bus: Bus;
  /** False for a single embedded instance: no presence lookups at all. */
  clustered: boolean;
  log: Logger;
  onSeedDelivered: SeedDelivered;
  /** Counts publish failures, for metrics. */
  onPublishError?: (err: unknown) => void;
  /**
   * Called when a group's SYSTEM message (a membership change, issue 5) arrives from another
   * instance, so this instance drops its cached member list at once instead of after the TTL.
   */
  onRemoteGroupChange?: (groupId: number) => void;
  /** Retry delays of kickRemote; default {@link KICK_RETRY_DELAYS_MS} (tests use shorter ones). */
  kickRetryDelaysMs?: readonly number[];
  /**
   * How long a presence lookup result is reused, in ms (default {@link LOCATION_CACHE_TTL_MS});
   * 0 looks every delivery up. Only with a presence that announces logins (watchLocations).
   */
  locationCacheMs?: number;
}

interface PendingDelivery {
  frame: Buffer;
  userIds: readonly number[];
  exceptConnId: string;
  /** For the log when a push is given up ('' and 0 for frames that are not chats). */
  convId: string;
  seq: number;
  /** Instances a wide delivery was already published to (from the last registry read). */
  sentTo: readonly string[] | null;
}

/** Most one warning per this interval per kind while a backend is down (the rest are counted). */
export const ROUTE_WARN_EVERY_MS = 5000;

/**
 * A delivery to at least this many users goes to every live instance instead of looking up each
 * user's location (see the file comment). Below it, a lookup is cheap and spares the instances
 * holding none of the users; above it, a group almost surely has members on every instance.
 */
export const WIDE_DELIVERY_MIN_USERS = 128;

/**
 * Delays before the retries of a failed presence lookup or publish, in ms: one retry per entry,
 * then the push is given up (about 1.3 s after the first failure, longer than a Redis command
 * timeout, shorter than a client's patience).
 */
export const ROUTE_RETRY_DELAYS_MS: readonly number[] = [50, 250, 1000];

/**
 * Delays before the retries of a kick (duplicate login across instances) that could not be
 * published, in ms: about 30 s in all, longer than a broker restart.
 */
export const KICK_RETRY_DELAYS_MS: readonly number[] = [250, 500, 1000, 2000, 4000, 5000, 5000, 5000, 5000];

/**
 * Logs a repeated warning at most once per interval, with how many were suppressed: during a
 * Redis or RabbitMQ outage every delivery would otherwise log a line.
 */
class WarnLimiter {
  private last = 0;
  private suppressed = 0;

  constructor(private readonly log: Logger, private readonly msg: string, private readonly level: 'warn' | 'error' = 'warn') {}

  warn(fields: Record<string, unknown>): void {
    const now = Date.now();
    if (now - this.last < ROUTE_WARN_EVERY_MS) {
      this.suppressed++;
      return;
    }
    this.log[this.level]({ ...fields, suppressed: this.suppressed }, this.msg);
    this.last = now;
    this.suppressed = 0;
  }
}

/** Frame routing, local and remote. */
export class Router {
  private pending: PendingDelivery[] = [];
  private scheduled = false;
  private readonly lookupWarn: WarnLimiter;
  private readonly publishWarn: WarnLimiter;
  private readonly lostWarn: WarnLimiter;
  /** Instance ids of the last successful registry read (the fallback when a read fails). */
  private lastInstances: readonly string[] | null = null;
  /** Recent lookup results (null: every delivery is looked up). */
  readonly locations: LocationCache | null;

  constructor(private readonly deps: RouterDeps) {
    const ttl = deps.locationCacheMs ?? LOCATION_CACHE_TTL_MS;
    this.locations = deps.clustered && ttl > 0 && deps.presence.watchLocations
      ? new LocationCache(deps.presence.watchLocations(), ttl) : null;
    this.lookupWarn = new WarnLimiter(deps.log, 'presence lookup failed; retrying');
    this.publishWarn = new WarnLimiter(deps.log, 'bus publish failed; retrying');
    this.lostWarn = new WarnLimiter(deps.log,
      'live push given up after retries; its recipients on other instances get it by seq at their next catch-up or gap fill', 'error');
  }

  /**
   * Delivers a chat frame to every connection of `userIds` except `exceptConnId`.
   * `convId`/`seq` describe the frame (for seed-mode auto-acks).
   */
  deliver(frame: Buffer, userIds: readonly number[], exceptConnId: string, convId: string, seq: number): void {
    if (this.deps.clustered) {
      const d: PendingDelivery = { frame, userIds, exceptConnId, convId, seq, sentTo: null };
      // A wide delivery goes to the instances of the last registry read at once, before the local
      // writes (which take a while for a big group): the other instances write in parallel. The
      // registry read of this turn then adds any instance that has joined since.
      if (userIds.length >= WIDE_DELIVERY_MIN_USERS && this.lastInstances) {
        d.sentTo = this.lastInstances;
        for (const inst of this.lastInstances) this.publish(inst, d, userIds);
      }
      this.pending.push(d);
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flushRemote());
      }
    }
    this.deliverLocal(frame, userIds, exceptConnId, convId, seq);
  }

  /** Writes a frame to local connections of the users. */
  deliverLocal(frame: Buffer, userIds: readonly number[], exceptConnId: string, convId: string, seq: number): number {
    let n = 0;
    // Seed-mode connections understand only types 1-5 (docs/protocol.md §2): newer pushes
    // (notifications, issue 4) skip them, here and for envelopes from other instances.
    const seedSafe = frame.readInt32BE(4) <= SEED_MAX_TYPE;
    for (const uid of userIds) {
      for (const conn of this.deps.sessions.get(uid)) {
        if (conn.id === exceptConnId || conn.state === 'closing' || conn.state === 'closed') continue;
        if (conn.seedMode && !seedSafe) continue;
        conn.push(frame);
        n++;
        if (conn.seedMode && frame.readInt32BE(4) === MessageType.CHAT) {
          if (!convId) ({ convId, seq } = decodeBody(MessageType.CHAT, frame.subarray(8)));
          this.deps.onSeedDelivered(conn, convId, seq);
        }
      }
    }
    return n;
  }

  /** Handles an envelope from another instance. Resolves after the local writes. */
  async handleEnvelope(env: Envelope): Promise<void> {
    if (env.kind === 'deliver') {
      if (this.deps.onRemoteGroupChange && env.frame.readInt32BE(4) === MessageType.CHAT) {
        const m = decodeBody(MessageType.CHAT, env.frame.subarray(8));
        if (m.groupId > 0 && m.msgType === ChatKind.SYSTEM) this.deps.onRemoteGroupChange(m.groupId);
      }
      this.deliverLocal(env.frame, env.userIds, env.exceptConnId, '', 0);
      if (this.deps.clustered && !env.forwarded && env.userIds.length < WIDE_DELIVERY_MIN_USERS) this.passOnAbsent(env);
      return;
    }
    const conn = this.deps.sessions.find(env.userId, env.platform, env.connId);
    if (conn) this.kickLocal(conn, env.reason);
  }

  /** Closes a local connection that a newer login replaced. */
  kickLocal(conn: Connection, reason: string): void {
    conn.log.info({ reason }, 'session replaced');
    conn.fail(new ImError('SESSION_REPLACED', reason, { fatal: true }));
  }

  /**
   * Asks the instance holding `loc` to close that connection. While the broker is unreachable
   * the kick is retried after each of {@link KICK_RETRY_DELAYS_MS} (the kick names one
   * connection, so a late one cannot close a newer session); it rejects once given up, or at
   * once when the target has no queue (its instance is gone, and its connections with it).
   */
  async kickRemote(loc: Location, reason: string): Promise<void> {
    const env: Envelope = {
      kind: 'kick', origin: this.deps.instanceId, userId: loc.userId, platform: loc.platform, connId: loc.connId, reason,
    };
    const delays = this.deps.kickRetryDelaysMs ?? KICK_RETRY_DELAYS_MS;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.deps.bus.publish(loc.instanceId, env);
      } catch (err) {
        const retryable = err instanceof ClusterError && err.reason !== 'unroutable' && err.reason !== 'closed';
        if (!retryable || attempt >= delays.length) throw err;
        await new Promise((r) => setTimeout(r, delays[attempt]).unref());
      }
    }
  }

  /** Sends one turn's deliveries to the other instances. Never rejects. */
  private async flushRemote(): Promise<void> {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = [];
    const narrow: PendingDelivery[] = [];
    const wide: PendingDelivery[] = [];
    for (const d of batch) (d.userIds.length >= WIDE_DELIVERY_MIN_USERS ? wide : narrow).push(d);
    await Promise.all([this.routeByLocation(narrow), this.routeToEveryInstance(wide)]);
  }

  /** Looks up the users' locations, then one envelope per instance holding any of them. */
  private async routeByLocation(batch: readonly PendingDelivery[]): Promise<void> {
    if (batch.length === 0) return;
    const users = new Set<number>();
    for (const d of batch) for (const u of d.userIds) users.add(u);
    const locs = new Map<number, Location[]>();
    const missing: number[] = [];
    for (const u of users) {
      const cached = this.locations?.get(u);
      if (cached) locs.set(u, cached);
      else missing.push(u);
    }
    if (missing.length > 0) {
      const stamp = this.locations?.stamp() ?? 0;
      const found = await this.retrying(() => this.deps.presence.lookup(missing), this.lookupWarn, {});
      if (!found) {
        // Deliveries whose users were all cached still go; the others are given up.
        const unknown = new Set(missing);
        for (const d of batch) if (d.userIds.some((u) => unknown.has(u))) this.giveUp(d, 'presence lookup', '');
        if (locs.size === 0) return;
      } else {
        this.locations?.fill(stamp, found);
        for (const [u, l] of found) locs.set(u, l);
      }
    }
    const skip = [this.deps.instanceId];
    for (const d of batch) {
      for (const [inst, userIds] of byInstance(d.userIds, locs, d.exceptConnId, skip)) this.publish(inst, d, userIds);
    }
  }

  /**
   * The safety net of the location cache: the users of a (not yet forwarded) envelope that this
   * instance does not hold are looked up afresh, and the envelope is passed on to the instances
   * now holding them (not back to its origin, which delivered locally itself), flagged so it
   * goes no further. Never rejects.
   */
  private passOnAbsent(env: DeliverEnvelope): void {
    const absent = env.userIds.filter((u) => !this.holds(u, env.exceptConnId));
    if (absent.length === 0) return;
    for (const u of absent) this.locations?.drop(u);
    const d: PendingDelivery = { frame: env.frame, userIds: absent, exceptConnId: env.exceptConnId, convId: '', seq: 0, sentTo: null };
    void this.retrying(() => this.deps.presence.lookup(absent), this.lookupWarn, { op: 'pass on' }).then((locs) => {
      if (!locs) return this.giveUp(d, 'presence lookup (pass on)', '');
      for (const [inst, userIds] of byInstance(absent, locs, env.exceptConnId, [this.deps.instanceId, env.origin])) {
        this.publish(inst, d, userIds, true);
      }
    });
  }

  /** True when a live local connection of the user (other than `exceptConnId`) exists. */
  private holds(userId: number, exceptConnId: string): boolean {
    for (const conn of this.deps.sessions.get(userId)) {
      if (conn.id !== exceptConnId && conn.state !== 'closing' && conn.state !== 'closed') return true;
    }
    return false;
  }

  /** One envelope per other live instance, carrying every user (see the file comment). */
  private async routeToEveryInstance(batch: readonly PendingDelivery[]): Promise<void> {
    if (batch.length === 0) return;
    const targets = await this.liveInstances();
    if (!targets) {
      for (const d of batch) this.giveUp(d, 'instance registry read', '');
      return;
    }
    for (const d of batch) {
      for (const inst of targets) if (!d.sentTo?.includes(inst)) this.publish(inst, d, d.userIds);
    }
  }

  /** The other live instances: a registry read, else the last list read, else (retried) null. */
  private async liveInstances(): Promise<readonly string[] | null> {
    const self = this.deps.instanceId;
    const read = async (): Promise<string[]> =>
      (await this.deps.presence.instances()).map((i) => i.instanceId).filter((id) => id !== self);
    if (this.lastInstances) {
      try {
        return (this.lastInstances = await read());
      } catch (err) {
        this.lookupWarn.warn({ err: String(err), op: 'instances', fallback: this.lastInstances.length });
        return this.lastInstances;
      }
    }
    const got = await this.retrying(read, this.lookupWarn, { op: 'instances' });
    if (got) this.lastInstances = got;
    return got ?? null;
  }

  /** Publishes one delivery to one instance, retried; never rejects. */
  private publish(inst: string, d: PendingDelivery, userIds: readonly number[], forwarded = false): void {
    const env: DeliverEnvelope = {
      kind: 'deliver', origin: this.deps.instanceId, userIds: userIds as number[], exceptConnId: d.exceptConnId, frame: d.frame,
    };
    if (forwarded) env.forwarded = true;
    void this.retrying(() => this.deps.bus.publish(inst, env).then(() => true), this.publishWarn, { target: inst })
      .then((ok) => { if (!ok) this.giveUp(d, 'bus publish', inst); });
  }

  /**
   * Runs `op`, retrying after each of {@link ROUTE_RETRY_DELAYS_MS} when it rejects; resolves
   * with its result, or undefined once every attempt failed. Every failure is counted.
   */
  private async retrying<T>(op: () => Promise<T>, warn: WarnLimiter, fields: Record<string, unknown>): Promise<T | undefined> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await op();
      } catch (err) {
        this.deps.onPublishError?.(err);
        if (attempt >= ROUTE_RETRY_DELAYS_MS.length) {
          warn.warn({ ...fields, err: String(err), attempts: attempt + 1 });
          return undefined;
        }
        warn.warn({ ...fields, err: String(err), attempt: attempt + 1 });
        await new Promise((r) => setTimeout(r, ROUTE_RETRY_DELAYS_MS[attempt]).unref());
      }
    }
  }

  private giveUp(d: PendingDelivery, step: string, target: string): void {
    this.lostWarn.warn({ step, target, convId: d.convId, seq: d.seq, users: d.userIds.length });
  }
}

/**
 * Groups users by the instances holding them (one list per instance, each user once), skipping
 * the instances in `skip` and the connection `exceptConnId`.
 */
function byInstance(userIds: readonly number[], locs: ReadonlyMap<number, Location[]>, exceptConnId: string,
  skip: readonly string[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const uid of userIds) {
    for (const loc of locs.get(uid) ?? []) {
      if (skip.includes(loc.instanceId) || loc.connId === exceptConnId) continue;
      let list = out.get(loc.instanceId);
      if (!list) out.set(loc.instanceId, (list = []));
      // A user's locations are consecutive: checking the last id keeps this O(members), not
      // O(members²) (a 10,000-member group would otherwise cost 50M comparisons).
      if (list[list.length - 1] !== uid) list.push(uid);
    }
  }
  return out;
}
