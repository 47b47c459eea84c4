/**
 * The slash-command contract. A command group is one small file (session.ts, messaging.ts; later
 * friends.ts, conversations.ts, ...) exporting a {@link CommandGroup}; index.ts lists the groups.
 */
import type { ImClient } from '../../client';
import type { CommandRegistry } from './registry';

/** What a command can use: the client, the screen and the session's small state. */
export interface ChatContext {
  /** The connected client (requests, sends, state). */
  readonly client: ImClient;
  /** Every command, for /help. */
  readonly registry: CommandRegistry;
  /** Prints above the prompt. */
  print(text: string): void;
  /** The user plain lines are sent to, or null. */
  readonly target: number | null;
  /** Sets (or clears) the user plain lines are sent to. */
  setTarget(userId: number | null): void;
  /** Sends `text` to `to`; failures are printed. */
  sendText(to: number, text: string): void;
  /** The group plain lines are sent to (issue 5), or null; exclusive with {@link target}. */
  readonly groupTarget: number | null;
  /** Sets (or clears) the group plain lines are sent to (clears the user target). */
  setGroupTarget(groupId: number | null): void;
  /** Sends `text` to group `groupId`; failures are printed. */
  sendGroupText(groupId: number, text: string): void;
  /** Sends still waiting for the server's ack. */
  readonly pendingSends: number;
  /** Ends the session: waits briefly for pending sends, logs out, exits with `code`. */
  quit(code?: number): Promise<void>;
}

/** One slash command, e.g. /to. */
export interface SlashCommand {
  /** Name without the slash. */
  readonly name: string;
  /** Other names, e.g. "exit" for quit. */
  readonly aliases?: readonly string[];
  /** Argument synopsis for /help, e.g. "<userId>". */
  readonly args?: string;
  /** One line for /help. */
  readonly summary: string;
  /** Runs it. `args` are the words after the name, `rest` the raw text after it. */
  run(ctx: ChatContext, args: string[], rest: string): void | Promise<void>;
}

/** A file's worth of related commands. */
export interface CommandGroup {
  /** Heading in /help, e.g. "Session". */
  readonly title: string;
  readonly commands: readonly SlashCommand[];
}

/** Parses a user id argument; null if it is not a positive integer. */
export function parseUserId(text: string | undefined): number | null {
  if (text === undefined || !/^\d{1,16}$/.test(text)) return null;
  const n = Number(text);
  return Number.isSafeInteger(n) && n > 0 ? n : null;
}
