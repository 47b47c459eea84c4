/** Messaging commands: /to. (Sending itself is "@<id> text" or a plain line; see chat.ts.) */
import { parseUserId, type CommandGroup } from './types';

/** /to. */
export const messagingCommands: CommandGroup = {
  title: 'Messaging',
  commands: [
    {
      name: 'to',
      args: '[<userId>|off]',
      summary: 'send plain lines to this user, or to a group with /to g:<groupId> (no argument: show; off: stop)',
      run(ctx, args) {
        if (args.length === 0) {
          ctx.print(ctx.groupTarget ? `sending to group #${ctx.groupTarget}` : ctx.target ? `sending to ${ctx.target}` : 'no recipient: /to <userId>');
          return;
        }
        const g = /^(?:g:|#)(\d{1,16})$/.exec(args[0]!);
        if (g) {
          const gid = parseUserId(g[1]);
          if (gid !== null) {
            ctx.setGroupTarget(gid);
            ctx.print(`sending to group #${gid}`);
            return;
          }
        }
        if (args[0] === 'off') {
          ctx.setTarget(null);
          ctx.setGroupTarget(null);
          ctx.print('no recipient: plain lines are not sent');
          return;
        }
        const id = parseUserId(args[0]);
        if (id === null) {
          ctx.print(`"${args[0]}" is not a user id (a positive number)`);
          return;
        }
        ctx.setTarget(id);
        ctx.print(`sending to ${id}`);
      },
    },
  ],
};
