/** Messaging commands: /to. (Sending itself is "@<id> text" or a plain line; see chat.ts.) */
import { parseUserId, type CommandGroup } from './types';

/** /to. */
export const messagingCommands: CommandGroup = {
  title: 'Messaging',
  commands: [
    {
      name: 'to',
      args: '[<userId>|off]',
      summary: 'send plain lines to this user (no argument: show; off: stop)',
      run(ctx, args) {
        if (args.length === 0) {
          ctx.print(ctx.target ? `sending to ${ctx.target}` : 'no recipient: /to <userId>');
          return;
        }
        if (args[0] === 'off') {
          ctx.setTarget(null);
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
