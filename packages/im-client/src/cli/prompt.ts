/**
 * Reading a password without echoing it. On a TTY the terminal is put in raw mode and the typed
 * characters are never written back; without a TTY (a pipe), the first line of input is used.
 */
import * as readline from 'node:readline';

/** Streams for {@link readPassword}. */
export interface PromptIO {
  input: NodeJS.ReadStream | NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
}

/** Thrown when the user presses Ctrl-C at the prompt. */
export class PromptCancelled extends Error {
  constructor() {
    super('cancelled');
    this.name = 'PromptCancelled';
  }
}

/** Asks for a password; resolves with what was typed (without the newline). */
export function readPassword(question: string, io: PromptIO): Promise<string> {
  const input = io.input as NodeJS.ReadStream;
  if (!input.isTTY || typeof input.setRawMode !== 'function') return readLine(question, io);
  return new Promise((resolve, reject) => {
    io.output.write(question);
    let typed = '';
    const wasRaw = input.isRaw;
    input.setRawMode(true);
    input.resume();
    input.setEncoding('utf8');
    const done = (err: Error | null): void => {
      input.removeListener('data', onData);
      input.setRawMode(wasRaw);
      input.pause();
      io.output.write('\n');
      if (err) reject(err); else resolve(typed);
    };
    const onData = (chunk: string): void => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return done(null);
        if (ch === '\u0003') return done(new PromptCancelled());
        if (ch === '\u007f' || ch === '\b') typed = typed.slice(0, -1);
        else if (ch >= ' ') typed += ch;
      }
    };
    input.on('data', onData);
  });
}

/** Reads one line (the non-TTY case: `echo secret | im-client register ...`). */
function readLine(question: string, io: PromptIO): Promise<string> {
  return new Promise((resolve, reject) => {
    const rl = readline.createInterface({ input: io.input, terminal: false });
    let answered = false;
    io.output.write(question);
    rl.once('line', (line) => {
      answered = true;
      io.output.write('\n');
      rl.close();
      resolve(line);
    });
    rl.once('close', () => { if (!answered) reject(new Error('no password on standard input')); });
  });
}
