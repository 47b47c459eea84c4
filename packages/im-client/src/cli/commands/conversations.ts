/**
 * Conversation commands: /convs (with unread counts), /history <conv|user> [n], /read [conv|user].
 * A conversation is given by its id (p:1:2, g:7), a user id, or a friend's name.
 */
import { parseConvId, privateConvId, type ConvSummary } from '@hxim/im-common';
import { BusinessApi } from '../../business';
import { bodyText, clock, sanitize } from '../format';
import { who } from '../notices';
import { parseUserId, type ChatContext, type CommandGroup } from './types';

/** Lines of /history by default. */
const DEFAULT_HISTORY_LINES = 20;

/** The conversation `arg` names, or null (and a printed hint) if it names none. */
export async function resolveConv(ctx: ChatContext, arg: string): Promise<string | null> {
  if (/^[pg]:/.test(arg)) {
    if (parseConvId(arg)) return arg;
    ctx.print(`"${sanitize(arg)}" is not a conversation id (p:<low>:<high> or g:<id>)`);
    return null;
  }
  const id = parseUserId(arg);
  if (id !== null) return privateConvId(ctx.client.userId, id);
  // A name: look among friends, then among recent conversations.
  const api = new BusinessApi(ctx.client);
  const friends = await api.friends(0, 200);
  const f = friends.friends.find((x) => x.userName === arg);
  if (f) return privateConvId(ctx.client.userId, f.userId);
  const convs = await api.conversations('', 100);
  const c = convs.convs.find((x) => x.peerName === arg);
  if (c) return c.convId;
  ctx.print(`no friend or conversation named "${sanitize(arg)}": use a user id or a conversation id`);
  return null;
}

function title(c: ConvSummary): string {
  return c.convType === 1 ? `group #${c.groupId}` : who(c.peerId, c.peerName);
}

function convLine(c: ConvSummary, me: number): string {
  const unread = c.unread > 0 ? `${c.unread} unread` : 'read';
  const sender = c.lastSenderId === me ? 'you' : c.convType === 1 ? `#${c.lastSenderId}` : c.peerName || `#${c.lastSenderId}`;
  const seen = c.convType === 0 && c.lastSenderId === me && c.peerReadSeq > 0 ? ` (seen up to #${c.peerReadSeq})` : '';
  const last = c.lastSeq > 0 ? ` — [${clock(c.lastTime)}] ${sender}: ${sanitize(c.preview)}${seen}` : '';
  return `  ${c.convId}  ${title(c)}  ${unread}${last}`;
}

/** Marks one conversation read and prints the outcome. */
async function markOne(ctx: ChatContext, api: BusinessApi, convId: string): Promise<void> {
  const r = await api.markRead(convId, 0);
  ctx.print(`${convId}: read up to #${r.readSeq}, ${r.unread} unread there, ${r.totalUnread} in total`);
}

/** The conversation commands. */
export const conversationCommands: CommandGroup = {
  title: 'Conversations',
  commands: [
    {
      name: 'convs',
      summary: 'your conversations, most recent first, with unread counts',
      async run(ctx) {
        const r = await new BusinessApi(ctx.client).conversations('', 50);
        if (r.convs.length === 0) {
          ctx.print('no conversations yet');
          return;
        }
        const more = r.hasMore ? '\n  … (older conversations not shown)' : '';
        ctx.print(`conversations (${r.totalUnread} unread in total):\n${r.convs.map((c) => convLine(c, ctx.client.userId)).join('\n')}${more}`);
      },
    },
    {
      name: 'history',
      args: '<conv|user> [n]',
      summary: `the last n messages of a conversation (default ${DEFAULT_HISTORY_LINES})`,
      async run(ctx, args) {
        if (args.length === 0) {
          ctx.print('usage: /history <conv|user> [n]');
          return;
        }
        const n = args[1] === undefined ? DEFAULT_HISTORY_LINES : parseUserId(args[1]);
        if (n === null || n > 200) {
          ctx.print('n must be a number from 1 to 200');
          return;
        }
        const convId = await resolveConv(ctx, args[0]!);
        if (!convId) return;
        const r = await new BusinessApi(ctx.client).history(convId, 0, n);
        const me = ctx.client.userId;
        const lines = r.messages.map((m) => `  [${clock(m.serverTime)}] #${m.seq} ${m.userId === me ? 'you' : `#${m.userId}`}: ${bodyText(m)}`);
        ctx.print(lines.length === 0 ? `${convId}: no messages` : `${convId}${r.hasMore ? ' (older messages exist)' : ''}:\n${lines.join('\n')}`);
      },
    },
    {
      name: 'read',
      args: '[conv|user|all]',
      summary: 'mark a conversation read (default: the /to user, else all)',
      async run(ctx, args) {
        const api = new BusinessApi(ctx.client);
        if (args[0] !== undefined && args[0] !== 'all') {
          const convId = await resolveConv(ctx, args[0]);
          if (convId) await markOne(ctx, api, convId);
          return;
        }
        if (args[0] === undefined && ctx.target) {
          await markOne(ctx, api, privateConvId(ctx.client.userId, ctx.target));
          return;
        }
        const r = await api.conversations('', 100);
        const unread = r.convs.filter((c) => c.unread > 0);
        if (unread.length === 0) ctx.print('nothing unread');
        for (const c of unread) await markOne(ctx, api, c.convId);
      },
    },
  ],
};
