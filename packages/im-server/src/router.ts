/**
 * Routes encoded frames to users: to their connections on this instance directly, and to other
 * instances through the bus, one envelope per target instance (never a broadcast: seed.md §9.5).
 *
 * A frame is encoded once by the caller and the same bytes are written to every connection.
 * Remote locations are looked up in batches: every delivery of one event-loop turn shares one
 * presence lookup. A failed publish loses nothing: the message is stored, and the recipient
 * gets it by seq on its next catch-up (DESIGN.md "The broker is a transport, not the store").
 */
import type { Logger } from 'pino';
import { ChatKind, decodeBody, ImError, MessageType, SEED_MAX_TYPE } from '@hxim/im-common';
import type { Bus, Envelope, Location, Presence } from './cluster/ports';
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
}

interface PendingDelivery {
  frame: Buffer;
  userIds: readonly number[];
  exceptConnId: string;
}

/** Most one warning per this interval per kind while a backend is down (the rest are counted). */
export const ROUTE_WARN_EVERY_MS = 5000;

/**
 * Logs a repeated warning at most once per interval, with how many were suppressed: during a
 * Redis or RabbitMQ outage every delivery would otherwise log a line.
 */
class WarnLimiter {
  private last = 0;
  private suppressed = 0;

  constructor(private readonly log: Logger, private readonly msg: string) {}

  warn(fields: Record<string, unknown>): void {
    const now = Date.now();
    if (now - this.last < ROUTE_WARN_EVERY_MS) {
      this.suppressed++;
      return;
    }
    this.log.warn({ ...fields, suppressed: this.suppressed }, this.msg);
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

  constructor(private readonly deps: RouterDeps) {
    this.lookupWarn = new WarnLimiter(deps.log, 'presence lookup failed; recipients on other instances will catch up by seq');
    this.publishWarn = new WarnLimiter(deps.log, 'bus publish failed; recipients will catch up by seq');
  }

  /**
   * Delivers a chat frame to every connection of `userIds` except `exceptConnId`.
   * `convId`/`seq` describe the frame (for seed-mode auto-acks).
   */
  deliver(frame: Buffer, userIds: readonly number[], exceptConnId: string, convId: string, seq: number): void {
    this.deliverLocal(frame, userIds, exceptConnId, convId, seq);
    if (!this.deps.clustered) return;
    this.pending.push({ frame, userIds, exceptConnId });
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => void this.flushRemote());
    }
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

  /** Asks the instance holding `loc` to close that connection. */
  async kickRemote(loc: Location, reason: string): Promise<void> {
    await this.deps.bus.publish(loc.instanceId, {
      kind: 'kick', origin: this.deps.instanceId, userId: loc.userId, platform: loc.platform,
      connId: loc.connId, reason,
    });
  }

  private async flushRemote(): Promise<void> {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = [];
    const users = new Set<number>();
    for (const d of batch) for (const u of d.userIds) users.add(u);
    let locs: Map<number, Location[]>;
    try {
      locs = await this.deps.presence.lookup([...users]);
    } catch (err) {
      this.lookupWarn.warn({ err: String(err) });
      this.deps.onPublishError?.(err);
      return;
    }
    const self = this.deps.instanceId;
    for (const d of batch) {
      const byInstance = new Map<string, number[]>();
      for (const uid of d.userIds) {
        for (const loc of locs.get(uid) ?? []) {
          if (loc.instanceId === self || loc.connId === d.exceptConnId) continue;
          let list = byInstance.get(loc.instanceId);
          if (!list) byInstance.set(loc.instanceId, (list = []));
          // A user's locations are consecutive: checking the last id keeps this O(members), not
          // O(members²) (a 10,000-member group would otherwise cost 50M comparisons).
          if (list[list.length - 1] !== uid) list.push(uid);
        }
      }
      for (const [inst, userIds] of byInstance) {
        this.deps.bus
          .publish(inst, { kind: 'deliver', origin: self, userIds, exceptConnId: d.exceptConnId, frame: d.frame })
          .catch((err: unknown) => {
            this.publishWarn.warn({ err: String(err), target: inst });
            this.deps.onPublishError?.(err);
          });
      }
    }
  }
}
