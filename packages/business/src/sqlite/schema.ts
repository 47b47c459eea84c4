/**
 * The embedded store's schema: the same tables and columns as the repository's schema.sql
 * (MySQL/MariaDB), written in SQLite's dialect. test/schema-sync.test.ts compares the two, so a
 * column added on one side only fails the build's tests. The reasons behind each table (what it
 * fixes from the seed, seed.md §2.1) are commented in schema.sql and not repeated here.
 *
 * Dialect differences, all deliberate:
 * - INTEGER PRIMARY KEY AUTOINCREMENT is SQLite's rowid that never reuses an id, like InnoDB's
 *   AUTO_INCREMENT. chat_message relies on it: the dedup merge watermark (sqlite/dedup.ts)
 *   assumes every new server_msg_id is above every earlier one, even if the newest messages
 *   were ever deleted. It costs about 0.3 us per message (one sqlite_sequence update).
 * - TEXT compares with the BINARY collation (byte-exact, no padding), which is what the MySQL
 *   side gets from *_bin / utf8mb4_nopad_bin.
 * - Secondary indexes are separate CREATE INDEX statements with the same names as the KEYs.
 * - UNIQUE (sender_id, client_msg_id) is not an index on chat_message here. Client ids are
 *   random (im-client's randomId()), so such an index puts every insert on a random B-tree leaf:
 *   about one dirty 4 KiB page per message in every WAL commit, which measured 3x slower than
 *   everything else an append does together. The key is kept instead by sqlite/dedup.ts: recent
 *   messages in memory (rebuilt from chat_message on open), older ones in chat_dedup, merged in
 *   sorted bulk so each leaf is written once per merge. Same rule, same answers; only the
 *   physical layout differs, and the schema-sync test lists these two SQLite-only tables.
 */
import type Database from 'better-sqlite3';

