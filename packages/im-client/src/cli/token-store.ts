/**
 * Saved session tokens: ~/.hxim/<server>-<user>.token, directory 0700, file 0600, so a later
 * `chat` logs in without the password. The token is a credential: never printed, never logged.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ServerAddress } from '../options';

/** Where the token of `user` on `server` is saved. Unsafe characters become "_". */
export function tokenPath(server: ServerAddress, user: string, home = os.homedir()): string {
  const safe = (s: string): string => s.replace(/[^A-Za-z0-9._-]/g, '_');
  return path.join(home, '.hxim', `${safe(`${server.host}_${server.port}`)}-${safe(user)}.token`);
}

/** Reads a token file; null if it does not exist. Throws for other errors (with the path). */
export function readToken(file: string): string | null {
  try {
    const token = fs.readFileSync(file, 'utf8').trim();
    return token.length > 0 ? token : null;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Error(`cannot read the token file ${file}: ${(err as Error).message}`, { cause: err });
  }
}

/** Writes a token with mode 0600 (tightening an existing file), creating the directory 0700. */
export function saveToken(file: string, token: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.writeFileSync(file, token + '\n', { mode: 0o600 });
  fs.chmodSync(file, 0o600);
}

/** Deletes a saved token (it was refused). Missing is fine. */
export function removeToken(file: string): void {
  fs.rmSync(file, { force: true });
}
