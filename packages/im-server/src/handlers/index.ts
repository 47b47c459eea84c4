/** Every frame handler, one per client-sent type. */
import type { Handler } from './handler';
import { ackHandler } from './ack';
import { businessHandler } from './business';
import { chatHandler } from './chat';
import { convListHandler, historyHandler, noticeAckHandler, readHandler } from './conversations';
import { friendHandler, friendListHandler } from './friends';
import { groupHandler, groupMembersHandler, groupReadHandler } from './groups';
import { heartbeatHandler } from './heartbeat';
import { onlineHandler } from './online';
import { registerHandler } from './register';
import { syncHandler } from './sync';

/** The handler table of the dispatcher. */
export const HANDLERS: readonly Handler[] = [
  businessHandler, chatHandler, heartbeatHandler, onlineHandler, ackHandler, registerHandler, syncHandler,
  // Issue 4: friends, conversations, read marks, notifications.
  friendHandler, friendListHandler, convListHandler, historyHandler, readHandler, noticeAckHandler,
  // Issue 5: groups.
  groupHandler, groupMembersHandler, groupReadHandler,
];
