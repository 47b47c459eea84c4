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

/**
 * Reachability of a backend: 'up' while commands can be sent, 'down' while the client is
 * reconnecting (operations then fail fast with a BackendError). Embedded backends are always up.
 */
export type Health = 'up' | 'down';

/** Something whose backend connection can go down and come back. */
export interface HealthSource {
  /** Current reachability. */
  readonly health: Health;
  /**
   * Calls `listener` on every change (not with the current value). Returns an unsubscribe
   * function. A 'down' -> 'up' change is the moment to re-assert state, e.g. refresh() every
   * local location after a Redis restart.
   */
  onHealth(listener: (health: Health) => void): () => void;
}

/** Login announcements of a {@link Presence} (see Presence.watchLocations). */
export interface LocationWatch {
  /** True while no announcement can have been missed; a lookup() result may be cached only then. */
  readonly live: boolean;
  /**
   * Adds a listener, called with a user id when that user logs in anywhere (their locations
   * changed), and with null when announcements may have been missed (drop every cached entry).
   * Returns its removal.
   */
  add(listener: (userId: number | null) => void): () => void;
}

/**
 * User -> instance locations. Every method that talks to a backend rejects with a BackendError
 * (never hangs) when the backend is unreachable.
 */
export interface Presence extends HealthSource {
  /**
   * Records `loc` for (userId, platform) with a TTL, replacing any other; returns the location
   * it replaced (another connection to kick), or null. Re-registering the same connId returns
   * null. Atomic: two concurrent logins each see the other at most once.
   */
  register(loc: Location, ttlMs: number): Promise<Location | null>;
  /**
   * Compare-and-delete: removes (userId, platform) only if it still points at loc.connId on
   * loc.instanceId (seed.md §3.4 race). True when a live entry of this connection was removed.
   */
  unregister(loc: Location): Promise<boolean>;
  /** Every live location of each user (all platforms). Users with none are absent. */
  lookup(userIds: readonly number[]): Promise<Map<number, Location[]>>;
  /**
   * Extends the TTL of locations this instance owns. Called lazily, not per heartbeat. An entry
   * that is missing or expired is written again (so a refresh rebuilds presence after a Redis
   * restart); an entry that now points at another live connection is left alone.
   */
  refresh(locs: readonly Location[], ttlMs: number): Promise<void>;
  /** Announces or refreshes this instance in the registry. */
  heartbeatInstance(info: InstanceInfo, ttlMs: number): Promise<void>;
  /** Removes this instance from the registry (graceful stop). */
  removeInstance(instanceId: string): Promise<void>;
  /** Live instances (heartbeat within its TTL), in no particular order. */
  instances(): Promise<InstanceInfo[]>;
  /**
   * Login announcements, so lookup() results may be cached briefly. Optional: a backend without
   * it is looked up for every routed delivery.
   */
  watchLocations?(): LocationWatch;
  /** Releases the connection. Later calls reject. */
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
  /**
   * True when an instance that did not hold these users passed the envelope on (after a fresh
   * lookup): such an envelope is never passed on again (router.ts, at most one hop).
   */
  forwarded?: boolean;
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

/**
 * Instance-to-instance transport. At-least-once: a handler may see an envelope again after a
 * failure or a broker restart, so handlers must be idempotent (clients dedup by seq).
 */
export interface Bus extends HealthSource {
  /**
   * Starts consuming this instance's queue (once per bus). Envelopes are handed to `handler` in
   * queue order, several at a time (up to the prefetch); completions may interleave. The
   * handler's promise settles after the local write; only then is the message acked. A rejected
   * handler is retried a bounded number of times, then the envelope is dropped and logged (the
   * recipient catches up by seq).
   */
  start(instanceId: string, handler: (env: Envelope) => Promise<void>): Promise<void>;
  /**
   * Sends to one instance. Resolves once the broker confirmed it (confirms are pipelined: many
   * publishes may be outstanding). Rejects with a BackendError, quickly, when the broker is
   * unreachable, the target has no queue, or the confirm times out; a rejected publish is not a
   * loss because the message is already stored.
   */
  publish(targetInstanceId: string, env: Envelope): Promise<void>;
  /** Stops consuming and releases the connection. Unconfirmed publishes reject. */
  close(): Promise<void>;
}
