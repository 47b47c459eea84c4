/**
 * Friend commands: /friends, /add, /requests, /accept, /reject, /remove, /block, /unblock,
 * /blocked. A <user> is a user id or an account name.
 */
import { ApplyStatus, FriendResult, type FriendApplication, type FriendResponse } from '@hxim/im-common';
import { BusinessApi } from '../../business';
import { clock, sanitize } from '../format';
import { who } from '../notices';
import type { ChatContext, CommandGroup, SlashCommand } from './types';

const STATUS: Readonly<Record<number, string>> = {
  [ApplyStatus.PENDING]: 'pending', [ApplyStatus.ACCEPTED]: 'accepted', [ApplyStatus.REJECTED]: 'rejected',
};

/** What to print for a FriendResponse. */
export function describeFriendResult(r: FriendResponse): string {
  const u = r.user ? who(r.user.userId, r.user.userName) : 'that user';
  switch (r.result) {
    case FriendResult.APPLIED: return `friend request sent to ${u}`;
    case FriendResult.ACCEPTED: return `you and ${u} are friends now`;
    case FriendResult.REJECTED: return `declined the friend request of ${u}`;
    case FriendResult.REMOVED: return `${u} is no longer your friend`;
    case FriendResult.BLOCKED: return `blocked ${u}`;
    case FriendResult.UNBLOCKED: return `unblocked ${u}`;
    case FriendResult.UNCHANGED: return `nothing to change for ${u}`;
    default: return `done (${u})`;
  }
}

function applicationLine(a: FriendApplication, received: boolean): string {
  const other = received ? who(a.applicantId, a.applicantName) : who(a.targetId, a.targetName);
  const note = a.message ? ` "${sanitize(a.message)}"` : '';
  const hint = received && a.status === ApplyStatus.PENDING ? ` — /accept ${a.applicantId} or /reject ${a.applicantId}` : '';
  return `  ${received ? 'from' : 'to'} ${other}${note} [${STATUS[a.status] ?? a.status}] ${clock(a.createdAt)}${hint}`;
}

/** A command that runs one friend operation on its <user> argument. */
function userCommand(name: string, summary: string, op: (api: BusinessApi, user: string, note: string) => Promise<FriendResponse>,
  args = '<user>'): SlashCommand {
  return {
    name, args, summary,
    async run(ctx: ChatContext, words: string[], rest: string) {
      if (words.length === 0) {
        ctx.print(`usage: /${name} ${args}`);
        return;
      }
      const note = rest.slice(rest.indexOf(words[0]!) + words[0]!.length).trim();
      ctx.print(describeFriendResult(await op(new BusinessApi(ctx.client), words[0]!, note)));
    },
  };
}

/** The friend commands. */
export const friendCommands: CommandGroup = {
  title: 'Friends',
  commands: [
    {
      name: 'friends',
      summary: 'list your friends (● online)',
      async run(ctx) {
        const api = new BusinessApi(ctx.client);
        const lines: string[] = [];
        let after = 0;
        for (let page = 0; page < 20; page++) {
          const r = await api.friends(after, 200);
          for (const f of r.friends) lines.push(`  ${f.online ? '●' : '○'} ${who(f.userId, f.userName)}`);
          if (!r.hasMore) break;
          after = r.next;
        }
        ctx.print(lines.length === 0 ? 'no friends yet: /add <user> [message]' : `friends (${lines.length}):\n${lines.join('\n')}`);
      },
    },
    userCommand('add', 'send a friend request, with an optional message', (api, u, note) => api.apply(u, note), '<user> [message]'),
    {
      name: 'requests',
      summary: 'friend requests received and sent, with their status',
      async run(ctx) {
        const api = new BusinessApi(ctx.client);
        const [got, sent] = await Promise.all([api.applications('received', 0, 20), api.applications('sent', 0, 20)]);
        const lines = [
          `received (${got.applications.length}${got.hasMore ? '+' : ''}):`, ...got.applications.map((a) => applicationLine(a, true)),
          `sent (${sent.applications.length}${sent.hasMore ? '+' : ''}):`, ...sent.applications.map((a) => applicationLine(a, false)),
        ];
        ctx.print(lines.join('\n'));
      },
    },
    userCommand('accept', 'accept a friend request', (api, u) => api.accept(u)),
    userCommand('reject', 'decline a friend request', (api, u) => api.reject(u)),
    userCommand('remove', 'end a friendship', (api, u) => api.remove(u)),
    userCommand('block', 'block a user: no messages or requests either way', (api, u) => api.block(u)),
    userCommand('unblock', 'lift a block', (api, u) => api.unblock(u)),
    {
      name: 'blocked',
      summary: 'list the users you blocked',
      async run(ctx) {
        const r = await new BusinessApi(ctx.client).blocked(0, 200);
        ctx.print(r.friends.length === 0 ? 'you blocked nobody' : `blocked:\n${r.friends.map((f) => `  ${who(f.userId, f.userName)}`).join('\n')}`);
      },
    },
  ],
};
