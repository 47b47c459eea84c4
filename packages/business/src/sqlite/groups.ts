/**
 * GroupStore on SQLite: each operation of ../groups/ops.ts runs synchronously inside one
 * IMMEDIATE transaction (the database's write lock is the group lock).
 */
import type Database from 'better-sqlite3';
import { groupConvId } from '@hxim/im-common';
import {
  applyToGroup, createGroup, decideApplication, dismissGroup, GROUP_READS, inviteMembers, kickMembers, leaveGroup,
  renameGroup, rowsToMemberList, rowToApplication, rowToGroup, rowToMember, setMaxMembers, setMemberRole, transferGroup,
  type GroupDialect, type GroupOp, type Row,
} from '../groups/ops';
import type { GroupApplication, GroupChange, GroupMemberList, GroupMemberRow, GroupRow, GroupStore } from '../groups/ports';
import { DEFAULT_MAX_NOTICES_PER_USER, noticeRecipients } from '../friends/notice-bound';
import { pageLimit } from '../rows';
import { pruneNotices } from './friends';
import { settle } from './guard';

/** SQLite's spelling of the statements that differ. */
export const SQLITE_GROUP_DIALECT: GroupDialect = { insertIgnore: 'INSERT OR IGNORE', forUpdate: '' };

/** Bound on cached prepared statements (multi-row INSERTs vary in length). */
const MAX_CACHED_STATEMENTS = 256;

/** Groups in the embedded database. Created by SqliteStore. */
export class SqliteGroupStore implements GroupStore {
  private readonly stmts = new Map<string, Database.Statement>();
  private readonly txn: <T>(fn: () => T) => T;

  /**
   * @param db an open database with the schema applied.
   * @param maxNoticesPerUser the notice bound (validated by parseSqliteOptions).
   */
  constructor(private readonly db: Database.Database, private readonly maxNoticesPerUser = DEFAULT_MAX_NOTICES_PER_USER) {
    const t = db.transaction((fn: () => unknown) => fn());
    this.txn = <T>(fn: () => T): T => t.immediate(fn) as T;
  }

  private stmt(sql: string): Database.Statement {
    let s = this.stmts.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      if (this.stmts.size < MAX_CACHED_STATEMENTS) this.stmts.set(sql, s);
    }
    return s;
  }

  /** Drives a group operation to completion inside one transaction. */
  private exec(what: string, make: (now: number) => GroupOp<GroupChange>): Promise<GroupChange> {
    return settle(what, () => this.txn(() => {
      const gen = make(Date.now());
      let step = gen.next();
      while (!step.done) {
        const op = step.value;
        const s = this.stmt(op.sql);
        if (op.kind === 'all') {
          step = gen.next(s.all(...op.values) as Row[]);
        } else {
          const r = s.run(...op.values);
          step = gen.next({ insertId: Number(r.lastInsertRowid), changes: r.changes });
        }
      }
      pruneNotices((sql) => this.stmt(sql), noticeRecipients(step.value.notices), this.maxNoticesPerUser);
      return step.value;
    }));
  }

  create(ownerId: number, name: string, memberIds: readonly number[], maxMembers: number): Promise<GroupChange> {
    return this.exec('group create', (now) => createGroup(SQLITE_GROUP_DIALECT, ownerId, name, memberIds, maxMembers, now));
  }
  rename(actorId: number, groupId: number, name: string): Promise<GroupChange> {
    return this.exec('group rename', (now) => renameGroup(SQLITE_GROUP_DIALECT, actorId, groupId, name, now));
  }
  invite(actorId: number, groupId: number, userIds: readonly number[]): Promise<GroupChange> {
    return this.exec('group invite', (now) => inviteMembers(SQLITE_GROUP_DIALECT, actorId, groupId, userIds, now));
  }
  leave(userId: number, groupId: number): Promise<GroupChange> {
    return this.exec('group leave', (now) => leaveGroup(SQLITE_GROUP_DIALECT, userId, groupId, now));
  }
  kick(actorId: number, groupId: number, userIds: readonly number[]): Promise<GroupChange> {
    return this.exec('group kick', (now) => kickMembers(SQLITE_GROUP_DIALECT, actorId, groupId, userIds, now));
  }
  dismiss(actorId: number, groupId: number): Promise<GroupChange> {
    return this.exec('group dismiss', (now) => dismissGroup(SQLITE_GROUP_DIALECT, actorId, groupId, now));
  }
  setRole(actorId: number, groupId: number, userId: number, role: number): Promise<GroupChange> {
    return this.exec('group role', (now) => setMemberRole(SQLITE_GROUP_DIALECT, actorId, groupId, userId, role, now));
  }
  transfer(actorId: number, groupId: number, userId: number): Promise<GroupChange> {
    return this.exec('group transfer', (now) => transferGroup(SQLITE_GROUP_DIALECT, actorId, groupId, userId, now));
  }
  setMaxMembers(actorId: number, groupId: number, maxMembers: number, cap: number): Promise<GroupChange> {
    return this.exec('group max', (now) => setMaxMembers(SQLITE_GROUP_DIALECT, actorId, groupId, maxMembers, cap, now));
  }
  apply(userId: number, groupId: number, message: string): Promise<GroupChange> {
    return this.exec('group apply', (now) => applyToGroup(SQLITE_GROUP_DIALECT, userId, groupId, message, now));
  }
  decide(actorId: number, groupId: number, applicantId: number, approve: boolean): Promise<GroupChange> {
    return this.exec('group decide', (now) => decideApplication(SQLITE_GROUP_DIALECT, actorId, groupId, applicantId, approve, now));
  }

  applications(groupId: number, limit: number): Promise<GroupApplication[]> {
    return settle('group applications', () => (this.stmt(GROUP_READS.applications).all(groupId, pageLimit(limit)) as Row[]).map(rowToApplication));
  }
  get(groupId: number): Promise<GroupRow | null> {
    return settle('group get', () => {
      const r = this.stmt(GROUP_READS.get).get(groupId) as Row | undefined;
      return r ? rowToGroup(r) : null;
    });
  }
  roleOf(groupId: number, userId: number): Promise<number | null> {
    return settle('group role', () => {
      const r = this.stmt(GROUP_READS.role).get(groupId, userId) as Row | undefined;
      return r ? Number(r.member_role) : null;
    });
  }
  memberIds(groupId: number): Promise<number[]> {
    return settle('group memberIds', () => {
      const s = this.stmt(GROUP_READS.memberIds).raw(true);
      const out = (s.all(groupId) as unknown[][]).map((r) => Number(r[0]));
      s.raw(false);
      return out;
    });
  }
  memberList(groupId: number): Promise<GroupMemberList> {
    return settle('group memberList', () => rowsToMemberList(this.stmt(GROUP_READS.memberList).all(groupId, groupConvId(groupId)) as Row[]));
  }
  members(groupId: number, afterId: number, limit: number): Promise<GroupMemberRow[]> {
    return settle('group members', () =>
      (this.stmt(GROUP_READS.members).all(groupConvId(groupId), groupId, afterId, pageLimit(limit)) as Row[]).map(rowToMember));
  }
  readers(groupId: number, seq: number, limit: number): Promise<{ count: number; members: GroupMemberRow[] }> {
    return settle('group readers', () => {
      const conv = groupConvId(groupId);
      const count = Number((this.stmt(GROUP_READS.readCount).get(conv, seq) as Row).n);
      const n = pageLimit(limit);
      const members = n === 0 ? [] : (this.stmt(GROUP_READS.readers).all(conv, groupId, seq, n) as Row[]).map(rowToMember);
      return { count, members };
    });
  }
}
