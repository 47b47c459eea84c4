/**
 * The seam between a chat scenario's driver (pacing, measuring, history) and the code that owns
 * the sockets. Two engines implement it: raw frames on im-common (the default: cheap enough for
 * closed-loop maximum runs on a shared 2-core box) and the im-client library (one ImClient per
 * user: slower, but it exercises the library's own dedup, ordering and reconnect).
 */
import type { HistoryRecorder } from '../history';
import type { LoadOptions, ServerAddr } from '../options';

/** What an engine reports back to its driver. Pair numbers are run-wide. */
export interface EngineHost {
  readonly opts: LoadOptions;
  readonly history: HistoryRecorder;
  /** The STORED ack of message `msgNo` of pair `pair`'s sender. */
  onAck(pair: number, msgNo: number, convId: string, seq: number): void;
  /** A send failed: `refused` when the server answered with an error, else a client-side failure. */
  onSendFailed(pair: number, msgNo: number, code: string, refused: boolean): void;
  /** Pair `pair`'s receiver got a chat. */
  onDeliver(pair: number, convId: string, seq: number, body: Uint8Array): void;
  /** Any other error, by code (CONNECTION_LOST, CONNECT_FAILED, a server code...). */
  onError(code: string): void;
  /** A login completed (first, reconnect or catch-up). */
  onLogin(): void;
}

/** Owns the sockets of one worker's pairs. */
export interface ChatEngine {
  /** Provisions (password mode) and logs in every receiver, then every sender. */
  setup(): Promise<void>;
  /** Sends message `msgNo` of pair `pair` (already recorded as sent), stamped with `intendedUs`. */
  send(pair: number, msgNo: number, intendedUs: number): void;
  /** Drops about `fraction` of the connections (they reconnect by themselves); returns how many. */
  churn(fraction: number): number;
  /** Receivers log in again (after their cursors) and sync until nothing is missing. */
  catchUp(): Promise<void>;
  /** Closes everything; no reconnects after this. */
  close(): Promise<void>;
  /** Logged-in connections now. */
  readonly connections: number;
  /** Reconnects so far (after losses and churn). */
  readonly reconnects: number;
}

/**
 * The servers of pair `pair`'s two ends, each in the order its reconnects try them: chat and soak
 * put both ends on servers[pair mod n]; cross puts the receiver on the next server.
 */
export function pairServers(o: LoadOptions, pair: number): { sender: ServerAddr[]; receiver: ServerAddr[] } {
  const n = o.servers.length;
  const rotate = (first: number): ServerAddr[] => o.servers.map((_, k) => o.servers[(first + k) % n]!);
  const home = pair % n;
  return { sender: rotate(home), receiver: rotate(o.scenario === 'cross' ? (home + 1) % n : home) };
}

/** Reconnect delay after loss number `attempt` (1-based): capped exponential backoff with jitter. */
export function reconnectDelayMs(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(2000, 100 * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
