/** Session commands: /help, /who, /quit. */
import { formatAddress } from '../../options';
import type { CommandGroup } from './types';

/** /help, /who, /quit. */
export const sessionCommands: CommandGroup = {
  title: 'Session',
  commands: [
    {
      name: 'help',
      aliases: ['?'],
      summary: 'list the commands',
      run(ctx) {
        const lines = [
          'Sending:',
          '  @<userId> <text>      send one message to that user',
          '  #<groupId> <text>     send one message to that group',
          '  <text>                send to the current /to user or group',
        ];
        for (const g of ctx.registry.groups()) {
          lines.push(`${g.title}:`);
          for (const c of g.commands) {
            const names = [c.name, ...(c.aliases ?? [])].map((n) => `/${n}`).join(', ');
            lines.push(`  ${`${names}${c.args ? ` ${c.args}` : ''}`.padEnd(22)}${c.summary}`);
          }
        }
        ctx.print(lines.join('\n'));
      },
    },
    {
      name: 'who',
      aliases: ['status'],
      summary: 'who you are, the connection, the current recipient',
      run(ctx) {
        const c = ctx.client;
        const who = c.userId ? `${c.userName || 'user'} (#${c.userId})` : 'not logged in yet';
        const to = ctx.target ? `sending to ${ctx.target}` : 'no recipient (/to <userId>)';
        ctx.print(`${who} — ${c.state} on ${formatAddress(c.server)} — ${to} — ${ctx.pendingSends} unacked`);
      },
    },
    {
      name: 'quit',
      aliases: ['exit', 'q'],
      summary: 'leave (also Ctrl-D); logs out unless the token is kept (--save-token, --token-file)',
      async run(ctx) {
        await ctx.quit(0);
      },
    },
  ],
};
