/**
 * AccountStore on MySQL/MariaDB: accounts and session tokens (schema.sql user_account,
 * session_token). Every call runs under the store's deadline (db.ts).
 */
import { RequestError } from '@hxim/im-common';
import type { Account, AccountStore, TokenRecord } from '../ports';
import { ACCOUNT_COLUMNS, rowToAccount, type AccountRow } from '../rows';
import { distinctIds, validateUserName } from '../validate';
import { ER, errnoOf, type MysqlDb } from './db';

interface InsertResult {
  insertId: number;
}

/** Accounts and tokens in MySQL. Created by MysqlStore. */
export class MysqlAccountStore implements AccountStore {
  /** @param db the store's pool. */
  constructor(private readonly db: MysqlDb) {}

  /** Creates an account; RequestError USER_EXISTS if the name is taken (unique key). */
  async createAccount(userName: string, passwordHash: string): Promise<Account> {
    validateUserName(userName);
    const now = Date.now();
    return this.db.run('createAccount', async (c) => {
      try {
        const r = await c.query<InsertResult>(
          'INSERT INTO user_account (user_name, password_hash, valid_status, created_at, updated_at) VALUES (?, ?, 1, ?, ?)',
          [userName, passwordHash, now, now]);
        return { userId: Number(r.insertId), userName, passwordHash, createdAt: now };
      } catch (err) {
        if (errnoOf(err) === ER.DUP_ENTRY) {
          throw new RequestError('USER_EXISTS', `user name "${userName}" is taken; choose another`, { cause: err });
        }
        throw err;
      }
    });
  }

  /** The account with this name, or null. */
  findByName(userName: string): Promise<Account | null> {
    return this.db.run('findByName', async (c) => {
      const rows = await c.query<AccountRow[]>(`SELECT ${ACCOUNT_COLUMNS} FROM user_account WHERE user_name = ?`, [userName]);
      return rows.length > 0 ? rowToAccount(rows[0]) : null;
    });
  }

  /** Which of these ids are registered accounts. */
  async existingUsers(userIds: readonly number[]): Promise<Set<number>> {
    const ids = distinctIds(userIds);
    if (ids.length === 0) return new Set();
    return this.db.run('existingUsers', async (c) => {
      const rows = await c.query<Array<{ user_id: number }>>('SELECT user_id FROM user_account WHERE user_id IN (?)', [ids]);
      return new Set(rows.map((r) => Number(r.user_id)));
    });
  }

  /** Stores a token hash; also purges the user's expired tokens so the table stays bounded. */
  saveToken(tokenHash: string, userId: number, expiresAt: number): Promise<void> {
    const now = Date.now();
    return this.db.run('saveToken', async (c) => {
      await c.script([
        { sql: 'DELETE FROM session_token WHERE user_id = ? AND expires_at <= ?', values: [userId, now] },
        {
          sql: `INSERT INTO session_token (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)
            ON DUPLICATE KEY UPDATE user_id = VALUES(user_id), created_at = VALUES(created_at), expires_at = VALUES(expires_at)`,
          values: [tokenHash, userId, now, expiresAt],
        },
      ]);
    });
  }

  /** The token record, or null if unknown or expired at `now`. */
  findToken(tokenHash: string, now: number): Promise<TokenRecord | null> {
    return this.db.run('findToken', async (c) => {
      const rows = await c.query<Array<{ user_id: number; expires_at: number }>>(
        'SELECT user_id, expires_at FROM session_token WHERE token_hash = ? AND expires_at > ?', [tokenHash, now]);
      return rows.length > 0 ? { userId: Number(rows[0].user_id), expiresAt: Number(rows[0].expires_at) } : null;
    });
  }

  /** Forgets a token (logout). */
  deleteToken(tokenHash: string): Promise<void> {
    return this.db.run('deleteToken', async (c) => {
      await c.query('DELETE FROM session_token WHERE token_hash = ?', [tokenHash]);
    });
  }
}
