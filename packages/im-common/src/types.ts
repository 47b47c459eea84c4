/**
 * Message type codes (seed.md §1.2 for 1-5) and the TypeScript shapes of every message.
 * The .proto files in /proto are the schema; these interfaces mirror them for type checking.
 * int64 fields are JS numbers: ids beyond Number.MAX_SAFE_INTEGER are refused by the server.
 */

/** Frame type codes. 1-5 are the seed's and never change; 6+ are this protocol's; 20-31 business (issue 4); 32-37 groups (issue 5). */
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
  // Business (issue 4, proto/Business.proto). Requests are answered by the next code.
  FRIEND_REQUEST: 20,
  FRIEND_RESPONSE: 21,
  FRIEND_LIST_REQUEST: 22,
  FRIEND_LIST: 23,
  CONV_LIST_REQUEST: 24,
  CONV_LIST: 25,
  HISTORY_REQUEST: 26,
  HISTORY_RESPONSE: 27,
  READ_REQUEST: 28,
  READ_RESPONSE: 29,
  NOTIFICATION: 30,
  NOTIFICATION_ACK: 31,
  // Groups (issue 5, proto/Group.proto).
  GROUP_REQUEST: 32,
  GROUP_RESPONSE: 33,
  GROUP_MEMBERS_REQUEST: 34,
  GROUP_MEMBERS: 35,
  GROUP_READ_REQUEST: 36,
  GROUP_READ_RESPONSE: 37,
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

/** FriendRequest.FriendOp */
export const FriendOp = { OP_NONE: 0, APPLY: 1, ACCEPT: 2, REJECT: 3, REMOVE: 4, BLOCK: 5, UNBLOCK: 6 } as const;
/** FriendResponse.FriendResult */
export const FriendResult = {
  RESULT_NONE: 0, APPLIED: 1, ACCEPTED: 2, REJECTED: 3, REMOVED: 4, BLOCKED: 5, UNBLOCKED: 6, UNCHANGED: 7,
} as const;
/** FriendApplication.ApplyStatus (the seed's apply_status values). */
export const ApplyStatus = { PENDING: 0, ACCEPTED: 1, REJECTED: 2 } as const;
/** FriendListRequest.ListKind */
export const FriendListKind = { FRIENDS: 0, RECEIVED: 1, SENT: 2, BLOCKED: 3 } as const;
/** Notification.NoticeKind */
export const NoticeKind = {
  NOTICE_NONE: 0, FRIEND_APPLY: 1, FRIEND_ACCEPTED: 2, FRIEND_REJECTED: 3, FRIEND_REMOVED: 4,
  READ_RECEIPT: 5, UNREAD_CHANGED: 6, GROUP_APPLY: 7,
} as const;

/** A user in friend lists and friend responses. */
export interface FriendInfo { userId: number; userName: string; since: number; online: boolean }
/** One friend application with its status. */
export interface FriendApplication {
  applyId: number; applicantId: number; applicantName: string; targetId: number; targetName: string;
  status: number; message: string; createdAt: number; updatedAt: number;
}
/** A conversation in the conversation list. */
export interface ConvSummary {
  convId: string; convType: number; peerId: number; peerName: string; groupId: number; lastSeq: number;
  readSeq: number; unread: number; lastMsgId: number; lastSenderId: number; lastTime: number;
  preview: string; lastMsgType: number; peerReadSeq: number;
}
/** Type 20. */
export interface FriendRequest { requestId: string; op: number; userId: number; userName: string; message: string }
/** Type 21. */
export interface FriendResponse { requestId: string; op: number; result: number; user: FriendInfo | null; applyId: number }
/** Type 22. */
export interface FriendListRequest { requestId: string; kind: number; after: number; limit: number }
/** Type 23. */
export interface FriendList {
  requestId: string; kind: number; friends: FriendInfo[]; applications: FriendApplication[];
  hasMore: boolean; next: number;
}
/** Type 24. */
export interface ConvListRequest { requestId: string; cursor: string; limit: number }
/** Type 25. */
export interface ConvList {
  requestId: string; convs: ConvSummary[]; hasMore: boolean; nextCursor: string; totalUnread: number;
}
/** Type 26. */
export interface HistoryRequest { requestId: string; convId: string; beforeSeq: number; limit: number }
/** Type 27. */
export interface HistoryResponse { requestId: string; convId: string; messages: ChatMessage[]; hasMore: boolean }
/** Type 28. */
export interface ReadRequest { requestId: string; convId: string; seq: number }
/** Type 29. */
export interface ReadResponse {
  requestId: string; convId: string; readSeq: number; lastSeq: number; unread: number; totalUnread: number;
}
/** Type 30. */
export interface Notification {
  noticeId: number; kind: number; fromUserId: number; fromUserName: string; convId: string; seq: number;
  unread: number; totalUnread: number; applyId: number; message: string; time: number;
}
/** Type 31. */
export interface NotificationAck { noticeId: number }

/** GroupRequest.GroupOp */
export const GroupOp = {
  OP_NONE: 0, CREATE: 1, RENAME: 2, INVITE: 3, LEAVE: 4, KICK: 5, DISMISS: 6, SET_ROLE: 7, TRANSFER: 8, SET_MAX: 9,
  APPLY: 10, APPROVE: 11, REJECT: 12,
} as const;
/** A group as its members see it. */
export interface GroupInfo {
  groupId: number; name: string; ownerId: number; memberCount: number; maxMembers: number; createdAt: number; myRole: number;
}
/** One group member (in requests only userId is read). */
export interface GroupMember { userId: number; userName: string; role: number; joinedAt: number; readSeq: number }
/** Type 32. */
export interface GroupRequest {
  requestId: string; op: number; groupId: number; name: string; members: GroupMember[]; userId: number; role: number;
  maxMembers: number; message: string;
}
/** Type 33. */
export interface GroupResponse {
  requestId: string; op: number; group: GroupInfo | null; members: GroupMember[]; applyId: number; seq: number;
}
/** Type 34. */
export interface GroupMembersRequest { requestId: string; groupId: number; after: number; limit: number }
/** Type 35. */
export interface GroupMembers { requestId: string; group: GroupInfo | null; members: GroupMember[]; hasMore: boolean; next: number }
/** Type 36. */
export interface GroupReadRequest { requestId: string; groupId: number; seq: number; limit: number }
/** Type 37. */
export interface GroupReadResponse {
  requestId: string; groupId: number; seq: number; readCount: number; memberCount: number; readers: GroupMember[];
}

/** Maps each type code to its message shape. */
export interface MessageByType {
  1: BusinessMessage; 2: ChatMessage; 3: HeartbeatMessage; 4: OnlineMessage; 5: AckMessage;
  6: ErrorMessage; 7: RegisterRequest; 8: RegisterAck; 9: LoginAck; 10: SyncRequest;
  11: SyncResponse;
  20: FriendRequest; 21: FriendResponse; 22: FriendListRequest; 23: FriendList; 24: ConvListRequest;
  25: ConvList; 26: HistoryRequest; 27: HistoryResponse; 28: ReadRequest; 29: ReadResponse;
  30: Notification; 31: NotificationAck;
  32: GroupRequest; 33: GroupResponse; 34: GroupMembersRequest; 35: GroupMembers; 36: GroupReadRequest;
  37: GroupReadResponse;
}

/** A decoded frame: its type code and message. */
export type AnyMessage = { [K in MessageTypeCode]: { type: K; msg: MessageByType[K] } }[MessageTypeCode];
