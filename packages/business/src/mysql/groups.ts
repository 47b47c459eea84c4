/**
 * GroupStore on MySQL/MariaDB: each operation of ../groups/ops.ts runs inside START TRANSACTION
 * … COMMIT on one pooled connection, one statement per round trip (group operations are rare;
 * multi-row INSERTs keep a 2,000-member create to a few round trips). The group row's
 * SELECT … FOR UPDATE serialises the operations on one group across instances; a deadlock
 * (InnoDB picked this transaction as the victim) is retried by MysqlDb.transaction.
 */
import { groupConvId } from '@hxim/im-common';
import {
  applyToGroup, createGroup, decideApplication, dismissGroup, GROUP_READS, inviteMembers, kickMembers, leaveGroup,
  renameGroup, rowsToMemberList, rowToApplication, rowToGroup, rowToMember, setMaxMembers, setMemberRole, transferGroup,
  type GroupDialect, type GroupOp, type Row,
} from '../groups/ops';
import type { GroupApplication, GroupChange, GroupMemberList, GroupMemberRow, GroupRow, GroupStore } from '../groups/ports';
import { DEFAULT_MAX_NOTICES_PER_USER, noticeRecipients } from '../friends/notice-bound';
import { pageLimit } from '../rows';
import { ER, errnoOf, type MysqlDb } from './db';
import { pruneNoticeStmts } from './friends';

/** MySQL's spelling of the statements that differ. */
export const MYSQL_GROUP_DIALECT: GroupDialect = { insertIgnore: 'INSERT IGNORE', forUpdate: ' FOR UPDATE' };

interface Header { insertId: number; affectedRows: number }

/** Groups in MySQL. Created by MysqlStore. */
export class MysqlGroupStore implements GroupStore {
  /**
   * @param db the store's pool.
   * @param maxNoticesPerUser the notice bound (validated by parseMysqlOptions).
   */
  constructor(private readonly db: MysqlDb, private readonly maxNoticesPerUser = DEFAULT_MAX_NOTICES_PER_USER) {}

  /** Drives a group operation to completion inside one transaction (retried on deadlock). */
  private exec(what: string, make: (now: number) => GroupOp<GroupChange>): Promise<GroupChange> {
    return this.db.transaction(what, async (c) => {
      await c.query('START TRANSACTION');
      const gen = make(Date.now());
      let step = gen.next();
      while (!step.done) {
        const op = step.value;
        const res = await c.query<Row[] | Header>(op.sql, op.values);
        if (op.kind === 'all') step = gen.next(res as Row[]);
        else step = gen.next({ insertId: Number((res as Header).insertId), changes: Number((res as Header).affectedRows) });
      }
      await c.script([...pruneNoticeStmts(noticeRecipients(step.value.notices), this.maxNoticesPerUser), { sql: 'COMMIT' }]);
      return step.value;
    }, (err) => errnoOf(err) === ER.LOCK_DEADLOCK);
  }

  private read<T>(what: string, fn: (q: (sql: string, values: unknown[]) => Promise<Row[]>) => Promise<T>): Promise<T> {
    return this.db.run(what, (c) => fn((sql, values) => c.query<Row[]>(sql, values)));
  }

  create(ownerId: number, name: string, memberIds: readonly number[], maxMembers: number): Promise<GroupChange> {
    return this.exec('group create', (now) => createGroup(MYSQL_GROUP_DIALECT, ownerId, name, memberIds, maxMembers, now));
  }
  rename(actorId: number, groupId: number, name: string): Promise<GroupChange> {
    return this.exec('group rename', (now) => renameGroup(MYSQL_GROUP_DIALECT, actorId, groupId, name, now));
  }
  invite(actorId: number, groupId: number, userIds: readonly number[]): Promise<GroupChange> {
    return this.exec('group invite', (now) => inviteMembers(MYSQL_GROUP_DIALECT, actorId, groupId, userIds, now));
  }
  leave(userId: number, groupId: number): Promise<GroupChange> {
    return this.exec('group leave', (now) => leaveGroup(MYSQL_GROUP_DIALECT, userId, groupId, now));
  }
  kick(actorId: number, groupId: number, userIds: readonly number[]): Promise<GroupChange> {
    return this.exec('group kick', (now) => kickMembers(MYSQL_GROUP_DIALECT, actorId, groupId, userIds, now));
  }
  dismiss(actorId: number, groupId: number): Promise<GroupChange> {
    return this.exec('group dismiss', (now) => dismissGroup(MYSQL_GROUP_DIALECT, actorId, groupId, now));
  }
  setRole(actorId: number, groupId: number, userId: number, role: number): Promise<GroupChange> {
    return this.exec('group role', (now) => setMemberRole(MYSQL_GROUP_DIALECT, actorId, groupId, userId, role, now));
  }
  transfer(actorId: number, groupId: number, userId: number): Promise<GroupChange> {
    return this.exec('group transfer', (now) => transferGroup(MYSQL_GROUP_DIALECT, actorId, groupId, userId, now));
  }
  setMaxMembers(actorId: number, groupId: number, maxMembers: number, cap: number): Promise<GroupChange> {
    return this.exec('group max', (now) => setMaxMembers(MYSQL_GROUP_DIALECT, actorId, groupId, maxMembers, cap, now));
  }
  apply(userId: number, groupId: number, message: string): Promise<GroupChange> {
    return this.exec('group apply', (now) => applyToGroup(MYSQL_GROUP_DIALECT, userId, groupId, message, now));
  }
  decide(actorId: number, groupId: number, applicantId: number, approve: boolean): Promise<GroupChange> {
    return this.exec('group decide', (now) => decideApplication(MYSQL_GROUP_DIALECT, actorId, groupId, applicantId, approve, now));
  }

  applications(groupId: number, limit: number): Promise<GroupApplication[]> {
    return this.read('group applications', async (q) => (await q(GROUP_READS.applications, [groupId, pageLimit(limit)])).map(rowToApplication));
  }
  get(groupId: number): Promise<GroupRow | null> {
    return this.read('group get', async (q) => {
      const rows = await q(GROUP_READS.get, [groupId]);
      return rows.length ? rowToGroup(rows[0]!) : null;
    });
  }
  roleOf(groupId: number, userId: number): Promise<number | null> {
    return this.read('group role', async (q) => {
      const rows = await q(GROUP_READS.role, [groupId, userId]);
      return rows.length ? Number(rows[0]!.member_role) : null;
    });
  }
  memberIds(groupId: number): Promise<number[]> {
    return this.read('group memberIds', async (q) => (await q(GROUP_READS.memberIds, [groupId])).map((r) => Number(r.user_id)));
  }
  memberList(groupId: number): Promise<GroupMemberList> {
    return this.read('group memberList', async (q) => rowsToMemberList(await q(GROUP_READS.memberList, [groupId, groupConvId(groupId)])));
  }
  members(groupId: number, afterId: number, limit: number): Promise<GroupMemberRow[]> {
    return this.read('group members', async (q) =>
      (await q(GROUP_READS.members, [groupConvId(groupId), groupId, afterId, pageLimit(limit)])).map(rowToMember));
  }
  readers(groupId: number, seq: number, limit: number): Promise<{ count: number; members: GroupMemberRow[] }> {
    return this.read('group readers', async (q) => {
      const conv = groupConvId(groupId);
      const count = Number((await q(GROUP_READS.readCount, [conv, seq]))[0]!.n);
      const n = pageLimit(limit);
      const members = n === 0 ? [] : (await q(GROUP_READS.readers, [conv, groupId, seq, n])).map(rowToMember);
      return { count, members };
    });
  }
}
