/**
 * HeartbeatMessage (type 3): answered with a heartbeat, as the seed did (seed.md §3.2); a seed
 * client closes after 10 s without reading. Any frame already refreshed the idle deadline.
 * Allowed before login: the seed client heartbeats from the moment it connects (§4.2).
 */
import { MessageType } from '@hxim/im-common';
import { defineHandler } from './handler';

/** Echoes heartbeats with the server's clock and the connection's identity. */
export const heartbeatHandler = defineHandler({
  type: MessageType.HEARTBEAT,
  beforeLogin: true,
  handle(_ctx, conn, msg) {
    conn.send(MessageType.HEARTBEAT, { id: msg.id, userId: conn.userId, timeStamp: Date.now() });
  },
});
