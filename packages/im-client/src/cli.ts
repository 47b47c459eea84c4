#!/usr/bin/env node
/**
 * im-client: register an account, or chat interactively (issue 2 §6).
 *
 *   im-client register --server 127.0.0.1:9090 --user alice
 *   im-client chat --server 127.0.0.1:9090 --user alice --save-token
 *   im-client chat --server 127.0.0.1:9090 --user-id 1001          (a server in --auth open mode)
 *
 * Passwords travel only over the socket (prompted without echo, or from HXIM_PASSWORD); tokens
 * are saved only with --save-token, to ~/.hxim/<server>-<user>.token with mode 0600.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as tls from 'node:tls';
import { Command, InvalidArgumentError, Option } from 'commander';
import { EXIT, runChat, type ChatConfig } from './cli/chat';
import { COMMAND_GROUPS } from './cli/commands';
import { readPassword, PromptCancelled } from './cli/prompt';
import { readToken, tokenPath } from './cli/token-store';
import { ClientError } from './errors';
import { DEFAULT_PLATFORM, formatAddress, parseServerAddress, parseServerList, type ClientAuth } from './options';
import { describe } from './policy';
import { register } from './register';


function version(): string {
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

function positiveInt(what: string) {
  return (text: string): number => {
    const n = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError(`${what} must be a positive integer`);
    return n;
  };
}

function tlsOptions(o: { tls?: boolean; ca?: string }): tls.ConnectionOptions | undefined {
  if (o.ca) return { ca: fs.readFileSync(o.ca) };
  return o.tls ? {} : undefined;
}

/** Options shared by both subcommands. */
function addConnectionOptions(cmd: Command): Command {
  return cmd
    .option('--tls', 'connect with TLS, verifying the server against the system CAs', false)
    .option('--ca <file>', 'PEM file of the CA that signed the server certificate (implies --tls)')
    .addOption(new Option('-p, --password <password>',
      'password (visible to other users of this machine; prefer the prompt or HXIM_PASSWORD)').env('HXIM_PASSWORD'));
}

/** Builds the command tree (exported so tests can check the help texts). */
export function buildProgram(): Command {
  const program = new Command()
    .name('im-client')
    .description('Command-line client of the hxIM server: register an account, then chat.')
    .version(version())
    .showHelpAfterError()
    .addHelpText('after', `
Examples:
  im-client register --server 127.0.0.1:9090 --user alice
  im-client chat --server 127.0.0.1:9090 --user alice --save-token
  im-client chat --server 10.0.0.1:9090,10.0.0.2:9090 --user bob
  im-client chat --server 127.0.0.1:9090 --user-id 1001     (server started with --auth open)`);

  addConnectionOptions(program.command('register')
    .description('create an account; the password is asked for without echo unless given')
    .requiredOption('-s, --server <host:port>', 'server to register on')
    .requiredOption('-u, --user <name>', 'the user name to create'))
    .action(async (o: { server: string; user: string; password?: string; tls?: boolean; ca?: string }) => {
      process.exitCode = await registerCommand(o);
    });

  addConnectionOptions(program.command('chat')
    .description('interactive chat: /to <userId> then type, or @<userId> text; /help inside for commands')
    .requiredOption('-s, --server <list>', 'server(s) as host:port[,host:port...]; a reconnect moves on to the next one')
    .option('-u, --user <name>', 'your user name (password or saved-token login)')
    .option('--token-file <file>', 'log in with the session token in this file instead of a password')
    .option('--save-token', 'after login, save the session token to ~/.hxim/<server>-<user>.token (mode 0600); later runs use it', false)
    .addOption(new Option('--user-id <n>', 'log in as this user id with no password (only servers started with --auth open)')
      .argParser(positiveInt('--user-id')))
    .addOption(new Option('--platform <n>', 'device slot: a second login on the same slot replaces the first')
      .default(DEFAULT_PLATFORM).argParser(positiveInt('--platform')))
    .option('--no-reconnect', 'exit when the connection is lost instead of reconnecting (default: reconnect with backoff)'))
    .addHelpText('after', chatHelp())
    .action(async (o: ChatFlags) => {
      process.exitCode = await chatCommand(o);
    });
  return program;
}

