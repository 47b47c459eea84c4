/**
 * BusinessMessage (type 1) from a client: the seed only logged it (seed.md §3.7). Business
 * requests of this protocol have their own frame types; this keeps seed clients working.
 */
import { MessageType } from '@hxim/im-common';
import { defineHandler } from './handler';

/** Logs and otherwise ignores client BusinessMessages. */
export const businessHandler = defineHandler({
  type: MessageType.BUSINESS,
  beforeLogin: false,
  handle(_ctx, conn, msg) {
    conn.log.debug({ id: msg.id.slice(0, 64), businessType: msg.businessType }, 'business message from client ignored');
  },
});
