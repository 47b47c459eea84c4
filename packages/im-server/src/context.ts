/**
 * What handlers get: the options, the backends and the shared services of one server instance.
 */
import type { Logger } from 'pino';
import type { ChatBatcher, ConversationService, CursorBatcher, FriendService, GroupService, Store } from '@hxim/business';
import type { Presence } from './cluster/ports';
import type { ServerOptions } from './config';
import type { PasswordHasher } from './auth/password';
import type { Router } from './router';
import type { SessionTable } from './sessions';
import type { UserDirectory } from './users';
import type { Stats } from './stats';
import type { LoginThrottle } from './limits/login-throttle';

/** Shared services of one server instance. */
export interface ServerContext {
  readonly opts: ServerOptions;
  readonly instanceId: string;
  readonly log: Logger;
  readonly store: Store;
  /** Group commit of chats. */
  readonly chats: ChatBatcher;
  /** Coalesced cursor updates (delivered / read). */
  readonly cursors: CursorBatcher;
  readonly hasher: PasswordHasher;
  readonly sessions: SessionTable;
  readonly router: Router;
  readonly presence: Presence;
  readonly users: UserDirectory;
  readonly stats: Stats;
  /** Failed-login throttle by account and address. */
  readonly throttle: LoginThrottle;
  /** Friends, applications, blocks, notices and the stranger policy (issue 4). */
  readonly friends: FriendService;
  /** Conversation list, history, read marks, unread counts (issue 4). */
  readonly convs: ConversationService;
  /** Groups and the per-instance member cache (issue 5). */
  readonly groups: GroupService;
  /** Replays frames queued during a login (dispatcher.ts). */
  readonly drainInbox: (conn: import('./connection').Connection) => void;
}
