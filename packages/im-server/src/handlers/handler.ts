/**
 * The handler contract: one handler per frame type (STYLE.md §4).
 */
import type { MessageByType, MessageTypeCode } from '@hxim/im-common';
import type { Connection } from '../connection';
import type { ServerContext } from '../context';

/** Handles frames of one type. */
export interface Handler<K extends MessageTypeCode = MessageTypeCode> {
  /** The frame type code handled. */
  readonly type: K;
  /** True if accepted before login (login, heartbeat, register). */
  readonly beforeLogin: boolean;
  /** Handles one frame. A thrown or rejected ImError becomes an error frame. */
  handle(ctx: ServerContext, conn: Connection, msg: MessageByType[K]): void | Promise<void>;
}

/** Typed constructor helper. */
export function defineHandler<K extends MessageTypeCode>(h: Handler<K>): Handler {
  return h as unknown as Handler;
}

/**
 * Runs `fn` as backend work of the connection: counted in its in-flight requests (reading pauses
 * past maxInflight) and in the server-wide bound, until `fn` settles.
 */
export async function asWork<T>(conn: Connection, fn: () => Promise<T>): Promise<T> {
  conn.beginWork();
  try {
    return await fn();
  } finally {
    conn.endWork();
  }
}
