-- hxim schema for MySQL / MariaDB 10.11 (InnoDB, utf8mb4).
--
-- Applied by MysqlStore on start (openMysqlStore({applySchema: true}), the default) and safe to
-- apply again: every statement is CREATE TABLE IF NOT EXISTS or, at the end, an ALTER TABLE ...
-- ADD COLUMN IF NOT EXISTS that brings an older database up to date. The embedded SQLite store uses the
-- same tables, columns and keys (packages/business/src/sqlite/schema.ts), except that it keeps
-- the (sender_id, client_msg_id) key in two extra tables instead of an index (the reason is in
-- that file); a unit test (packages/business/test/schema-sync.test.ts) fails when they drift.
--
-- Conventions, and why:
-- * Every time is BIGINT milliseconds since the epoch, like ChatMessage.timeStamp on the wire
--   (seed.md §1.3). No DATETIME: no time-zone conversion, and SQLite stores the same numbers.
-- * Every user, group and message id is BIGINT. The seed used int(11) and cast ids to Java int
--   (seed.md §1.4); the wire carries int64.
-- * Conversation ids are "p:<low>:<high>" and "g:<groupId>" (im-common conv.ts), ASCII only,
--   compared byte for byte. The seed stored the constant session id "test" (seed.md §2.1).
-- * Client message ids use utf8mb4_nopad_bin (MariaDB): byte-exact and NO PAD, so "a" and "a "
--   are two different ids, exactly as in SQLite. With a PAD SPACE collation they would collide
--   on the unique key and one client could make a whole group-commit batch fail.
-- * The loader (packages/business/src/mysql/schema.ts) drops full-line "--" comments and splits
--   at semicolons that end a line, so no line inside a statement may end with a semicolon.

