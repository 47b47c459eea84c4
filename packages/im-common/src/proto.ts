/**
 * Loads the schema from /proto (the one source of truth) into protobufjs reflection types, then
 * compiles each frame type's codec from them (codec.ts).
 *
 * int64 fields are JS numbers, not Long objects: we unset protobufjs' Long support before any type
 * is built, so the reflection types (used by tests as an independent oracle) agree with the
 * compiled codecs. Numbers are faster, and every id we use fits in 53 bits (the server refuses
 * larger ones).
 */
import * as path from 'node:path';
import * as fs from 'node:fs';
import protobuf from 'protobufjs';
import { MessageType, type MessageTypeCode } from './types';
import { compileCodecs, type MessageCodec } from './codec';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
(protobuf.util as any).Long = undefined;
protobuf.configure();

/** Fully qualified name of the protobuf message carried by each type code. */
export const MESSAGE_NAMES: Readonly<Record<MessageTypeCode, string>> = {
  [MessageType.BUSINESS]: 'BusinessMessage',
  [MessageType.CHAT]: 'ChatMessage',
  [MessageType.HEARTBEAT]: 'HeartbeatMessage',
  [MessageType.ONLINE]: 'OnlineMessage',
  [MessageType.ACK]: 'AckMessage',
  [MessageType.ERROR]: 'ErrorMessage',
  [MessageType.REGISTER]: 'RegisterRequest',
  [MessageType.REGISTER_ACK]: 'RegisterAck',
  [MessageType.LOGIN_ACK]: 'LoginAck',
  [MessageType.SYNC]: 'SyncRequest',
  [MessageType.SYNC_RESPONSE]: 'SyncResponse',
  [MessageType.FRIEND_REQUEST]: 'FriendRequest',
  [MessageType.FRIEND_RESPONSE]: 'FriendResponse',
  [MessageType.FRIEND_LIST_REQUEST]: 'FriendListRequest',
  [MessageType.FRIEND_LIST]: 'FriendList',
  [MessageType.CONV_LIST_REQUEST]: 'ConvListRequest',
  [MessageType.CONV_LIST]: 'ConvList',
  [MessageType.HISTORY_REQUEST]: 'HistoryRequest',
  [MessageType.HISTORY_RESPONSE]: 'HistoryResponse',
  [MessageType.READ_REQUEST]: 'ReadRequest',
  [MessageType.READ_RESPONSE]: 'ReadResponse',
  [MessageType.NOTIFICATION]: 'Notification',
  [MessageType.NOTIFICATION_ACK]: 'NotificationAck',
  [MessageType.GROUP_REQUEST]: 'GroupRequest',
  [MessageType.GROUP_RESPONSE]: 'GroupResponse',
  [MessageType.GROUP_MEMBERS_REQUEST]: 'GroupMembersRequest',
  [MessageType.GROUP_MEMBERS]: 'GroupMembers',
  [MessageType.GROUP_READ_REQUEST]: 'GroupReadRequest',
  [MessageType.GROUP_READ_RESPONSE]: 'GroupReadResponse',
};

/** Where the .proto files live: $HXIM_PROTO_DIR, or the repository's /proto. */
export function protoDir(): string {
  const env = process.env.HXIM_PROTO_DIR;
  if (env) return env;
  // dist/src/proto.js -> packages/im-common -> repo root
  return path.resolve(__dirname, '..', '..', '..', '..', 'proto');
}

function loadRoot(): protobuf.Root {
  const dir = protoDir();
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.proto')).sort();
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => path.join(dir, path.basename(target));
  root.loadSync(files.map((f) => path.join(dir, f)), { keepCase: true });
  root.resolveAll();
  return root;
}

const root = loadRoot();
const PKG = 'org.example.common.po.';

/** The reflection type for a type code, indexed by code for a branch-free lookup. */
export const TYPES: ReadonlyArray<protobuf.Type | undefined> = (() => {
  const arr: Array<protobuf.Type | undefined> = [];
  for (const [code, name] of Object.entries(MESSAGE_NAMES)) arr[Number(code)] = root.lookupType(PKG + name);
  return arr;
})();

/** The compiled codec for a type code, indexed by code like {@link TYPES}. */
export const CODECS: ReadonlyArray<MessageCodec | undefined> = (() => {
  const known = TYPES.filter((t): t is protobuf.Type => t !== undefined);
  const compiled = compileCodecs(known);
  return TYPES.map((t) => (t === undefined ? undefined : compiled.get(t)));
})();

/** Looks up any message type of the schema by its short name, e.g. "ConvSeq". */
export function lookupType(name: string): protobuf.Type {
  return root.lookupType(PKG + name);
}
