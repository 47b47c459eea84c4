/**
 * `im-client chat`: an interactive session on top of {@link ImClient}. Lines starting with "/"
 * are commands (commands/), "@<id> text" sends once, any other line goes to the /to user.
 * Incoming messages and connection status are printed above the prompt as they happen.
 */
import type * as tls from 'node:tls';
import { ImClient } from '../client';
import { ServerError } from '../errors';
import { formatAddress, type ClientAuth, type ServerAddress } from '../options';
import { describe } from '../policy';
import { defaultRegistry, parseUserId, type ChatContext, type CommandRegistry } from './commands';
import { formatIncoming, formatState } from './format';
import { formatNotification } from './notices';
import { Terminal, type TerminalIO } from './terminal';
import { removeToken, saveToken } from './token-store';

/** What `chat` was told on the command line, resolved. */
export interface ChatConfig {
  servers: ServerAddress[];
  auth: ClientAuth;
  platform: number;
  tls?: tls.ConnectionOptions;
  reconnect: boolean;
  /** Save the session token here after every login (--save-token). */
  saveTokenTo?: string;
  /** The credentials came from this saved token; it is removed if the server refuses it. */
  savedTokenFile?: string;
  /** The --user name, shown when the server does not echo it (token logins). */
  userName?: string;
}

/** Exit codes of the CLI. */
export const EXIT = { OK: 0, FAILED: 1, USAGE: 2, KICKED: 3 } as const;

/** How long /quit waits for unacked sends before logging out anyway. */
const QUIT_GRACE_MS = 10_000;

/** Runs a chat session until /quit, end of input or a kick; resolves with the exit code. */
export async function runChat(cfg: ChatConfig, io: TerminalIO): Promise<number> {
  const term = new Terminal(io);
  const client = new ImClient({
    servers: cfg.servers, auth: cfg.auth, platform: cfg.platform, tls: cfg.tls, reconnect: cfg.reconnect,
  });
  const session = new ChatSession(client, defaultRegistry(), term, cfg);
  term.onLine((line) => session.enqueue(line));
  term.onEnd(() => session.quitAfterQueuedLines());
  term.print(`connecting to ${cfg.servers.map(formatAddress).join(', ')}…`);
  try {
    const info = await client.connect();
    const missed = (info.caughtUp > 0 ? ` — ${info.caughtUp} missed message(s) above` : '')
      + (info.totalUnread > 0 ? ` — ${info.totalUnread} unread in ${info.unread.length} conversation(s), see /convs` : '');
    term.print(`logged in as ${info.userName || cfg.userName || 'user'} (#${info.userId}) on ${formatAddress(info.server)}${missed}. Type /help for commands.`);
    session.updatePrompt();
  } catch (err) {
    if (!session.quitting) {
      if (err instanceof ServerError && err.code === 'BAD_TOKEN' && cfg.savedTokenFile) {
        removeToken(cfg.savedTokenFile);
        term.print(`the saved token was refused and has been removed; run again to log in with your password`);
      }
      term.print(`cannot log in: ${describe(err as Error)}`);
      void session.quit(EXIT.FAILED);
    }
  }
  return session.finished;
}

/** The state of one chat session; the {@link ChatContext} commands see. */
class ChatSession implements ChatContext {
  target: number | null = null;
  groupTarget: number | null = null;
  quitting = false;
  /** Resolves with the exit code once the session is over. */
  readonly finished: Promise<number>;
  private finish!: (code: number) => void;
  private readonly pending = new Set<Promise<unknown>>();
  private chain: Promise<void> = Promise.resolve();

  constructor(
    readonly client: ImClient,
    readonly registry: CommandRegistry,
    private readonly term: Terminal,
    private readonly cfg: ChatConfig,
  ) {
    this.finished = new Promise((resolve) => { this.finish = resolve; });
    this.wire();
  }

  get pendingSends(): number {
    return this.pending.size;
  }

  print(text: string): void {
    this.term.print(text);
  }

  setTarget(userId: number | null): void {
    this.target = userId;
    if (userId !== null) this.groupTarget = null;
    this.updatePrompt();
  }

  setGroupTarget(groupId: number | null): void {
    this.groupTarget = groupId;
    if (groupId !== null) this.target = null;
    this.updatePrompt();
  }

  /** "(offline) to 2> " */
  updatePrompt(): void {
    if (this.quitting) return;
    const state = this.client.state === 'online' ? '' : `(${this.client.state}) `;
    const to = this.groupTarget ? `to #${this.groupTarget}` : this.target ? `to ${this.target}` : '';
    this.term.setPrompt(`${state}${to}> `);
  }

