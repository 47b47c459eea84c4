/**
 * Slash-command lookup and dispatch. Groups register their commands; a line starting with "/" is
 * split into the name and its arguments and handed to the matching command.
 */
import type { ChatContext, CommandGroup, SlashCommand } from './types';

/** All slash commands of a chat session. */
export class CommandRegistry {
  private readonly byName = new Map<string, SlashCommand>();
  private readonly groupList: CommandGroup[] = [];

  /** Adds a group; a name or alias already taken is a programming error. */
  register(group: CommandGroup): this {
    for (const cmd of group.commands) {
      for (const name of [cmd.name, ...(cmd.aliases ?? [])]) {
        if (this.byName.has(name)) throw new Error(`slash command /${name} is registered twice`);
        this.byName.set(name, cmd);
      }
    }
    this.groupList.push(group);
    return this;
  }

  /** The command called `name` (or with that alias). */
  find(name: string): SlashCommand | undefined {
    return this.byName.get(name.toLowerCase());
  }

  /** The groups in registration order (for /help). */
  groups(): readonly CommandGroup[] {
    return this.groupList;
  }

  /** Runs a "/name args" line. Unknown names print a hint. */
  async dispatch(ctx: ChatContext, line: string): Promise<void> {
    const m = /^\/(\S+)\s*(.*)$/s.exec(line.trim());
    if (!m) return;
    const cmd = this.find(m[1]!);
    if (!cmd) {
      ctx.print(`unknown command /${m[1]} — type /help`);
      return;
    }
    const rest = m[2]!;
    await cmd.run(ctx, rest.length > 0 ? rest.split(/\s+/) : [], rest);
  }
}
