/**
 * The storage ports. Every backend implements these; the embedded default is SQLite
 * (better-sqlite3) and the cluster backend is MySQL/MariaDB (mysql2). One contract suite
 * (test/contract/*.ts) runs against both. Nothing here knows about sockets or brokers.
 * The friend, notice and conversation-list ports live next to their rules (friends/ports.ts,
 * conversations/ports.ts).
 */
import type { FriendStore, NoticeStore } from './friends/ports';
import type { ConversationStore } from './conversations/ports';
import type { GroupStore } from './groups/ports';
import type { RequestError } from '@hxim/im-common';

/** An account row. */
export interface Account {
  userId: number;
  userName: string;
  /** "scrypt$N$r$p$saltB64$hashB64" — never the password. */
  passwordHash: string;
  createdAt: number;
}

/** A session token record. Only the token's SHA-256 is stored. */
export interface TokenRecord {
  userId: number;
  expiresAt: number;
}

/** Accounts and session tokens. */
export interface AccountStore {
  /** Creates an account; rejects with RequestError USER_EXISTS if the name is taken. */
  createAccount(userName: string, passwordHash: string): Promise<Account>;
  /** The account with this name, or null. */
  findByName(userName: string): Promise<Account | null>;
  /** Which of these ids are registered accounts. */
  existingUsers(userIds: readonly number[]): Promise<Set<number>>;
  /** Stores a token hash for a user. */
  saveToken(tokenHash: string, userId: number, expiresAt: number): Promise<void>;
  /** The token record, or null if unknown or expired. */
  findToken(tokenHash: string, now: number): Promise<TokenRecord | null>;
  /** Forgets a token (logout). */
  deleteToken(tokenHash: string): Promise<void>;
}

/** A chat as submitted by a sender, before the store assigns ids. */
export interface NewChat {
  senderId: number;
  /** The client's message id: (senderId, clientMsgId) is unique. */
  clientMsgId: string;
  convId: string;
  /** Every member of the conversation, sender included (1:1: the two users). */
  memberIds: readonly number[];
  /** 1:1 recipient; 0 for groups. */
  recipientId: number;
  groupId: number;
  msgType: number;
  body: Uint8Array;
  /** The sender's clock (ChatMessage.timeStamp), passed through. */
  clientTime: number;
}

/** A stored chat. */
export interface StoredChat {
  serverMsgId: number;
  convId: string;
  seq: number;
  senderId: number;
  clientMsgId: string;
  recipientId: number;
  groupId: number;
  msgType: number;
  body: Uint8Array;
  clientTime: number;
  serverTime: number;
}

/** The result of appending one chat. */
export interface AppendResult extends StoredChat {
  /** True when (senderId, clientMsgId) was already stored: the fields are the original's. */
  duplicate: boolean;
  /**
   * The conversation's member_seq, read under the append's lock on the conversation row: the seq
   * of its latest membership change (a group's join/leave/kick/dismiss SYSTEM message), 0 when
   * there was none (1:1). For a new message it is the latest change before `seq`; for a
   * duplicate, the latest change now. A group send fans out to a member list at least this new
   * (GroupService.members), so a member removed before the message never gets it.
   */
  memberSeq: number;
  /**
   * Set when this chat alone was refused and nothing of it was stored: RequestError NOT_A_MEMBER
   * for a group chat whose sender is not in group_member (checked under the conversation's lock,
   * so a kick committed on any instance is seen). The other fields echo the input (serverMsgId,
   * seq, serverTime, memberSeq 0, duplicate false). ChatBatcher rejects that caller with it.
   */
  refused?: RequestError;
}

/** A member's position in one conversation. */
export interface ConvCursor {
  convId: string;
  /** Highest seq in the conversation. */
  lastSeq: number;
  /** Delivered cursor: everything up to here was received by the user. */
  ackSeq: number;
  /** Read cursor: unread = lastSeq - readSeq. */
  readSeq: number;
}

/** A cursor move. Cursors only move forward: a lower seq is ignored. */
export interface CursorUpdate {
  userId: number;
  convId: string;
  seq: number;
}

/** Messages, conversations and per-member cursors. */
export interface ChatStore {
  /**
   * Stores a batch in one transaction (group commit). Results come back in input order.
   * Each new chat gets the next seq of its conversation; a repeated (senderId, clientMsgId)
   * — also within the batch — returns the original with duplicate=true and is not stored again.
   * The conversation and its member rows are created on first use. The sender's read cursor
   * moves to the new seq (you have read what you wrote).
   *
   * Details both backends share: the sender is made a member even if missing from memberIds; a
   * member row created here starts with ackSeq = readSeq = the seq before the message it first
   * appears in (0 in a new conversation; a member added to a running group does not get its
   * history as unread); a malformed chat rejects the whole call with RequestError BAD_REQUEST
   * (validate.ts) before anything is written. A group chat (groupId > 0, convId "g:<groupId>")
   * is stored only if its sender is in group_member, read under the conversation's lock (group
   * changes lock it too): a non-member's chat comes back with `refused` set, is not stored and
   * creates no member row; the rest of the batch is unaffected.
   */
  appendBatch(chats: readonly NewChat[]): Promise<AppendResult[]>;
  /** Messages of a conversation with seq > afterSeq, ascending, at most `limit` (capped at 10,000). */
  readAfter(convId: string, afterSeq: number, limit: number): Promise<StoredChat[]>;
  /** Messages with seq < beforeSeq (0 = from the newest), descending, at most `limit` (capped at 10,000). */
  readBefore(convId: string, beforeSeq: number, limit: number): Promise<StoredChat[]>;
  /** The user's cursors in every conversation where lastSeq > ackSeq (has undelivered). */
  lagging(userId: number): Promise<ConvCursor[]>;
  /** The user's cursors in the given conversations (missing ones are left out). */
  cursors(userId: number, convIds: readonly string[]): Promise<ConvCursor[]>;
  /** True when the user is a member of the conversation. */
  isMember(userId: number, convId: string): Promise<boolean>;
  /**
   * Moves delivered cursors forward (never past lastSeq: an ack from the future would hide
   * messages from catch-up), in one transaction. Updates for non-members are ignored.
   */
  advanceAck(updates: readonly CursorUpdate[]): Promise<void>;
  /** Moves read cursors forward (never past lastSeq), in one transaction. Non-members are ignored. */
  advanceRead(updates: readonly CursorUpdate[]): Promise<void>;
}

/** A whole backend: opened, checked and closed as one. */
export interface Store {
  readonly kind: 'sqlite' | 'mysql';
  readonly accounts: AccountStore;
  readonly chats: ChatStore;
  /** Friendships, applications and blocks (issue 4). */
  readonly friends: FriendStore;
  /** Notifications waiting for an ack. */
  readonly notices: NoticeStore;
  /** Conversation lists, unread counts, read marks. */
  readonly convs: ConversationStore;
  /** Groups, members and roles (issue 5). */
  readonly groups: GroupStore;
  /** Resolves when the backend answers a trivial query; rejects with BackendError otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