-- user_account. Fixes from the seed (seed.md §2.1): the password was stored in plain text
-- (now only an scrypt hash, "scrypt$N$r$p$salt$hash"); there were two ids (id and user_id) and
-- user_name had no unique key, so two accounts could share a name. Now user_id is the one
-- auto-increment key and user_name is unique (case-sensitive, like SQLite's BINARY collation).
CREATE TABLE IF NOT EXISTS user_account (
  user_id        BIGINT       NOT NULL AUTO_INCREMENT,
  user_name      VARCHAR(64)  CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  password_hash  VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  valid_status   TINYINT      NOT NULL DEFAULT 1,
  created_at     BIGINT       NOT NULL,
  updated_at     BIGINT       NOT NULL,
  PRIMARY KEY (user_id),
  UNIQUE KEY uk_user_name (user_name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- session_token. New: the seed had no sessions, so every login re-sent the plain password.
-- Only the token's SHA-256 is kept, so a database leak does not leak live sessions. The
-- user_id index serves "log out everywhere" and the purge of a user's expired tokens.
CREATE TABLE IF NOT EXISTS session_token (
  token_hash     VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  user_id        BIGINT       NOT NULL,
  created_at     BIGINT       NOT NULL,
  expires_at     BIGINT       NOT NULL,
  PRIMARY KEY (token_hash),
  KEY idx_token_user (user_id, expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=ascii COLLATE=ascii_bin;

-- conversation. Replaces the seed's free-text session_id (always "test") with a real id, and
-- holds the per-conversation sequence: last_seq is the highest seq handed out, so
-- unread = last_seq - member.read_seq (DESIGN.md, OpenIM) instead of the seed's drifting
-- unRead_num counter. Appends lock this row (SELECT ... FOR UPDATE) to assign seqs, which
-- keeps seqs gap-free and unique when several server instances write at once.
-- conv_type: 0 = private, 1 = group (the seed's session_type values).
-- member_seq (groups): the seq of the latest membership change (join/leave/kick/dismiss SYSTEM
-- message), written with it under this row's lock. Appends read it under the same lock, so a
-- group send knows how new a member list must be to fan it out (no kicked member gets it).
CREATE TABLE IF NOT EXISTS conversation (
  conv_id        VARCHAR(64)  CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  conv_type      TINYINT      NOT NULL DEFAULT 0,
  last_seq       BIGINT       NOT NULL DEFAULT 0,
  last_msg_id    BIGINT       NOT NULL DEFAULT 0,
  last_sender_id BIGINT       NOT NULL DEFAULT 0,
  last_time      BIGINT       NOT NULL DEFAULT 0,
  created_at     BIGINT       NOT NULL,
  member_seq     BIGINT       NOT NULL DEFAULT 0,
  PRIMARY KEY (conv_id)
) ENGINE=InnoDB DEFAULT CHARSET=ascii COLLATE=ascii_bin;

-- conversation_member. Replaces the seed's user_contact_list (one row per user per session,
-- no unique key, no index on user_id, an unRead_num counter). Two cursors per member: ack_seq
-- (delivered) and read_seq (read). Both only move forward. The primary key makes membership
-- unique; (user_id, conv_id) serves "my conversations" and the login catch-up (lagging()).
CREATE TABLE IF NOT EXISTS conversation_member (
  conv_id        VARCHAR(64)  CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  user_id        BIGINT       NOT NULL,
  ack_seq        BIGINT       NOT NULL DEFAULT 0,
  read_seq       BIGINT       NOT NULL DEFAULT 0,
  joined_at      BIGINT       NOT NULL,
  PRIMARY KEY (conv_id, user_id),
  KEY idx_member_user (user_id, conv_id)
) ENGINE=InnoDB DEFAULT CHARSET=ascii COLLATE=ascii_bin;

-- chat_message. Replaces the seed's chat_message_detail: content varchar(200) truncated bodies
-- and the message id was not unique. Now:
-- * body is the raw bytes (ChatMessage.msgBody is `bytes`, seed.md §1.3), any size the server
--   allows, byte-exact;
-- * UNIQUE (conv_id, seq): the per-conversation order the delivery contract relies on;
-- * UNIQUE (sender_id, client_msg_id): the idempotency key, so a resend returns the original
--   ack and is never stored twice (DESIGN.md "Client and server ids");
-- * a group message is stored once (group_id set, recipient_id 0), never once per member;
-- * per-recipient is_read/status flags are gone: read state is the member's read_seq.
CREATE TABLE IF NOT EXISTS chat_message (
  server_msg_id  BIGINT       NOT NULL AUTO_INCREMENT,
  conv_id        VARCHAR(64)  CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  seq            BIGINT       NOT NULL,
  sender_id      BIGINT       NOT NULL,
  client_msg_id  VARCHAR(64)  CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin NOT NULL,
  recipient_id   BIGINT       NOT NULL DEFAULT 0,
  group_id       BIGINT       NOT NULL DEFAULT 0,
  msg_type       SMALLINT     NOT NULL DEFAULT 0,
  body           MEDIUMBLOB   NOT NULL,
  client_time    BIGINT       NOT NULL DEFAULT 0,
  server_time    BIGINT       NOT NULL,
  PRIMARY KEY (server_msg_id),
  UNIQUE KEY uk_msg_conv_seq (conv_id, seq),
  UNIQUE KEY uk_msg_sender_client (sender_id, client_msg_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- friend_apply. Replaces the seed's user_apply (schema only for now; the friends issue adds the
-- code). The seed had no index on (user_id, receive_id), so anyone could file the same request
-- any number of times. pending_key is 1 while the request is pending and NULL afterwards; NULLs
-- never collide in a unique key, so at most one pending request exists per
-- (applicant, target, type) while any number of decided ones are kept as history.
-- apply_type: 0 = friend, 1 = join group. apply_status: 0 = pending, 1 = accepted, 2 = rejected
-- (the seed's values).
CREATE TABLE IF NOT EXISTS friend_apply (
  apply_id       BIGINT       NOT NULL AUTO_INCREMENT,
  applicant_id   BIGINT       NOT NULL,
  target_id      BIGINT       NOT NULL,
  apply_type     TINYINT      NOT NULL DEFAULT 0,
  apply_status   TINYINT      NOT NULL DEFAULT 0,
  apply_message  VARCHAR(200) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL DEFAULT '',
  pending_key    TINYINT      AS (CASE WHEN apply_status = 0 THEN 1 ELSE NULL END) STORED,
  created_at     BIGINT       NOT NULL,
  updated_at     BIGINT       NOT NULL,
  PRIMARY KEY (apply_id),
  UNIQUE KEY uk_apply_pending (applicant_id, target_id, apply_type, pending_key),
  KEY idx_apply_target (target_id, apply_status)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- friendship. Replaces the friend rows the seed kept in user_contact_list. One row per
-- direction, so "my friends" is a primary-key prefix scan and the pair is unique by construction.
CREATE TABLE IF NOT EXISTS friendship (
  user_id        BIGINT       NOT NULL,
  friend_id      BIGINT       NOT NULL,
  created_at     BIGINT       NOT NULL,
  PRIMARY KEY (user_id, friend_id)
) ENGINE=InnoDB DEFAULT CHARSET=ascii COLLATE=ascii_bin;

-- friend_pair. New: one row per pair of users who ever had a friend operation, (user_lo < user_hi).
-- It holds no state; it is the pair's lock. Every friend transaction (apply, accept, reject,
-- remove, block, unblock) first upserts it (INSERT ... ON DUPLICATE KEY UPDATE takes its row
-- lock), so all operations on one pair run one after the other on every instance: two crossing
-- applications become one friendship, two racing accepts insert the friendship rows once. The
-- seed had no such guard (seed.md §5: repeated accepts duplicated contact rows).
CREATE TABLE IF NOT EXISTS friend_pair (
  user_lo        BIGINT       NOT NULL,
  user_hi        BIGINT       NOT NULL,
  updated_at     BIGINT       NOT NULL,
  PRIMARY KEY (user_lo, user_hi)
) ENGINE=InnoDB DEFAULT CHARSET=ascii COLLATE=ascii_bin;

-- user_block. New: user_id blocked blocked_id. While a row exists in either direction the two
-- cannot apply to each other nor send 1:1 chats (BLOCKED). The primary key makes a block unique;
-- blocked_id lookups ("who blocked me") are never needed, a pair check reads both keys.
CREATE TABLE IF NOT EXISTS user_block (
  user_id        BIGINT       NOT NULL,
  blocked_id     BIGINT       NOT NULL,
  created_at     BIGINT       NOT NULL,
  PRIMARY KEY (user_id, blocked_id)
) ENGINE=InnoDB DEFAULT CHARSET=ascii COLLATE=ascii_bin;

-- user_notice. New: notifications waiting to be acknowledged (Notification frames with a
-- noticeId, docs/protocol.md §9). A row is written in the same transaction as the change it
-- reports (an application, an accept, ...), pushed at once to the user's online devices, sent
-- again after every LoginAck until one device acks it (NotificationAck), then deleted. So a user
-- who was offline is told at the next login, and nothing is lost if a push is. kind: the
-- Notification.NoticeKind value; ref_id: the application id; body: the application's note.
-- Bounded per user: a transaction that inserts notices deletes its recipients' oldest beyond
-- maxNoticesPerUser (--max-notices-per-user, default 500) over idx_notice_user.
CREATE TABLE IF NOT EXISTS user_notice (
  notice_id      BIGINT       NOT NULL AUTO_INCREMENT,
  user_id        BIGINT       NOT NULL,
  kind           TINYINT      NOT NULL,
  from_user_id   BIGINT       NOT NULL DEFAULT 0,
  ref_id         BIGINT       NOT NULL DEFAULT 0,
  conv_id        VARCHAR(64)  CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT '',
  body           VARCHAR(200) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL DEFAULT '',
  created_at     BIGINT       NOT NULL,
  PRIMARY KEY (notice_id),
  KEY idx_notice_user (user_id, notice_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- im_group. New (issue 5; the seed had no groups). One row per group; its conversation is
-- "g:<group_id>". member_count and max_members are checked and updated under this row's lock
-- (SELECT ... FOR UPDATE), which every membership change takes first, so the size limit holds
-- with any number of instances. A dismissed group keeps its row (and its history) with
-- dismissed = 1 and no members.
CREATE TABLE IF NOT EXISTS im_group (
  group_id       BIGINT       NOT NULL AUTO_INCREMENT,
  group_name     VARCHAR(64)  CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  owner_id       BIGINT       NOT NULL,
  max_members    INT          NOT NULL DEFAULT 10000,
  member_count   INT          NOT NULL DEFAULT 0,
  dismissed      TINYINT      NOT NULL DEFAULT 0,
  created_at     BIGINT       NOT NULL,
  updated_at     BIGINT       NOT NULL,
  PRIMARY KEY (group_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- group_member. New (issue 5): one row per member with its role (0 member, 1 admin, 2 owner).
-- The read and delivered cursors are not here: they are the member's conversation_member row
-- of "g:<group_id>", created and deleted together with this row, so unread, the conversation
-- list and catch-up treat groups exactly like 1:1 conversations. (user_id, group_id) serves
-- "my groups".
CREATE TABLE IF NOT EXISTS group_member (
  group_id       BIGINT       NOT NULL,
  user_id        BIGINT       NOT NULL,
  member_role    TINYINT      NOT NULL DEFAULT 0,
  joined_at      BIGINT       NOT NULL,
  PRIMARY KEY (group_id, user_id),
  KEY idx_group_member_user (user_id, group_id)
) ENGINE=InnoDB DEFAULT CHARSET=ascii COLLATE=ascii_bin;

-- Upgrades of databases created by an earlier version: CREATE TABLE IF NOT EXISTS leaves an
-- existing table as it is, so a column added later is also added here (appended last, where the
-- CREATE TABLE above has it too). Idempotent: with the column present MariaDB only notes it
-- (1060) and takes no lock that would wait for running transactions.
ALTER TABLE conversation ADD COLUMN IF NOT EXISTS member_seq BIGINT NOT NULL DEFAULT 0;
