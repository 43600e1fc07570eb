/**
 * USER resolution against a root filesystem, with Docker's / runc's rules (libcontainer
 * GetExecUser): `name`, `uid`, `name:group`, `uid:gid`; a numeric uid without a passwd entry runs
 * with gid 0; supplementary groups come from /etc/group only when no group was given; HOME from
 * passwd ('/' when unknown). In: rootfs host path + the USER string. Out: numeric ids.
 */
import { readFileSync } from 'node:fs';
import { resolveInRoot } from '../../util/fspath.js';
import { UserError } from '../../util/errors.js';

export interface ExecUser {
  uid: number;
  gid: number;
  groups: number[];
  home: string;
  name?: string;
}

interface PasswdEntry { name: string; uid: number; gid: number; home: string }
interface GroupEntry { name: string; gid: number; members: string[] }

function readLines(rootfs: string, p: string): string[] {
  try {
    return readFileSync(resolveInRoot(rootfs, p, true), 'utf8').split('\n');
  } catch {
    return [];
  }
}

function parsePasswd(rootfs: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of readLines(rootfs, '/etc/passwd')) {
    if (!line || line.startsWith('#')) continue;
    const f = line.split(':');
    if (f.length < 4) continue;
    const uid = Number(f[2]);
    const gid = Number(f[3]);
    if (!Number.isInteger(uid) || !Number.isInteger(gid)) continue;
    out.push({ name: f[0]!, uid, gid, home: f[5] || '/' });
  }
  return out;
}

function parseGroup(rootfs: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of readLines(rootfs, '/etc/group')) {
    if (!line || line.startsWith('#')) continue;
    const f = line.split(':');
    if (f.length < 3) continue;
    const gid = Number(f[2]);
    if (!Number.isInteger(gid)) continue;
    out.push({ name: f[0]!, gid, members: (f[3] ?? '').split(',').map((s) => s.trim()).filter(Boolean) });
  }
  return out;
}

const isNum = (s: string) => /^[0-9]+$/.test(s);

export function resolveUser(rootfs: string, spec = ''): ExecUser {
  const [userArg = '', groupArg = ''] = spec.split(/:(.*)/s, 2) as [string, string?] as [string, string];
  const passwd = parsePasswd(rootfs);
  let uid = 0;
  let gid = 0;
  let home = '/';
  let name: string | undefined;
  const u = userArg === '' ? passwd.find((p) => p.uid === 0) : passwd.find((p) => p.name === userArg) ?? (isNum(userArg) ? passwd.find((p) => p.uid === Number(userArg)) : undefined);
  if (u) {
    uid = u.uid;
    gid = u.gid;
    home = u.home;
    name = u.name;
  } else if (userArg === '') {
    uid = 0;
  } else if (isNum(userArg)) {
    uid = Number(userArg);
  } else {
    throw new UserError(`unable to find user ${userArg}: no matching entries in passwd file`);
  }
  if (isNum(userArg)) uid = Number(userArg);
  const groups = parseGroup(rootfs);
  let supplementary: number[] = [];
  if (groupArg !== '') {
    const g = groups.find((e) => e.name === groupArg) ?? (isNum(groupArg) ? { gid: Number(groupArg) } : undefined);
    if (!g) throw new UserError(`unable to find group ${groupArg}: no matching entries in group file`);
    gid = g.gid;
  } else if (name !== undefined) {
    supplementary = [...new Set(groups.filter((g) => g.members.includes(name!) && g.gid !== gid).map((g) => g.gid))];
  }
  return { uid, gid, groups: supplementary, home, name };
}
