/**
 * Group commands (issue 5): /group create|invite|join|approve|reject|leave|kick|members|rename|
 * dismiss|readers. Sending to a group is "#<groupId> text", or /to g:<groupId> then plain lines.
 */
import { GroupOp, type GroupResponse } from '@hxim/im-common';
import { BusinessApi, ids } from '../../business';
import { sanitize } from '../format';
import { who } from '../notices';
import { parseUserId, type ChatContext, type CommandGroup } from './types';

const ROLE = ['member', 'admin', 'owner'];

const USAGE = [
  'usage: /group create <name> [userId...]   /group invite <groupId> <userId...>',
  '       /group join <groupId> [note]        /group approve|reject <groupId> <userId>',
  '       /group leave <groupId>              /group kick <groupId> <userId...>',
  '       /group members <groupId>            /group rename <groupId> <name>',
  '       /group dismiss <groupId>            /group readers <groupId> <seq>',
].join('\n');

function userIds(ctx: ChatContext, words: readonly string[]): number[] | null {
  const out: number[] = [];
  for (const w of words) {
    const id = parseUserId(w);
    if (id === null) {
      ctx.print(`"${sanitize(w)}" is not a user id (a positive number)`);
      return null;
    }
    out.push(id);
  }
  return out;
}

function summary(r: GroupResponse, what: string): string {
  const g = r.group;
  const name = g ? `#${g.groupId} "${sanitize(g.name)}"` : 'the group';
  const who = r.members.length ? ` ${r.members.map((m) => m.userId).join(', ')}` : '';
  return `${what}${who} — ${name}${g ? `, ${g.memberCount}/${g.maxMembers} members` : ''}`;
}

async function run(ctx: ChatContext, words: string[], rest: string): Promise<void> {
  const api = new BusinessApi(ctx.client);
  const [sub, gArg] = words;
  const gid = parseUserId(gArg);
  const need = (): boolean => {
    if (gid === null) ctx.print(`usage: /group ${sub ?? ''} <groupId> ... (a positive number)\n${USAGE}`);
    return gid !== null;
  };
  const after = (n: number): string => {
    // the raw text after the first n words (names and notes keep their spaces)
    let s = rest.trimStart();
    for (let i = 0; i < n; i++) s = s.replace(/^\S+\s*/, '');
    return s.trim();
  };
  switch (sub) {
    case 'create': {
      const name = words[1];
      if (!name) return ctx.print(USAGE);
      const members = userIds(ctx, words.slice(2));
      if (!members) return;
      const r = await api.createGroup(name, members);
      ctx.print(`${summary(r, 'created')}; send with #${r.group!.groupId} <text>`);
      return;
    }
    case 'invite': case 'kick': {
      if (!need()) return;
      const us = userIds(ctx, words.slice(2));
      if (!us || us.length === 0) return ctx.print(`usage: /group ${sub} <groupId> <userId...>`);
      const r = await api.groupOp({ op: sub === 'invite' ? GroupOp.INVITE : GroupOp.KICK, groupId: gid!, members: ids(us) });
      ctx.print(summary(r, sub === 'invite' ? 'added' : 'removed'));
      return;
    }
    case 'join': {
      if (!need()) return;
      const r = await api.groupOp({ op: GroupOp.APPLY, groupId: gid!, message: after(2) });
      ctx.print(`asked to join group #${gid} (application ${r.applyId}); an owner or admin decides`);
      return;
    }
    case 'approve': case 'reject': {
      if (!need()) return;
      const u = parseUserId(words[2]);
      if (u === null) return ctx.print(`usage: /group ${sub} <groupId> <userId>`);
      const r = await api.groupOp({ op: sub === 'approve' ? GroupOp.APPROVE : GroupOp.REJECT, groupId: gid!, userId: u });
      ctx.print(summary(r, sub === 'approve' ? 'approved' : `rejected ${u}`));
      return;
    }
    case 'leave': case 'dismiss': {
      if (!need()) return;
      await api.groupOp({ op: sub === 'leave' ? GroupOp.LEAVE : GroupOp.DISMISS, groupId: gid! });
      if (ctx.groupTarget === gid) ctx.setGroupTarget(null);
      ctx.print(sub === 'leave' ? `you left group #${gid}` : `group #${gid} dismissed`);
      return;
    }
    case 'rename': {
      if (!need()) return;
      const name = after(2);
      if (!name) return ctx.print('usage: /group rename <groupId> <name>');
      ctx.print(summary(await api.groupOp({ op: GroupOp.RENAME, groupId: gid!, name }), 'renamed'));
      return;
    }
    case 'members': {
      if (!need()) return;
      const lines: string[] = [];
      let next = 0;
      let head = '';
      for (let page = 0; page < 20; page++) {
        const r = await api.groupMembers(gid!, next, 1000);
        head = `group #${gid} "${sanitize(r.group?.name ?? '')}" — ${r.group?.memberCount ?? 0} members`;
        for (const m of r.members) lines.push(`  ${who(m.userId, m.userName)} ${ROLE[m.role] ?? m.role} (read up to #${m.readSeq})`);
        if (!r.hasMore) break;
        next = r.next;
      }
      ctx.print(`${head}\n${lines.join('\n')}`);
      return;
    }
    case 'readers': {
      if (!need()) return;
      const seq = parseUserId(words[2]);
      if (seq === null) return ctx.print('usage: /group readers <groupId> <seq>');
      const r = await api.groupReaders(gid!, seq, 50);
      const names = r.readers.map((m) => who(m.userId, m.userName)).join(', ');
      ctx.print(`#${seq} in group #${gid}: read by ${r.readCount} of ${r.memberCount}${names ? ` — ${names}` : ''}`);
      return;
    }
    default:
      ctx.print(USAGE);
  }
}

/** The group commands. */
export const groupCommands: CommandGroup = {
  title: 'Groups',
  commands: [
    {
      name: 'group',
      args: '<sub> ...',
      summary: 'groups: create|invite|join|approve|reject|leave|kick|members|rename|dismiss|readers (send: #<groupId> <text>)',
      run,
    },
  ],
};
