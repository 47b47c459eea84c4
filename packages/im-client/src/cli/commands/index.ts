/**
 * The slash commands of `im-client chat`. Each group is one file; to add commands (issue 4:
 * /friends, /add, /requests, /accept, /reject, /block in friends.ts; /convs, /history, /read in
 * conversations.ts), write the group and append it to {@link COMMAND_GROUPS}.
 */
import { conversationCommands } from './conversations';
import { friendCommands } from './friends';
import { groupCommands } from './groups';
import { messagingCommands } from './messaging';
import { CommandRegistry } from './registry';
import { sessionCommands } from './session';
import type { CommandGroup } from './types';

/** Every command group, in /help order. */
export const COMMAND_GROUPS: readonly CommandGroup[] = [
  messagingCommands, sessionCommands, friendCommands, conversationCommands, groupCommands,
];

/** A registry holding {@link COMMAND_GROUPS}. */
export function defaultRegistry(): CommandRegistry {
  const r = new CommandRegistry();
  for (const g of COMMAND_GROUPS) r.register(g);
  return r;
}

export { CommandRegistry } from './registry';
export type { ChatContext, CommandGroup, SlashCommand } from './types';
export { parseUserId } from './types';