  /** Handles lines one at a time, in order, even when a command awaits. */
  enqueue(line: string): void {
    this.chain = this.chain.then(() => this.handleLine(line)).catch((err: unknown) => {
      this.print(`! ${describe(err as Error)}`);
    });
  }

  sendText(to: number, text: string): void {
    if (this.client.state !== 'online') this.print(`(not connected: the message to ${to} is queued and sent on reconnect)`);
    const p = this.client.send(to, text).then(
      () => undefined,
      (err: Error) => { this.print(`! not delivered to ${to}: ${describe(err)}`); },
    );
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  sendGroupText(groupId: number, text: string): void {
    if (this.client.state !== 'online') this.print(`(not connected: the message to #${groupId} is queued and sent on reconnect)`);
    const p = this.client.sendToGroup(groupId, text).then(
      () => undefined,
      (err: Error) => { this.print(`! not delivered to group #${groupId}: ${describe(err)}`); },
    );
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  /** End of input: quit once the lines already read have been handled (piped input). */
  quitAfterQueuedLines(): void {
    this.chain = this.chain.then(() => this.quit(EXIT.OK));
  }

  /** Waits (bounded) for unacked sends, logs out, closes the screen, resolves `finished`. */
  async quit(code = 0): Promise<void> {
    if (this.quitting) return;
    this.quitting = true;
    if (this.pending.size > 0 && this.client.state !== 'closed') {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...this.pending]),
        new Promise((r) => { timer = setTimeout(r, QUIT_GRACE_MS); }),
      ]);
      clearTimeout(timer);
    }
    // Logging out revokes the token, so a session whose token is kept only disconnects.
    const keepToken = Boolean(this.cfg.saveTokenTo || this.cfg.savedTokenFile || 'token' in this.cfg.auth);
    if (this.client.state !== 'online') this.client.close();
    else if (keepToken) await this.client.disconnect();
    else await this.client.logout();
    this.term.close();
    this.finish(code);
  }

  private async handleLine(raw: string): Promise<void> {
    if (this.quitting) return;
    const line = raw.trim();
    if (line.length === 0) {
      this.term.prompt();
      return;
    }
    if (line.startsWith('/')) {
      await this.registry.dispatch(this, line);
    } else if (line.startsWith('@')) {
      const m = /^@(\S+)\s+(.+)$/s.exec(line);
      const to = m ? parseUserId(m[1]) : null;
      if (!m || to === null) this.print('usage: @<userId> <text>');
      else this.sendText(to, m[2]!);
    } else if (line.startsWith('#')) {
      const m = /^#(\d{1,16})\s+(.+)$/s.exec(line);
      const gid = m ? parseUserId(m[1]) : null;
      if (!m || gid === null) this.print('usage: #<groupId> <text>');
      else this.sendGroupText(gid, m[2]!);
    } else if (this.groupTarget) {
      this.sendGroupText(this.groupTarget, line);
    } else if (this.target) {
      this.sendText(this.target, line);
    } else {
      this.print('no recipient: use /to <userId> first, or @<userId> <text>');
    }
    this.term.prompt();
  }

  private wire(): void {
    const c = this.client;
    c.on('message', (msg) => this.print(formatIncoming(msg, c.userId)));
    c.on('notice', (n) => this.print(`[notice] ${n.msgBody}`));
    c.on('notification', (n) => {
      const line = formatNotification(n);
      if (line) this.print(line);
    });
    c.on('error', (err) => this.print(`! ${describe(err)}`));
    c.on('kicked', (err) => {
      this.print(`logged out: this session was replaced by another login (${err.message})`);
      void this.quit(EXIT.KICKED);
    });
    c.on('state', (s) => {
      const line = s.state === 'closed' && this.quitting ? null : formatState(s);
      if (line) this.print(line);
      this.updatePrompt();
      // Closed for good after having been logged in (login refused on reconnect, reconnect off).
      if (s.state === 'closed' && !this.quitting && c.userId !== 0) void this.quit(EXIT.FAILED);
    });
    c.on('login', (info) => {
      if (info.relogin) {
        const missed = info.caughtUp > 0 ? ` (${info.caughtUp} missed message(s) above)` : '';
        this.print(`reconnected to ${formatAddress(info.server)}${missed}`);
      }
      if (this.cfg.saveTokenTo && info.token) {
        try {
          saveToken(this.cfg.saveTokenTo, info.token);
        } catch (err) {
          this.print(`! could not save the token: ${(err as Error).message}`);
        }
      }
    });
  }
}
