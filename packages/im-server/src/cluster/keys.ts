/**
 * The one module that builds every Redis key and every RabbitMQ exchange, queue and routing key
 * name (STYLE.md practice 7). Nothing else concatenates a key: the seed stored presence under the
 * bare user id with no namespace (seed.md §2.2, §9.3), which this layout fixes.
 *
 * Layout, with the default prefix "hxim":
 *
 * | name                     | kind           | content                                                |
 * |--------------------------|----------------|--------------------------------------------------------|
 * | `hxim:loc:{userId}`      | Redis hash     | field = platform (decimal), value = "expiresAtMs|instanceId|connId" |
 * | `hxim:inst:{instanceId}` | Redis string   | JSON InstanceInfo, PX = heartbeat TTL                  |
 * | `hxim:insts`             | Redis set      | instance ids (an index; the per-instance key is the truth) |
 * | `hxim:loc-changed`       | Redis channel  | message = a `hxim:loc:{userId}` key whose user just logged in (cache invalidation) |
 * | `hxim.direct`            | AMQP exchange  | durable, direct                                        |
 * | `hxim.inst.{instanceId}` | AMQP queue     | durable, bound to `hxim.direct` with routing key = instanceId |
 *
 * One hash per user makes "every location of many users" one HGETALL each, all sent in one
 * pipeline; the per-field expiry (stamped with Redis' own clock) gives each platform its own TTL
 * on Redis 7.0, which has no per-field expiry.
 */

import type { Location } from './ports';

/** Default namespace of every key and name. */
export const DEFAULT_PREFIX = 'hxim';

/** Longest accepted instance id (RabbitMQ names are at most 255 bytes). */
export const MAX_INSTANCE_ID_LENGTH = 128;

/** Longest accepted prefix. */
export const MAX_PREFIX_LENGTH = 64;

const ID_RE = /^[A-Za-z0-9._-]+$/;

/**
 * Validates an instance id: 1..{@link MAX_INSTANCE_ID_LENGTH} characters of [A-Za-z0-9._-].
 * Such an id can be embedded in any key, name or "|"-separated value without escaping.
 * @throws TypeError naming the field and the rule.
 */
export function checkInstanceId(id: unknown, field = 'instanceId'): string {
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_INSTANCE_ID_LENGTH || !ID_RE.test(id)) {
    throw new TypeError(
      `${field} must be 1..${MAX_INSTANCE_ID_LENGTH} characters of [A-Za-z0-9._-] (got ${JSON.stringify(id)})`,
    );
  }
  return id;
}

/**
 * Validates a user id or platform: a safe integer (user ids may be negative: seed.md §1.4).
 * @throws TypeError naming the field.
 */
export function checkSafeInt(n: unknown, field: string): number {
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) {
    throw new TypeError(`${field} must be a safe integer (got ${String(n)})`);
  }
  return n;
}

/**
 * Validates a connection id: a non-empty string of at most 256 UTF-16 units. It is stored last in
 * a "|"-separated value, so it may contain any character.
 * @throws TypeError naming the field.
 */
export function checkConnId(id: unknown, field = 'connId'): string {
  if (typeof id !== 'string' || id.length === 0 || id.length > 256) {
    throw new TypeError(`${field} must be a non-empty string of at most 256 characters (got ${JSON.stringify(id)})`);
  }
  return id;
}

/** Validates a presence location's fields (both Presence backends). @throws TypeError naming the field. */
export function checkLocation(loc: Location): void {
  checkSafeInt(loc.userId, 'location.userId');
  checkSafeInt(loc.platform, 'location.platform');
  checkInstanceId(loc.instanceId, 'location.instanceId');
  checkConnId(loc.connId, 'location.connId');
}

/** Validates a presence TTL: a positive integer of ms. @throws TypeError. */
export function checkTtl(ttlMs: number): void {
  if (!Number.isInteger(ttlMs) || ttlMs < 1) throw new TypeError(`ttlMs must be a positive integer (got ${ttlMs})`);
}

