/**
 * AccountStore on SQLite: accounts and session tokens (schema.sql user_account, session_token).
 */
import type Database from 'better-sqlite3';
import { RequestError } from '@hxim/im-common';
import type { Account, AccountStore, TokenRecord } from '../ports';
import { ACCOUNT_COLUMNS, rowToAccount, type AccountRow } from '../rows';
import { distinctIds, validateUserName } from '../validate';
import { settle } from './guard';

/** Accounts and tokens in the embedded database. Created by SqliteStore. */
export class SqliteAccountStore implements AccountStore {
  private readonly insAccount: Database.Statement<[string, string, number, number]>;
  private readonly selByName: Database.Statement<[string], AccountRow>;
  private readonly selExisting: Database.Statement<[string], { user_id: number }>;
  private readonly purgeTokens: Database.Statement<[number, number]>;
  private readonly upsertToken: Database.Statement<[string, number, number, number]>;
  private readonly selToken: Database.Statement<[string, number], { user_id: number; expires_at: number }>;
  private readonly delToken: Database.Statement<[string]>;

  /** @param db an open database with the schema applied. */
  constructor(db: Database.Database) {
    this.insAccount = db.prepare(
      'INSERT INTO user_account (user_name, password_hash, valid_status, created_at, updated_at) VALUES (?, ?, 1, ?, ?)');
    this.selByName = db.prepare(`SELECT ${ACCOUNT_COLUMNS} FROM user_account WHERE user_name = ?`);
    // json_each takes any number of ids in one prepared statement (no parameter-count limit).
    this.selExisting = db.prepare('SELECT user_id FROM user_account WHERE user_id IN (SELECT value FROM json_each(?))');
    this.purgeTokens = db.prepare('DELETE FROM session_token WHERE user_id = ? AND expires_at <= ?');
    this.upsertToken = db.prepare(
      'INSERT OR REPLACE INTO session_token (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)');
    this.selToken = db.prepare('SELECT user_id, expires_at FROM session_token WHERE token_hash = ? AND expires_at > ?');
    this.delToken = db.prepare('DELETE FROM session_token WHERE token_hash = ?');
  }

  /** Creates an account; RequestError USER_EXISTS if the name is taken. */
  createAccount(userName: string, passwordHash: string): Promise<Account> {
    return settle('createAccount', () => {
      validateUserName(userName);
      const now = Date.now();
      try {
        const r = this.insAccount.run(userName, passwordHash, now, now);
        return { userId: Number(r.lastInsertRowid), userName, passwordHash, createdAt: now };
      } catch (err) {
        if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
          throw new RequestError('USER_EXISTS', `user name "${userName}" is taken; choose another`, { cause: err });
        }
        throw err;
      }
    });
  }

  /** The account with this name, or null. */
  findByName(userName: string): Promise<Account | null> {
    return settle('findByName', () => {
      const r = this.selByName.get(userName);
      return r ? rowToAccount(r) : null;
    });
  }

  /** Which of these ids are registered accounts. */
  existingUsers(userIds: readonly number[]): Promise<Set<number>> {
    return settle('existingUsers', () => {
      const ids = distinctIds(userIds);
      if (ids.length === 0) return new Set<number>();
      return new Set(this.selExisting.all(JSON.stringify(ids)).map((r) => Number(r.user_id)));
    });
  }

  /** Stores a token hash; also purges the user's expired tokens so the table stays bounded. */
  saveToken(tokenHash: string, userId: number, expiresAt: number): Promise<void> {
    return settle('saveToken', () => {
      const now = Date.now();
      this.purgeTokens.run(userId, now);
      this.upsertToken.run(tokenHash, userId, now, expiresAt);
    });
  }

  /** The token record, or null if unknown or expired at `now`. */
  findToken(tokenHash: string, now: number): Promise<TokenRecord | null> {
    return settle('findToken', () => {
      const r = this.selToken.get(tokenHash, now);
      return r ? { userId: Number(r.user_id), expiresAt: Number(r.expires_at) } : null;
    });
  }

  /** Forgets a token (logout). */
  deleteToken(tokenHash: string): Promise<void> {
    return settle('deleteToken', () => {
      this.delToken.run(tokenHash);
    });
  }
}
