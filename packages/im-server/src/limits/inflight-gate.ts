/**
 * The server-wide bound on requests awaiting a backend (chats waiting for the store, mostly).
 *
 * Each connection already pauses its reading at `maxInflight` of its own requests, but a hundred
 * busy connections times 512 is more than the store's queue (ChatBatcher, 50,000) and far more
 * than it commits in its 2 s deadline. Under an offered load above capacity the queue then filled
 * and chats failed by the hundred thousand with STORE_UNAVAILABLE / STORE_TIMEOUT, each one costing
 * work for nothing, and delivered throughput collapsed (40,000/s offered: 14,000/s delivered, down
 * from 31,000 at 30,000/s). With this gate the server stops reading from a connection that submits
 * while `limit` requests are in flight, and resumes every such connection once the total is below
 * three quarters of it: TCP pushes back on the senders and throughput plateaus at capacity.
 */

/** What the gate pauses and resumes (a Connection). */
export interface Pausable {
  pauseReading(reason: number): void;
  resumeReading(reason: number): void;
}

/** Server-wide in-flight counter with hysteresis; `limit` 0 disables it. */
export class InflightGate {
  private total = 0;
  private readonly paused = new Set<Pausable>();
  private readonly resumeBelow: number;
  /** Times a connection was paused by the gate. */
  pauses = 0;

  /** @param reason the pause reason bit the gate uses (Pause.SERVER_INFLIGHT) */
  constructor(readonly limit: number, private readonly reason: number) {
    this.resumeBelow = Math.floor((limit * 3) / 4);
  }

  /** Requests in flight, server-wide. */
  get inflight(): number {
    return this.total;
  }

  /** Connections paused by the gate right now. */
  get pausedConnections(): number {
    return this.paused.size;
  }

  /** A request of `conn` starts; pauses `conn` when the server is at its limit. */
  enter(conn: Pausable): void {
    if (++this.total >= this.limit && this.limit > 0 && !this.paused.has(conn)) {
      this.paused.add(conn);
      this.pauses++;
      conn.pauseReading(this.reason);
    }
  }

  /** A request ends; below the low-water mark every paused connection reads again. */
  leave(): void {
    this.total--;
    if (this.paused.size > 0 && this.total < this.resumeBelow) {
      const all = [...this.paused];
      this.paused.clear();
      for (const c of all) c.resumeReading(this.reason);
    }
  }

  /** `conn` is gone: it no longer waits to be resumed. */
  forget(conn: Pausable): void {
    this.paused.delete(conn);
  }
}