export const SQLITE_SCHEMA = `
CREATE TABLE IF NOT EXISTS user_account (
  user_id        INTEGER PRIMARY KEY AUTOINCREMENT,
  user_name      TEXT    NOT NULL,
  password_hash  TEXT    NOT NULL,
  valid_status   INTEGER NOT NULL DEFAULT 1,
  created_at     INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS uk_user_name ON user_account (user_name);

CREATE TABLE IF NOT EXISTS session_token (
  token_hash     TEXT    NOT NULL PRIMARY KEY,
  user_id        INTEGER NOT NULL,
  created_at     INTEGER NOT NULL,
  expires_at     INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idx_token_user ON session_token (user_id, expires_at);

CREATE TABLE IF NOT EXISTS conversation (
  conv_id        TEXT    NOT NULL PRIMARY KEY,
  conv_type      INTEGER NOT NULL DEFAULT 0,
  last_seq       INTEGER NOT NULL DEFAULT 0,
  last_msg_id    INTEGER NOT NULL DEFAULT 0,
  last_sender_id INTEGER NOT NULL DEFAULT 0,
  last_time      INTEGER NOT NULL DEFAULT 0,
  created_at     INTEGER NOT NULL,
  member_seq     INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS conversation_member (
  conv_id        TEXT    NOT NULL,
  user_id        INTEGER NOT NULL,
  ack_seq        INTEGER NOT NULL DEFAULT 0,
  read_seq       INTEGER NOT NULL DEFAULT 0,
  joined_at      INTEGER NOT NULL,
  PRIMARY KEY (conv_id, user_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idx_member_user ON conversation_member (user_id, conv_id);

CREATE TABLE IF NOT EXISTS chat_message (
  server_msg_id  INTEGER PRIMARY KEY AUTOINCREMENT,
  conv_id        TEXT    NOT NULL,
  seq            INTEGER NOT NULL,
  sender_id      INTEGER NOT NULL,
  client_msg_id  TEXT    NOT NULL,
  recipient_id   INTEGER NOT NULL DEFAULT 0,
  group_id       INTEGER NOT NULL DEFAULT 0,
  msg_type       INTEGER NOT NULL DEFAULT 0,
  body           BLOB    NOT NULL,
  client_time    INTEGER NOT NULL DEFAULT 0,
  server_time    INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS uk_msg_conv_seq ON chat_message (conv_id, seq);

-- SQLite only: the merged part of the (sender_id, client_msg_id) unique key (see sqlite/dedup.ts).
CREATE TABLE IF NOT EXISTS chat_dedup (
  sender_id      INTEGER NOT NULL,
  client_msg_id  TEXT    NOT NULL,
  server_msg_id  INTEGER NOT NULL,
  PRIMARY KEY (sender_id, client_msg_id)
) WITHOUT ROWID;

-- SQLite only: small named counters (the dedup merge watermark).
CREATE TABLE IF NOT EXISTS store_meta (
  name           TEXT    NOT NULL PRIMARY KEY,
  value          INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS friend_apply (
  apply_id       INTEGER PRIMARY KEY AUTOINCREMENT,
  applicant_id   INTEGER NOT NULL,
  target_id      INTEGER NOT NULL,
  apply_type     INTEGER NOT NULL DEFAULT 0,
  apply_status   INTEGER NOT NULL DEFAULT 0,
  apply_message  TEXT    NOT NULL DEFAULT '',
  pending_key    INTEGER GENERATED ALWAYS AS (CASE WHEN apply_status = 0 THEN 1 ELSE NULL END) STORED,
  created_at     INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS uk_apply_pending ON friend_apply (applicant_id, target_id, apply_type, pending_key);
CREATE INDEX IF NOT EXISTS idx_apply_target ON friend_apply (target_id, apply_status);

CREATE TABLE IF NOT EXISTS friendship (
  user_id        INTEGER NOT NULL,
  friend_id      INTEGER NOT NULL,
  created_at     INTEGER NOT NULL,
  PRIMARY KEY (user_id, friend_id)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS friend_pair (
  user_lo        INTEGER NOT NULL,
  user_hi        INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL,
  PRIMARY KEY (user_lo, user_hi)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS user_block (
  user_id        INTEGER NOT NULL,
  blocked_id     INTEGER NOT NULL,
  created_at     INTEGER NOT NULL,
  PRIMARY KEY (user_id, blocked_id)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS user_notice (
  notice_id      INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id        INTEGER NOT NULL,
  kind           INTEGER NOT NULL,
  from_user_id   INTEGER NOT NULL DEFAULT 0,
  ref_id         INTEGER NOT NULL DEFAULT 0,
  conv_id        TEXT    NOT NULL DEFAULT '',
  body           TEXT    NOT NULL DEFAULT '',
  created_at     INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_notice_user ON user_notice (user_id, notice_id);
CREATE TABLE IF NOT EXISTS im_group (
  group_id       INTEGER PRIMARY KEY AUTOINCREMENT,
  group_name     TEXT    NOT NULL,
  owner_id       INTEGER NOT NULL,
  max_members    INTEGER NOT NULL DEFAULT 10000,
  member_count   INTEGER NOT NULL DEFAULT 0,
  dismissed      INTEGER NOT NULL DEFAULT 0,
  created_at     INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS group_member (
  group_id       INTEGER NOT NULL,
  user_id        INTEGER NOT NULL,
  member_role    INTEGER NOT NULL DEFAULT 0,
  joined_at      INTEGER NOT NULL,
  PRIMARY KEY (group_id, user_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idx_group_member_user ON group_member (user_id, group_id);
`;

/**
 * Columns added after a table was first released, as in schema.sql's closing ALTER TABLE ... ADD
 * COLUMN IF NOT EXISTS statements (the schema-sync test checks both lists match): SQLite has no
 * IF NOT EXISTS for columns, so {@link applySqliteSchema} adds each one that is missing.
 */
export const SQLITE_ADDED_COLUMNS: ReadonlyArray<{ table: string; column: string; definition: string }> = [
  { table: 'conversation', column: 'member_seq', definition: 'INTEGER NOT NULL DEFAULT 0' },
];

/** Creates missing tables and indexes and adds missing columns (idempotent). */
export function applySqliteSchema(db: Database.Database): void {
  db.exec(SQLITE_SCHEMA);
  for (const c of SQLITE_ADDED_COLUMNS) {
    const has = db.prepare('SELECT 1 FROM pragma_table_xinfo(?) WHERE name = ?').get(c.table, c.column);
    if (!has) db.exec(`ALTER TABLE ${c.table} ADD COLUMN ${c.column} ${c.definition}`);
  }
}
