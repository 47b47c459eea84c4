/**
 * Conversions between stored chats and ChatMessage frames.
 */
import { encodeFrame, MessageType, type ChatMessage } from '@hxim/im-common';
import type { StoredChat } from '@hxim/business';

/** The ChatMessage a recipient sees for a stored chat. */
export function toChatMessage(c: StoredChat): ChatMessage {
  return {
    userPlatformId: 0, userMacId: '', needAck: false,
    id: c.clientMsgId, userId: c.senderId, receiveId: c.recipientId, msgType: c.msgType,
    timeStamp: c.clientTime, msgBody: c.body, seq: c.seq, serverMsgId: c.serverMsgId,
    convId: c.convId, serverTime: c.serverTime, groupId: c.groupId,
  };
}

/** The complete CHAT frame for a stored chat, encoded once for every recipient. */
export function chatFrame(c: StoredChat): Buffer {
  return encodeFrame(MessageType.CHAT, toChatMessage(c));
}
