/**
 * Plain counters, cheap to bump on hot paths (a field increment, no call into prom-client).
 * The metrics endpoint (admin/metrics.ts) reads them at scrape time; logs and tests read them
 * directly.
 */

/** Size of the by-type arrays: frame type codes are small integers (im-common MessageType). */
export const TYPE_SLOTS = 64;

/** Counters of one server instance. */
export class Stats {
  connectionsOpened = 0;
  /** Connections refused at accept, any reason (see the by-reason fields). */
  connectionsRejected = 0;
  /** Refused: {@link ServerOptions.maxConnections} reached. */
  rejectedFull = 0;
  /** Refused: over the listener's connection rate. */
  rejectedRate = 0;
  /** Refused: the server is draining. */
  rejectedDraining = 0;
  /** TLS handshakes that failed or timed out. */
  tlsErrors = 0;
  logins = 0;
  loginFailures = 0;
  /** Logins refused by the failed-login throttle. */
  loginsThrottled = 0;
  chatsIn = 0;
  chatsStored = 0;
  chatsDuplicate = 0;
  /** STORED acks sent to senders (new and duplicate chats). */
  acksSent = 0;
  framesIn = 0;
  /** Frames received, indexed by type code. */
  readonly framesInByType: number[] = new Array<number>(TYPE_SLOTS).fill(0);
  /** Frames written, indexed by type code. */
  readonly framesOutByType: number[] = new Array<number>(TYPE_SLOTS).fill(0);
  bytesIn = 0;
  bytesOut = 0;
  /** Times a connection's reading was paused for going over its frame rate. */
  ratePauses = 0;
  pushes = 0;
  publishErrors = 0;
  /** Errors sent to clients (or connections closed for), by code. */
  readonly errors = new Map<string, number>();

  /** Counts one error sent with this code. */
  error(code: string): void {
    this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
  }
}
