/**
 * Cluster ports: where users are (presence) and how instances talk (bus). The embedded defaults
 * (memory-presence.ts, memory-bus.ts) are real in-process implementations; Redis and RabbitMQ
 * implement the same interfaces. One contract suite runs against all of them.
 */

/** Where one logged-in connection of a user lives. */
export interface Location {
  userId: number;
  /** Device slot (OnlineMessage.userPlatformId). One connection per (user, platform). */
  platform: number;
  instanceId: string;
  /** Unique per connection across the cluster (instanceId + counter). */
  connId: string;
}

/** A registered server instance. */
export interface InstanceInfo {
  instanceId: string;
  /** host:port clients connect to. */
  advertise: string;
  pid: number;
  startedAt: number;
  /** Connected, logged-in users at the last heartbeat. */
  users: number;
}

/** User -> instance locations. */
export interface Presence {
  /**
   * Records `loc` for (userId, platform) with a TTL, replacing any other; returns the location
   * it replaced (another connection to kick), or null.
   */
  register(loc: Location, ttlMs: number): Promise<Location | null>;
  /** Compare-and-delete: removes (userId, platform) only if it still points at loc.connId. */
  unregister(loc: Location): Promise<boolean>;
  /** Every live location of each user (all platforms). Users with none are absent. */
  lookup(userIds: readonly number[]): Promise<Map<number, Location[]>>;
  /** Extends the TTL of locations this instance owns. Called lazily, not per heartbeat. */
  refresh(locs: readonly Location[], ttlMs: number): Promise<void>;
  /** Announces or refreshes this instance in the registry. */
  heartbeatInstance(info: InstanceInfo, ttlMs: number): Promise<void>;
  /** Removes this instance from the registry (graceful stop). */
  removeInstance(instanceId: string): Promise<void>;
  /** Live instances. */
  instances(): Promise<InstanceInfo[]>;
  close(): Promise<void>;
}

/** Deliver an already-encoded frame to these users' connections on the target instance. */
export interface DeliverEnvelope {
  kind: 'deliver';
  origin: string;
  userIds: number[];
  /** Connection to skip (the sender's own), or "". */
  exceptConnId: string;
  /** The complete frame (header + body), encoded once by the origin. */
  frame: Buffer;
}

/** Close a connection that a newer login replaced. */
export interface KickEnvelope {
  kind: 'kick';
  origin: string;
  userId: number;
  platform: number;
  connId: string;
  reason: string;
}

/** Everything instances send each other. */
export type Envelope = DeliverEnvelope | KickEnvelope;

/** Instance-to-instance transport. */
export interface Bus {
  /**
   * Starts consuming this instance's queue. The handler's promise settles after the local write;
   * only then is the message acked to the broker.
   */
  start(instanceId: string, handler: (env: Envelope) => Promise<void>): Promise<void>;
  /** Sends to one instance. Resolves once the broker confirmed it (confirms are pipelined). */
  publish(targetInstanceId: string, env: Envelope): Promise<void>;
  close(): Promise<void>;
}
