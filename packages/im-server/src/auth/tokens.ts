/**
 * Session tokens: 32 random bytes, base64url. Only their SHA-256 is stored, so a leaked database
 * does not yield usable tokens. A token login costs one indexed lookup instead of an scrypt.
 */
import { createHash, randomBytes } from 'node:crypto';

/** A fresh random token. */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** The stored form of a token. */
export function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
