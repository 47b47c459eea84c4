/**
 * The chat screen: a readline prompt plus output printed above it. Printing clears the line being
 * typed, writes the text, and redraws the prompt with what was typed so far, so an incoming
 * message never garbles the input. Without a TTY (piped stdin) it is plain line I/O.
 */
import * as readline from 'node:readline';

/** Streams a {@link Terminal} works on. */
export interface TerminalIO {
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
  /** Interactive: prompt, line editing, redraw. Default: output is a TTY. */
  interactive?: boolean;
}

/** Prompted line input with asynchronous output above the prompt. */
export class Terminal {
  private readonly rl: readline.Interface;
  private readonly output: NodeJS.WritableStream;
  /** True when prompting and redrawing (a TTY). */
  readonly interactive: boolean;
  private closed = false;

  constructor(io: TerminalIO) {
    this.output = io.output;
    this.interactive = io.interactive ?? Boolean((io.output as NodeJS.WriteStream).isTTY);
    this.rl = readline.createInterface({
      input: io.input, output: io.output, terminal: this.interactive, prompt: '> ', historySize: 200,
    });
    this.rl.on('close', () => { this.closed = true; });
  }

  /** Calls `handler` for every line typed (or piped). */
  onLine(handler: (line: string) => void): void {
    this.rl.on('line', handler);
  }

  /** Calls `handler` at end of input (Ctrl-D, or the pipe closed) and on Ctrl-C. */
  onEnd(handler: () => void): void {
    this.rl.on('close', handler);
    this.rl.on('SIGINT', handler);
  }

  /** Sets the prompt text and redraws it. */
  setPrompt(text: string): void {
    this.rl.setPrompt(text);
    if (this.interactive && !this.closed) this.rl.prompt(true);
  }

  /** Shows the prompt (after a line was handled). */
  prompt(): void {
    if (this.interactive && !this.closed) this.rl.prompt(true);
  }

  /** Prints `text` (one or more lines) above the prompt, keeping what the user is typing. */
  print(text: string): void {
    if (!this.interactive || this.closed) {
      this.output.write(text + '\n');
      return;
    }
    readline.clearLine(this.output, 0);
    readline.cursorTo(this.output, 0);
    this.output.write(text + '\n');
    this.rl.prompt(true);
  }

  /** Stops reading input. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.interactive) {
      readline.clearLine(this.output, 0);
      readline.cursorTo(this.output, 0);
    }
    this.rl.close();
  }
}