/** Builds every key and name under one validated prefix. Immutable; cheap to share. */
export class ClusterKeys {
  /** The validated namespace prefix. */
  readonly prefix: string;
  /** Redis set indexing registered instance ids. */
  readonly instanceIndex: string;
  /** The durable direct exchange every instance queue is bound to. */
  readonly exchange: string;
  /** Redis pub/sub channel announcing logins (message: the user's {@link location} key). */
  readonly locationChanges: string;
  private readonly locPrefix: string;
  private readonly instPrefix: string;
  private readonly queuePrefix: string;

  /**
   * @param prefix namespace, 1..{@link MAX_PREFIX_LENGTH} characters of [A-Za-z0-9._-].
   *   Default {@link DEFAULT_PREFIX}. Tests use a unique prefix per run.
   * @throws TypeError when the prefix is invalid.
   */
  constructor(prefix: string = DEFAULT_PREFIX) {
    if (typeof prefix !== 'string' || prefix.length === 0 || prefix.length > MAX_PREFIX_LENGTH || !ID_RE.test(prefix)) {
      throw new TypeError(
        `prefix must be 1..${MAX_PREFIX_LENGTH} characters of [A-Za-z0-9._-] (got ${JSON.stringify(prefix)})`,
      );
    }
    this.prefix = prefix;
    this.locPrefix = `${prefix}:loc:`;
    this.instPrefix = `${prefix}:inst:`;
    this.instanceIndex = `${prefix}:insts`;
    this.exchange = `${prefix}.direct`;
    this.locationChanges = `${prefix}:loc-changed`;
    this.queuePrefix = `${prefix}.inst.`;
  }

  /** Redis hash of one user's locations: field platform -> "expiresAtMs|instanceId|connId". */
  location(userId: number): string {
    return this.locPrefix + checkSafeInt(userId, 'userId');
  }

  /** The user id of a {@link location} key, or null when `key` is not one. */
  userOfLocation(key: string): number | null {
    if (!key.startsWith(this.locPrefix)) return null;
    const tail = key.slice(this.locPrefix.length);
    const id = /^[0-9]{1,16}$/.test(tail) ? Number(tail) : NaN;
    return Number.isSafeInteger(id) ? id : null;
  }

  /** Hash field of a platform in {@link location}. */
  platformField(platform: number): string {
    return String(checkSafeInt(platform, 'platform'));
  }

  /** Redis string holding one instance's InstanceInfo JSON, with the heartbeat TTL. */
  instance(instanceId: string): string {
    return this.instPrefix + checkInstanceId(instanceId);
  }

  /** The durable queue an instance consumes. */
  queue(instanceId: string): string {
    return this.queuePrefix + checkInstanceId(instanceId);
  }

  /** SCAN MATCH pattern of every Redis key in this namespace (cleanup, diagnostics). */
  redisPattern(): string {
    return `${this.prefix}:*`;
  }

  /** Routing key that reaches an instance's queue through {@link exchange}. */
  routingKey(instanceId: string): string {
    return checkInstanceId(instanceId);
  }
}

/** Parsed form of a location hash value. */
export interface LocationValue {
  expiresAt: number;
  instanceId: string;
  connId: string;
}

/** Encodes a location hash value (the Lua scripts build the same format). */
export function encodeLocationValue(v: LocationValue): string {
  return `${v.expiresAt}|${checkInstanceId(v.instanceId)}|${checkConnId(v.connId)}`;
}

/** Parses a location hash value; null when malformed (such entries are ignored, not trusted). */
export function parseLocationValue(s: string): LocationValue | null {
  const a = s.indexOf('|');
  if (a <= 0) return null;
  const b = s.indexOf('|', a + 1);
  if (b < 0 || b === a + 1 || b === s.length - 1) return null;
  const expiresAt = Number(s.slice(0, a));
  const instanceId = s.slice(a + 1, b);
  if (!Number.isSafeInteger(expiresAt) || !ID_RE.test(instanceId)) return null;
  return { expiresAt, instanceId, connId: s.slice(b + 1) };
}
