/**
 * Plain counters, cheap to bump on hot paths. The metrics endpoint and logs read them.
 */

/** Counters of one server instance. */
export class Stats {
  connectionsOpened = 0;
  connectionsRejected = 0;
  logins = 0;
  loginFailures = 0;
  chatsIn = 0;
  chatsStored = 0;
  chatsDuplicate = 0;
  framesIn = 0;
  pushes = 0;
  publishErrors = 0;
  /** Errors sent to clients, by code. */
  readonly errors = new Map<string, number>();

  /** Counts one error sent with this code. */
  error(code: string): void {
    this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
  }
}
