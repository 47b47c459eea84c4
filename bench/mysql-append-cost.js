#!/usr/bin/env node
'use strict';
/**
 * What one 1:1 append transaction costs MariaDB, statement by statement: the shape of the MySQL
 * store's one-packet fast path (business/src/mysql/append.ts), sent one transaction at a time
 * on one connection into a scratch database (hxim_mb, dropped at the end), with variants that
 * leave out one statement. Prints wall µs and mariadbd CPU-µs (/proc, 10 ms ticks) per
 * transaction. Needs MariaDB on 127.0.0.1 (root, no password).
 *
 *   node bench/mysql-append-cost.js
 */
const mysql = require('mysql2/promise');
const fs = require('fs');
const cpu = (pid) => { const r = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' '); return (Number(r[11]) + Number(r[12])) * 10; };
const MPID = Number(require('child_process').execSync('pgrep -f mariadbd').toString().trim().split('\n')[0]);
(async () => {
  const c = await mysql.createConnection({ host: '127.0.0.1', user: 'root', multipleStatements: true });
  await c.query('DROP DATABASE IF EXISTS hxim_mb; CREATE DATABASE hxim_mb; USE hxim_mb');
  await c.query(`CREATE TABLE conversation (conv_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY, conv_type TINYINT NOT NULL DEFAULT 0,
    last_seq BIGINT NOT NULL DEFAULT 0, last_msg_id BIGINT NOT NULL DEFAULT 0, last_sender_id BIGINT NOT NULL DEFAULT 0, last_time BIGINT NOT NULL DEFAULT 0, member_seq BIGINT NOT NULL DEFAULT 0, created_at BIGINT NOT NULL) ENGINE=InnoDB`);
  await c.query(`CREATE TABLE chat_message (server_msg_id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, conv_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL, seq BIGINT NOT NULL, sender_id BIGINT NOT NULL,
    client_msg_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL, recipient_id BIGINT NOT NULL, group_id BIGINT NOT NULL, msg_type TINYINT NOT NULL, body VARBINARY(8000) NOT NULL, client_time BIGINT NOT NULL, server_time BIGINT NOT NULL,
    UNIQUE KEY uk_msg_conv_seq (conv_id, seq), UNIQUE KEY uk_msg_sender_client (sender_id, client_msg_id)) ENGINE=InnoDB`);
  await c.query(`CREATE TABLE conversation_member (conv_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL, user_id BIGINT NOT NULL, ack_seq BIGINT NOT NULL DEFAULT 0, read_seq BIGINT NOT NULL DEFAULT 0, joined_at BIGINT NOT NULL, PRIMARY KEY (conv_id, user_id)) ENGINE=InnoDB`);
  const N = 3000;
  for (let p = 0; p < 100; p++) { const id = `p:${p * 2}:${p * 2 + 1}`; await c.query('INSERT INTO conversation (conv_id, created_at) VALUES (?, 0)', [id]); await c.query('INSERT INTO conversation_member VALUES (?,?,0,0,0),(?,?,0,0,0)', [id, p * 2, id, p * 2 + 1]); }
  const seqs = new Array(100).fill(0);
  const body = Buffer.alloc(100, 97);
  const variants = {
    full: (id, s, p, k) => [`START TRANSACTION`, `SELECT conv_id, member_seq FROM conversation WHERE conv_id IN ('${id}') ORDER BY conv_id FOR UPDATE`,
      `INSERT INTO chat_message (conv_id, seq, sender_id, client_msg_id, recipient_id, group_id, msg_type, body, client_time, server_time) VALUES ('${id}', ${s}, ${p * 2}, 'm${k}', ${p * 2 + 1}, 0, 0, X'${body.toString('hex')}', 0, 0)`,
      `INSERT INTO conversation (conv_id, conv_type, last_seq, last_msg_id, last_sender_id, last_time, created_at) VALUES ('${id}', 0, ${s}, LAST_INSERT_ID() + 0, ${p * 2}, 1, 1) ON DUPLICATE KEY UPDATE last_seq = GREATEST(last_seq, VALUES(last_seq)), last_msg_id = VALUES(last_msg_id), last_sender_id = VALUES(last_sender_id), last_time = VALUES(last_time)`,
      `INSERT INTO conversation_member (conv_id, user_id, ack_seq, read_seq, joined_at) VALUES ('${id}', ${p * 2}, ${s - 1}, ${s}, 1) ON DUPLICATE KEY UPDATE read_seq = GREATEST(read_seq, VALUES(read_seq))`,
      `COMMIT`].join(';\n'),
  };
  variants.noLock = (id, s, p, k) => variants.full(id, s, p, k).split(';\n').filter((x) => !x.startsWith('SELECT')).join(';\n');
  variants.noMember = (id, s, p, k) => variants.full(id, s, p, k).split(';\n').filter((x) => !x.startsWith('INSERT INTO conversation_member')).join(';\n');
  variants.insertOnly = (id, s, p, k) => [`START TRANSACTION`, variants.full(id, s, p, k).split(';\n')[2], 'COMMIT'].join(';\n');
  let k = 0;
  for (const name of ['full', 'noLock', 'noMember', 'insertOnly', 'full']) {
    const c0 = cpu(MPID); const t0 = Date.now();
    for (let i = 0; i < N; i++) { const p = i % 100; const s = ++seqs[p]; await c.query(variants[name](`p:${p * 2}:${p * 2 + 1}`, s, p, k++)); }
    const ms = Date.now() - t0; const cms = cpu(MPID) - c0;
    console.log(`${name.padEnd(11)} ${(ms * 1000 / N).toFixed(0)} µs wall/tx, mariadbd ${(cms * 1000 / N).toFixed(0)} CPU-µs/tx`);
  }
  await c.query('DROP DATABASE hxim_mb'); await c.end();
})();
