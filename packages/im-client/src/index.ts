/**
 * @hxim/im-client: the client library (login, catch-up, acked sends, ordered and deduplicated
 * delivery, heartbeat, reconnect with fail-over) used by the CLI, the tests and the load tool.
 */
export { ImClient } from './client';
export { BusinessApi, userRef, type UserArg } from './business';
export type {
  ClientState, StateChange, LoginInfo, ImClientEvents, SendOptions, RawAccess, ClientStats,
} from './events';
export {
  parseOptions, defaultReconnectDelay, parseServerAddress, parseServerList, formatAddress,
  DEFAULT_HEARTBEAT_MS, DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_LOGIN_TIMEOUT_MS,
  DEFAULT_ACK_TIMEOUT_MS, DEFAULT_REQUEST_TIMEOUT_MS, DEFAULT_MAX_INFLIGHT, DEFAULT_ACK_DELAY_MS,
  DEFAULT_GAP_FILL_DELAY_MS, DEFAULT_PLATFORM, DEFAULT_MAX_FRAME_BYTES, RECONNECT_CAP_MS, RECONNECT_BASE_MS,
  RECONNECT_MIN_MS,
  type ClientOptions, type ClientAuth, type ServerAddress, type ResolvedOptions,
} from './options';
export { ClientError, ServerError, isAuthError, type ClientErrorCode } from './errors';
export type { SendAck } from './outbox';
export { register, type RegisterOptions, type RegisterResult } from './register';
export { Inbox, type InboxStats } from './inbox';
export { randomId } from './requests';