/** The in-session commands, from the registry, for `chat --help`. */
function chatHelp(): string {
  const lines = ['', 'In the session:', '  @<userId> <text>          send one message to that user', '  <text>                    send to the /to user'];
  for (const g of COMMAND_GROUPS) {
    for (const c of g.commands) lines.push(`  ${`/${c.name}${c.args ? ` ${c.args}` : ''}`.padEnd(26)}${c.summary}`);
  }
  lines.push('', 'Login: --user-id, else --token-file, else --password/HXIM_PASSWORD, else the token saved by',
    '--save-token, else a password prompt (a TTY is needed for the prompt).',
    '', 'Exit status: 0 after /quit or end of input (unacked sends get up to 10 s), 1 login failed or the',
    'connection closed for good, 2 usage error, 3 replaced by a login elsewhere on the same --platform.');
  return lines.join('\n');
}

async function registerCommand(o: { server: string; user: string; password?: string; tls?: boolean; ca?: string }): Promise<number> {
  const server = parseServerAddress(o.server, '--server');
  let password = o.password || undefined;
  if (password === undefined) {
    password = await readPassword('Password: ', { input: process.stdin, output: process.stderr });
    if (process.stdin.isTTY) {
      const again = await readPassword('Repeat password: ', { input: process.stdin, output: process.stderr });
      if (again !== password) {
        process.stderr.write('the passwords differ; nothing was registered\n');
        return EXIT.FAILED;
      }
    }
  }
  const res = await register(server, o.user, password, { tls: tlsOptions(o) });
  process.stdout.write(`registered ${res.userName} as user #${res.userId} on ${formatAddress(server)}\n`);
  return EXIT.OK;
}

interface ChatFlags {
  server: string; user?: string; password?: string; tokenFile?: string; saveToken: boolean;
  userId?: number; platform: number; tls?: boolean; ca?: string; reconnect: boolean;
}

async function chatCommand(o: ChatFlags): Promise<number> {
  const servers = parseServerList(o.server, '--server');
  const cfg: ChatConfig = { servers, auth: { userId: 0 }, platform: o.platform, tls: tlsOptions(o), reconnect: o.reconnect };
  if (o.userId !== undefined) {
    cfg.auth = { userId: o.userId };
  } else {
    if (!o.user) throw new ClientError('BAD_OPTION', 'give --user <name> (or --user-id <n> for a server in --auth open mode)');
    cfg.userName = o.user;
    const saved = tokenPath(servers[0]!, o.user);
    if (o.saveToken) cfg.saveTokenTo = saved;
    const auth = await chatAuth(o, o.user, saved, cfg);
    if (!auth) return EXIT.USAGE;
    cfg.auth = auth;
  }
  return runChat(cfg, { input: process.stdin, output: process.stdout });
}

/** --token-file, then --password / HXIM_PASSWORD, then a saved token, then the prompt. */
async function chatAuth(o: ChatFlags, user: string, saved: string, cfg: ChatConfig): Promise<ClientAuth | null> {
  if (o.tokenFile) {
    const token = readToken(o.tokenFile);
    if (!token) throw new ClientError('BAD_OPTION', `the token file ${o.tokenFile} is missing or empty`);
    return { token };
  }
  // An empty HXIM_PASSWORD (or --password '') counts as not given.
  if (o.password) return { userName: user, password: o.password };
  const token = readToken(saved);
  if (token) {
    cfg.savedTokenFile = saved;
    return { token };
  }
  if (!process.stdin.isTTY) {
    process.stderr.write('no password: pass --password, set HXIM_PASSWORD, or use --token-file (standard input carries the chat)\n');
    return null;
  }
  return { userName: user, password: await readPassword(`Password for ${user}: `, { input: process.stdin, output: process.stderr }) };
}

/** Runs the CLI; resolves with the exit code. */
export async function main(argv: string[] = process.argv): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.OK;
  } catch (err) {
    if (err instanceof PromptCancelled) return 130;
    const usage = err instanceof ClientError && err.code === 'BAD_OPTION';
    process.stderr.write(`im-client: ${describe(err as Error)}\n`);
    return usage ? EXIT.USAGE : EXIT.FAILED;
  }
}

if (require.main === module) {
  void main().then((code) => {
    process.exitCode = code;
    // Anything still holding the event loop (a paused pipe) must not keep a finished CLI alive.
    setTimeout(() => process.exit(code), 500).unref();
  });
}
