/**
 * `--chown` and `--chmod` for COPY/ADD, as BuildKit interprets them.
 *
 * - `resolveChown(spec, destRoot)` → `{uid, gid}`: `user[:group]`, each part a number or a name looked
 *   up in the DESTINATION root's `/etc/passwd` / `/etc/group` (read through the scoped resolver, so a
 *   symlinked /etc cannot point at the host). Like BuildKit (checked against Docker 26's BuildKit): a
 *   numeric user alone gives uid=gid=N; a named user gives its primary group; an unknown user name or
 *   group name is NOT an error — an unknown user falls back to 0:0, an unknown group keeps the gid
 *   chosen so far; `:group` alone gives uid 0.
 * - `parseChmod(spec)` → a `ModeSpec` that `applyMode(spec, mode, isDir)` applies: octal up to 07777
 *   (replaces the permission and special bits) or chmod(1) symbolic clauses like `u+x,g-w,o=r` (newer
 *   BuildKit via dchapes/mode, umask 0). Errors are UserErrors with BuildKit's wording.
 */
import { readFileSync } from 'node:fs';
import { UserError } from '../../util/errors.js';
import { resolveInRoot } from '../../util/fspath.js';

export interface Owner {
  uid: number;
  gid: number;
}

const NUMERIC = /^[0-9]+$/;

function readDbFile(root: string, p: string): string[][] {
  let text: string;
  try {
    text = readFileSync(resolveInRoot(root, p, true), 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#'))
    .map((l) => l.split(':'));
}

/** Resolves `--chown=user[:group]` against destRoot's /etc/passwd and /etc/group. */
export function resolveChown(spec: string, destRoot: string): Owner {
  const idx = spec.indexOf(':');
  const userPart = idx < 0 ? spec : spec.slice(0, idx);
  const groupPart = idx < 0 ? undefined : spec.slice(idx + 1);
  const out: Owner = { uid: 0, gid: 0 };
  if (userPart !== '') {
    if (NUMERIC.test(userPart)) {
      out.uid = checkId(Number(userPart), spec);
      out.gid = out.uid;
    } else {
      const row = readDbFile(destRoot, '/etc/passwd').find((r) => r[0] === userPart);
      if (row && NUMERIC.test(row[2] ?? '') && NUMERIC.test(row[3] ?? '')) {
        out.uid = Number(row[2]);
        out.gid = Number(row[3]);
      }
    }
  }
  if (groupPart !== undefined && groupPart !== '') {
    if (NUMERIC.test(groupPart)) out.gid = checkId(Number(groupPart), spec);
    else {
      const row = readDbFile(destRoot, '/etc/group').find((r) => r[0] === groupPart);
      if (row && NUMERIC.test(row[2] ?? '')) out.gid = Number(row[2]);
    }
  }
  return out;
}

function checkId(n: number, spec: string): number {
  if (!Number.isSafeInteger(n) || n > 0xffffffff) throw new UserError(`invalid --chown value: ${spec}`);
  return n;
}

export type ModeSpec = { kind: 'octal'; mode: number } | { kind: 'symbolic'; clauses: Clause[]; text: string };

interface Action {
  op: '+' | '-' | '=';
  perms: string; // subset of rwxXst, or a single u/g/o (copy)
}
interface Clause {
  who: number; // mask of permission bits the clause touches (0o7777-ish class mask)
  whoLetters: string;
  actions: Action[];
}

/** Parses a --chmod value. Octal: 0..07777. Symbolic: chmod(1) clauses, comma-separated. */
export function parseChmod(spec: string): ModeSpec {
  const nonOctal = new UserError(`invalid chmod parameter: '${spec}'. it should be octal string and between 0 and 07777`);
  if (/^[0-9]+$/.test(spec)) {
    if (!/^[0-7]+$/.test(spec)) throw nonOctal;
    const n = parseInt(spec, 8);
    if (n > 0o7777) throw nonOctal;
    return { kind: 'octal', mode: n };
  }
  if (/^[+-]?[0-9]/.test(spec)) throw nonOctal;
  const clauses: Clause[] = [];
  for (const part of spec.split(',')) {
    let i = 0;
    let whoLetters = '';
    while (i < part.length && 'ugoa'.includes(part[i])) whoLetters += part[i++];
    const actions: Action[] = [];
    while (i < part.length) {
      const op = part[i];
      if (op !== '+' && op !== '-' && op !== '=') throw new UserError(`invalid chmod parameter: '${spec}'`);
      i++;
      let perms = '';
      if (i < part.length && 'ugo'.includes(part[i])) perms = part[i++];
      else while (i < part.length && 'rwxXst'.includes(part[i])) perms += part[i++];
      actions.push({ op, perms });
    }
    if (actions.length === 0) throw new UserError(`invalid chmod parameter: '${spec}'`);
    let who = 0;
    if (whoLetters === '' || whoLetters.includes('a')) who = 0o7777;
    else {
      if (whoLetters.includes('u')) who |= 0o4700;
      if (whoLetters.includes('g')) who |= 0o2070;
      if (whoLetters.includes('o')) who |= 0o1007;
    }
    clauses.push({ who, whoLetters, actions });
  }
  return { kind: 'symbolic', clauses, text: spec };
}

/** Applies a parsed --chmod to an existing mode (permission + special bits, 0o7777). */
export function applyMode(spec: ModeSpec, mode: number, isDir: boolean): number {
  if (spec.kind === 'octal') return spec.mode;
  let m = mode & 0o7777;
  for (const c of spec.clauses) {
    for (const a of c.actions) {
      let bits = 0;
      if (a.perms === 'u' || a.perms === 'g' || a.perms === 'o') {
        const shift = a.perms === 'u' ? 6 : a.perms === 'g' ? 3 : 0;
        const v = (m >> shift) & 7;
        bits = (v << 6) | (v << 3) | v;
      } else {
        for (const p of a.perms) {
          if (p === 'r') bits |= 0o444;
          else if (p === 'w') bits |= 0o222;
          else if (p === 'x') bits |= 0o111;
          else if (p === 'X') {
            if (isDir || (mode & 0o111) !== 0) bits |= 0o111;
          } else if (p === 's') bits |= 0o6000;
          else if (p === 't') bits |= 0o1000;
        }
      }
      bits &= c.who;
      if (a.op === '+') m |= bits;
      else if (a.op === '-') m &= ~bits;
      else {
        // '=': clear the class's rwx (and its special bit), then set
        m = (m & ~(c.who & 0o7777)) | bits;
      }
    }
  }
  return m & 0o7777;
}
