/**
 * Message type codes (seed.md §1.2 for 1-5) and the TypeScript shapes of every message.
 * The .proto files in /proto are the schema; these interfaces mirror them for type checking.
 * int64 fields are JS numbers: ids beyond Number.MAX_SAFE_INTEGER are refused by the server.
 */

/** Frame type codes. 1-5 are the seed's and never change; 6+ are this protocol's. */
export const MessageType = {
  BUSINESS: 1,
  CHAT: 2,
  HEARTBEAT: 3,
  ONLINE: 4,
  ACK: 5,
  ERROR: 6,
  REGISTER: 7,
  REGISTER_ACK: 8,
  LOGIN_ACK: 9,
  SYNC: 10,
  SYNC_RESPONSE: 11,
} as const;

/** A frame type code. */
export type MessageTypeCode = (typeof MessageType)[keyof typeof MessageType];

/** The highest type code a seed client understands. */
export const SEED_MAX_TYPE = 5;

/** ChatMessage.MsgType */
export const ChatKind = { TEXT: 0, FILE: 1, SYSTEM: 2 } as const;
/** OnlineMessage.MsgType */
export const OnlineKind = { ONLINE: 0, OFFLINE: 1 } as const;
/** AckMessage.AckKind */
export const AckKind = { PEER: 0, STORED: 1, DELIVERED: 2, READ: 3 } as const;

/** A conversation and a sequence number in it. */
export interface ConvSeq { convId: string; seq: number }
/** Unread count of one conversation. */
export interface ConvUnread { convId: string; lastSeq: number; readSeq: number; unread: number }

/** Type 1. */
export interface BusinessMessage {
  id: string; userId: number; userPlatformId: number; userMacId: string; receiveId: number;
  timeStamp: number; msgBody: string; needAck: boolean; businessType: number;
}
/** Type 2. */
export interface ChatMessage {
  id: string; userId: number; userPlatformId: number; userMacId: string; receiveId: number;
  msgType: number; timeStamp: number; msgBody: Uint8Array; needAck: boolean;
  seq: number; serverMsgId: number; convId: string; serverTime: number; groupId: number;
}
/** Type 3. */
export interface HeartbeatMessage {
  id: string; userId: number; userPlatformId: number; userMacId: string; receiveId: number;
  timeStamp: number;
}
/** Type 4. */
export interface OnlineMessage {
  id: string; userId: number; userPlatformId: number; userMacId: string; receiveId: number;
  timeStamp: number; msgType: number; token: string; userName: string; password: string;
  protocolVersion: number; lastSeqs: ConvSeq[];
}
/** Type 5. */
export interface AckMessage {
  id: string; userId: number; receiveId: number; messageType: number; clientMsgId: string;
  serverMsgId: number; seq: number; convId: string; kind: number; duplicate: boolean;
  serverTime: number;
}
/** Type 6. */
export interface ErrorMessage {
  requestId: string; code: string; message: string; fatal: boolean; refType: number;
  retryAfterMs: number;
}
/** Type 7. */
export interface RegisterRequest { requestId: string; userName: string; password: string }
/** Type 8. */
export interface RegisterAck { requestId: string; userId: number; userName: string }
/** Type 9. */
export interface LoginAck {
  userId: number; userName: string; token: string; tokenExpiresAt: number; instanceId: string;
  serverTime: number; heartbeatMs: number; idleTimeoutMs: number; messages: ChatMessage[];
  hasMore: boolean; totalUnread: number; unread: ConvUnread[];
}
/** Type 10. */
export interface SyncRequest {
  requestId: string; convId: string; afterSeq: number; limit: number; acked: ConvSeq[];
}
/** Type 11. */
export interface SyncResponse { requestId: string; messages: ChatMessage[]; hasMore: boolean }

/** Maps each type code to its message shape. */
export interface MessageByType {
  1: BusinessMessage; 2: ChatMessage; 3: HeartbeatMessage; 4: OnlineMessage; 5: AckMessage;
  6: ErrorMessage; 7: RegisterRequest; 8: RegisterAck; 9: LoginAck; 10: SyncRequest;
  11: SyncResponse;
}

/** A decoded frame: its type code and message. */
export type AnyMessage = { [K in MessageTypeCode]: { type: K; msg: MessageByType[K] } }[MessageTypeCode];
