/**
 * One dispatcher in front of one handler per message type (STYLE.md §4). It decodes the body,
 * checks the connection state first (before login only login, heartbeat and register are
 * allowed), and turns every handler failure into an error frame so nothing escapes.
 *
 * While a login is in progress, later frames of that connection wait in an inbox: a seed client
 * sends its chat right behind its login without waiting for an answer.
 */
import { decodeBody, FrameError, ImError, type MessageTypeCode, type RawFrame } from '@hxim/im-common';
import type { Connection } from './connection';
import type { ServerContext } from './context';
import type { Handler } from './handlers/handler';

/** Frames one connection may queue while its login completes. */
const MAX_INBOX = 1024;

/** Routes frames to handlers. */
export class Dispatcher {
  private readonly handlers: Array<Handler | undefined> = [];
  private readonly inboxes = new WeakMap<Connection, RawFrame[]>();

  constructor(private readonly ctx: ServerContext, handlers: readonly Handler[]) {
    for (const h of handlers) this.handlers[h.type] = h;
  }

  /** Handles one frame. Never throws. */
  dispatch(conn: Connection, frame: RawFrame): void {
    if (conn.state === 'closing' || conn.state === 'closed') return;
    if (conn.state === 'authenticating') {
      const inbox = this.inboxes.get(conn) ?? [];
      this.inboxes.set(conn, inbox);
      if (inbox.length >= MAX_INBOX) {
        conn.fail(new ImError('RATE_LIMITED', `more than ${MAX_INBOX} frames sent before the login completed`));
        return;
      }
      inbox.push({ typeCode: frame.typeCode, body: Buffer.from(frame.body) });
      return;
    }
    const handler = this.handlers[frame.typeCode];
    if (!handler) {
      // Known to the schema but only ever sent by the server (e.g. LOGIN_ACK).
      this.reject(conn, new ImError('BAD_REQUEST', `frame type ${frame.typeCode} is not accepted from clients`), frame.typeCode);
      return;
    }
    let msg: unknown;
    try {
      msg = decodeBody(frame.typeCode as MessageTypeCode, frame.body);
    } catch (err) {
      conn.fail(err instanceof FrameError ? err : new FrameError('BAD_BODY', String(err), frame.typeCode));
      return;
    }
    if (conn.state !== 'online' && !handler.beforeLogin) {
      this.reject(conn, new ImError('NOT_LOGGED_IN', 'log in first (OnlineMessage ONLINE)'), frame.typeCode, requestIdOf(msg));
      return;
    }
    try {
      const r = handler.handle(this.ctx, conn, msg as never);
      if (r) r.catch((err: unknown) => this.onHandlerError(conn, err, frame.typeCode, msg));
    } catch (err) {
      this.onHandlerError(conn, err, frame.typeCode, msg);
    }
  }

  /**
   * Replays frames that arrived during the login, now that it finished: through the
   * connection's backlog, so a client that pipelined hundreds of frames behind its login takes
   * its turn like everyone else (scheduler.ts).
   */
  drainInbox(conn: Connection): void {
    const inbox = this.inboxes.get(conn);
    if (!inbox) return;
    this.inboxes.delete(conn);
    conn.replay(inbox);
  }

  private reject(conn: Connection, err: ImError, refType: number, requestId = ''): void {
    this.ctx.stats.error(err.code);
    conn.sendError(err, requestId, refType);
  }

  private onHandlerError(conn: Connection, err: unknown, refType: number, msg: unknown): void {
    const requestId = requestIdOf(msg);
    if (err instanceof ImError) {
      this.reject(conn, err, refType, requestId);
      return;
    }
    conn.log.error({ err }, 'handler failed');
    this.reject(conn, new ImError('INTERNAL', 'internal error; the request was not completed'), refType, requestId);
  }
}

function requestIdOf(msg: unknown): string {
  if (msg && typeof msg === 'object') {
    const m = msg as { requestId?: unknown; id?: unknown };
    if (typeof m.requestId === 'string') return m.requestId;
    if (typeof m.id === 'string') return m.id;
  }
  return '';
}
