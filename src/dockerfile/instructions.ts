/**
 * Typed Dockerfile instructions, built from the syntax tree the way BuildKit's
 * `frontend/dockerfile/instructions` package builds them.
 *
 * In: `AstNode`s (from `parser.ts`). Out: an `Instruction` per node, discriminated by `kind`, that
 * keeps the RAW (unexpanded) argument text: variables are expanded by the build engine, in the
 * stage's environment, at build time. Flags are validated here (unknown flag, duplicate, missing
 * value, bad boolean) with BuildKit's wording; errors are `UserError`s at `FILE:LINE:COL`.
 */
import { posix } from 'node:path';
import { UserError } from '../util/errors.js';
import type { AstNode, Heredoc, Pos } from './ast.js';
import { chompHeredocContent, parseHeredocWord } from './parser.js';
import { oneLine } from './gostr.js';
import type { ShellLex, Env } from './shell.js';

export interface InstructionBase {
  /** position of the instruction keyword */
  pos: Pos;
  /** last source line (heredoc bodies included) */
  endLine: number;
  /** the logical source line (continuations joined), as BuildKit's `Node.Original` */
  original: string;
  /** raw builder flags, e.g. `--from=build` */
  flags: string[];
  /** comment lines right before the instruction */
  comments: string[];
}

/** A heredoc body attached to RUN/COPY/ADD. `content` already has `<<-` tabs stripped. */
export interface HeredocBody {
  name: string;
  content: string;
  /** false when the delimiter was quoted: do not expand variables in `content` */
  expand: boolean;
  chomp: boolean;
  /** file descriptor prefix (`3<<EOF`), 0 when absent */
  fd: number;
}

export interface FromInstruction extends InstructionBase {
  kind: 'FROM';
  /** base image / stage name, raw (may contain global ARG references) */
  image: string;
  /** stage name after `AS`, lower-cased */
  name?: string;
  /** raw `--platform` value */
  platform?: string;
}

export type MountType = 'bind' | 'cache' | 'tmpfs' | 'secret' | 'ssh';

/** A `RUN --mount=...` option. Values are raw (may contain variables) until `expandRunMounts`. */
export interface RunMount {
  type: MountType;
  target?: string;
  source?: string;
  from?: string;
  id?: string;
  sharing?: 'shared' | 'private' | 'locked';
  readonly: boolean;
  mode?: number;
  uid?: number;
  gid?: number;
  required: boolean;
  /** secret mounts: expose the secret as this environment variable */
  env?: string;
  /** tmpfs size in bytes (raw string) */
  size?: string;
  /** the flag value as written */
  raw: string;
}

export interface RunInstruction extends InstructionBase {
  kind: 'RUN';
  /** shell form: one string; exec (JSON) form: argv */
  command: string | string[];
  json: boolean;
  mounts: RunMount[];
  network?: 'default' | 'none' | 'host';
  security?: 'sandbox' | 'insecure';
  heredocs: HeredocBody[];
}

export interface CmdInstruction extends InstructionBase {
  kind: 'CMD';
  command: string | string[];
  json: boolean;
}

export interface EntrypointInstruction extends InstructionBase {
  kind: 'ENTRYPOINT';
  command: string | string[];
  json: boolean;
}

export interface ShellInstruction extends InstructionBase {
  kind: 'SHELL';
  shell: string[];
  json: true;
}

export interface KeyValue {
  key: string;
  value: string;
  /** legacy `ENV k v` / `LABEL k v` form (no `=`) */
  legacy: boolean;
}

export interface EnvInstruction extends InstructionBase {
  kind: 'ENV';
  /** raw key/value pairs: quotes and `$refs` intact, expand with `ShellLex.processWord` */
  pairs: KeyValue[];
}

export interface ArgInstruction extends InstructionBase {
  kind: 'ARG';
  /** `value` undefined when declared without a default */
  args: { key: string; value?: string }[];
}

export interface LabelInstruction extends InstructionBase {
  kind: 'LABEL';
  pairs: KeyValue[];
}

export interface ExposeInstruction extends InstructionBase {
  kind: 'EXPOSE';
  ports: string[];
}

export interface VolumeInstruction extends InstructionBase {
  kind: 'VOLUME';
  volumes: string[];
  json: boolean;
}

export interface UserInstruction extends InstructionBase {
  kind: 'USER';
  user: string;
}

export interface WorkdirInstruction extends InstructionBase {
  kind: 'WORKDIR';
  path: string;
}

interface CopyAddCommon extends InstructionBase {
  /** source paths (raw), heredoc sources excluded */
  sources: string[];
  /** destination (raw) */
  dest: string;
  /** heredoc sources (`COPY <<EOF /dst`), in order */
  heredocs: HeredocBody[];
  json: boolean;
  chown?: string;
  chmod?: string;
  link: boolean;
  /** `--exclude` patterns (repeatable) */
  exclude: string[];
}

export interface CopyInstruction extends CopyAddCommon {
  kind: 'COPY';
  from?: string;
  parents: boolean;
}

export interface AddInstruction extends CopyAddCommon {
  kind: 'ADD';
  checksum?: string;
  keepGitDir: boolean;
  /** `--unpack` given explicitly (undefined: default behaviour) */
  unpack?: boolean;
}

export interface OnbuildInstruction extends InstructionBase {
  kind: 'ONBUILD';
  /** the trigger instruction keyword, upper-cased */
  trigger: string;
  /** the trigger text, as stored in the image config's OnBuild list */
  expression: string;
}

export interface HealthcheckInstruction extends InstructionBase {
  kind: 'HEALTHCHECK';
  /** `['NONE']`, `['CMD', ...argv]` or `['CMD-SHELL', command]` (Docker's HealthConfig.Test) */
  test: string[];
  json: boolean;
  /** durations in nanoseconds; 0/undefined = inherit default */
  interval?: number;
  timeout?: number;
  startPeriod?: number;
  startInterval?: number;
  retries?: number;
}

export interface StopsignalInstruction extends InstructionBase {
  kind: 'STOPSIGNAL';
  signal: string;
}

export interface MaintainerInstruction extends InstructionBase {
  kind: 'MAINTAINER';
  maintainer: string;
}

export type Instruction =
  | FromInstruction
  | RunInstruction
  | CmdInstruction
  | EntrypointInstruction
  | ShellInstruction
  | EnvInstruction
  | ArgInstruction
  | LabelInstruction
  | ExposeInstruction
  | VolumeInstruction
  | UserInstruction
  | WorkdirInstruction
  | CopyInstruction
  | AddInstruction
  | OnbuildInstruction
  | HealthcheckInstruction
  | StopsignalInstruction
  | MaintainerInstruction;

export type InstructionKind = Instruction['kind'];

export const INSTRUCTION_NAMES: readonly string[] = [
  'add', 'arg', 'cmd', 'copy', 'entrypoint', 'env', 'expose', 'from', 'healthcheck', 'label',
  'maintainer', 'onbuild', 'run', 'shell', 'stopsignal', 'user', 'volume', 'workdir',
];

/* ----------------------------------------------------------------------------------------- */

/** An error inside one instruction; `flag` names the flag to point the column at. */
class InstrError extends Error {
  constructor(
    message: string,
    readonly flag?: string,
  ) {
    super(message);
  }
}

type FlagType = 'bool' | 'string' | 'strings';
interface FlagVal {
  type: FlagType;
  value?: string;
  bool?: boolean;
  values: string[];
  used: boolean;
}

/** BuildKit's BFlags. */
class BFlags {
  private defs = new Map<string, FlagVal>();
  constructor(private args: string[]) {}
  bool(name: string): FlagVal {
    return this.add(name, 'bool');
  }
  string(name: string): FlagVal {
    return this.add(name, 'string');
  }
  strings(name: string): FlagVal {
    return this.add(name, 'strings');
  }
  private add(name: string, type: FlagType): FlagVal {
    const f: FlagVal = { type, values: [], used: false };
    this.defs.set(name, f);
    return f;
  }
  parse(): void {
    for (const raw of this.args) {
      if (!raw.startsWith('--')) throw new InstrError(`arg should start with -- : ${raw}`, raw);
      if (raw === '--') return;
      let name = raw.slice(2);
      let value = '';
      const idx = name.indexOf('=');
      if (idx >= 0) {
        value = name.slice(idx + 1);
        name = name.slice(0, idx);
      }
      const f = this.defs.get(name);
      if (!f) {
        const hint = suggest(name, [...this.defs.keys()]);
        throw new InstrError(`unknown flag: ${name}${hint ? ` (did you mean ${hint}?)` : ''}`, raw);
      }
      if (f.used && f.type !== 'strings') throw new InstrError(`duplicate flag specified: ${name}`, raw);
      f.used = true;
      switch (f.type) {
        case 'bool': {
          if (idx >= 0 && value === '') throw new InstrError(`missing a value on flag: ${name}`, raw);
          const lower = value.toLowerCase();
          if (lower === '' || lower === 'true') f.bool = true;
          else if (lower === 'false') f.bool = false;
          else throw new InstrError(`expecting boolean value for flag ${name}, not: ${value}`, raw);
          break;
        }
        case 'string':
          if (idx < 0) throw new InstrError(`missing a value on flag: ${name}`, raw);
          f.value = value;
          break;
        case 'strings':
          if (idx < 0) throw new InstrError(`missing a value on flag: ${name}`, raw);
          f.values.push(value);
          break;
      }
    }
  }
}

function args(n: AstNode): string[] {
  const out: string[] = [];
  for (const a of n.args) {
    if (a.child) {
      out.push(a.child.value, ...args(a.child));
    } else out.push(a.value);
  }
  return out;
}

function base(n: AstNode): InstructionBase {
  return { pos: n.pos, endLine: n.endLine, original: n.original, flags: n.flags, comments: n.comments };
}

const errAtLeastOne = (c: string) => new InstrError(`${c} requires at least one argument`);
const errExactlyOne = (c: string) => new InstrError(`${c} requires exactly one argument`);
const errNoDest = (c: string) =>
  new InstrError(`${c} requires at least two arguments, but only one was provided. Destination could not be determined`);

function kvps(a: string[], cmd: string): KeyValue[] {
  if (a.length === 0) throw errAtLeastOne(cmd);
  if (a.length % 3 !== 0) throw new InstrError(`Bad input to ${cmd}, too many arguments`);
  const out: KeyValue[] = [];
  for (let i = 0; i < a.length; i += 3) {
    if (a[i]!.length === 0) throw new InstrError(`${cmd} names can not be blank`);
    out.push({ key: a[i]!, value: a[i + 1]!, legacy: a[i + 2] === '' });
  }
  return out;
}

function cmdLine(n: AstNode, a: string[]): string | string[] {
  if (n.attributes.json) return a;
  return a.join(' ');
}

function heredocBody(h: Heredoc): HeredocBody {
  return { name: h.name, content: h.chomp ? chompHeredocContent(h.content) : h.content, expand: h.expand, chomp: h.chomp, fd: h.fd };
}

function sourcesAndDest(n: AstNode, a: string[], cmd: string): { sources: string[]; dest: string; heredocs: HeredocBody[] } {
  const srcs = a.slice(0, -1);
  const dest = a[a.length - 1]!;
  const tryHeredoc = (w: string) => {
    try {
      return n.attributes.json ? undefined : parseHeredocWord(w);
    } catch {
      return undefined;
    }
  };
  if (tryHeredoc(dest)) throw new InstrError(`${cmd} cannot accept a heredoc as a destination`);
  const byName = new Map(n.heredocs.map((h) => [h.name, h] as const));
  const sources: string[] = [];
  const heredocs: HeredocBody[] = [];
  for (const s of srcs) {
    const h = tryHeredoc(s);
    if (h) {
      const body = byName.get(h.name);
      heredocs.push(heredocBody({ ...h, content: body?.content ?? '' }));
    } else sources.push(s);
  }
  return { sources, dest, heredocs };
}

/* ---------------------------------- RUN --mount ---------------------------------------- */

function parseCsvRecord(s: string): string[] {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (s[i] === '"') {
      i++;
      for (;;) {
        if (i >= s.length) throw new InstrError('failed to parse csv mounts: extraneous or missing " in quoted-field');
        if (s[i] === '"') {
          if (s[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += s[i++];
      }
      if (i < s.length && s[i] !== ',') throw new InstrError('failed to parse csv mounts: extraneous or missing " in quoted-field');
    } else {
      while (i < s.length && s[i] !== ',') {
        if (s[i] === '"') throw new InstrError('failed to parse csv mounts: bare " in non-quoted-field');
        field += s[i++];
      }
    }
    fields.push(field);
    if (i >= s.length) break;
    i++; // ','
  }
  return fields;
}

const mountTypes = new Set(['bind', 'cache', 'tmpfs', 'secret', 'ssh']);
const mountKeys = ['type', 'from', 'source', 'target', 'readonly', 'id', 'sharing', 'required', 'mode', 'uid', 'gid', 'src', 'dst', 'destination', 'ro', 'rw', 'readwrite', 'env', 'size'];

function parseBool(v: string): boolean | undefined {
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(v)) return false;
  return undefined;
}

function parseUint(v: string, radix: 8 | 10): number | undefined {
  const re = radix === 8 ? /^[0-7]+$/ : /^[0-9]+$/;
  if (!re.test(v)) return undefined;
  const n = Number.parseInt(v, radix);
  return n <= 0xffffffff ? n : undefined;
}

/**
 * Parses one `--mount` value. With `expand`, every value is expanded first (build time);
 * without, values holding a `$` are kept raw and validated later by `expandRunMounts`.
 */
export function parseRunMount(raw: string, expand?: (v: string) => string): RunMount {
  const fields = parseCsvRecord(raw);
  const m: RunMount = { type: 'bind', readonly: true, required: false, raw };
  // `type` decides which keys are allowed, wherever it appears
  for (const f of fields) {
    const [k, v] = splitKV(f);
    if (k.toLowerCase() === 'type' && v !== undefined) {
      const t = (expand ? expand(v) : v).toLowerCase();
      if (!mountTypes.has(t)) {
        if (!expand && v.includes('$')) continue;
        throw new InstrError(`unsupported mount type ${JSON.stringify(v)}`);
      }
      m.type = t as MountType;
    }
  }
  let roAuto = true;
  for (const field of fields) {
    const [rawKey, rawVal] = splitKV(field);
    const key = rawKey.toLowerCase();
    if (rawVal === undefined) {
      switch (key) {
        case 'readonly':
        case 'ro':
          m.readonly = true;
          roAuto = false;
          continue;
        case 'readwrite':
        case 'rw':
          m.readonly = false;
          roAuto = false;
          continue;
        case 'required':
          if (m.type === 'secret' || m.type === 'ssh') {
            m.required = true;
            continue;
          }
          throw new InstrError(`unexpected key '${key}' for mount type '${m.type}'`);
      }
      throw new InstrError(`invalid field '${field}' must be a key=value pair`);
    }
    let value = rawVal;
    if (key === 'from' && !expand && /\$./.test(value)) {
      throw new InstrError(`'${key}' doesn't support variable expansion, define alias stage instead`);
    }
    if (expand) value = expand(value);
    const deferred = !expand && value.includes('$');
    switch (key) {
      case 'type':
        break;
      case 'from':
        m.from = value;
        break;
      case 'source':
      case 'src':
        m.source = value;
        break;
      case 'target':
      case 'dst':
      case 'destination':
        m.target = value;
        break;
      case 'readonly':
      case 'ro':
      case 'readwrite':
      case 'rw': {
        roAuto = false;
        if (deferred) break;
        const b = parseBool(value);
        if (b === undefined) throw new InstrError(`invalid value for ${key}: ${value}`);
        m.readonly = key === 'readonly' || key === 'ro' ? b : !b;
        break;
      }
      case 'required': {
        if (m.type !== 'secret' && m.type !== 'ssh') throw new InstrError(`unexpected key '${key}' for mount type '${m.type}'`);
        if (deferred) break;
        const b = parseBool(value);
        if (b === undefined) throw new InstrError(`invalid value for ${key}: ${value}`);
        m.required = b;
        break;
      }
      case 'id':
        m.id = value;
        break;
      case 'sharing': {
        if (deferred) break;
        const s = value.toLowerCase();
        if (s !== 'shared' && s !== 'private' && s !== 'locked') throw new InstrError(`unsupported sharing value ${JSON.stringify(value)}`);
        m.sharing = s;
        break;
      }
      case 'mode':
      case 'uid':
      case 'gid': {
        if (deferred) break;
        const n = parseUint(value, key === 'mode' ? 8 : 10);
        if (n === undefined) throw new InstrError(`invalid value ${value} for ${key}`);
        m[key] = n;
        break;
      }
      case 'env':
        m.env = value;
        break;
      case 'size':
        if (m.type !== 'tmpfs') throw new InstrError(`unexpected key '${key}' for mount type '${m.type}'`);
        m.size = value;
        break;
      default: {
        const hint = suggest(key, mountKeys);
        throw new InstrError(`unexpected key '${key}' in '${field}'${hint ? ` (did you mean ${hint}?)` : ''}`);
      }
    }
  }
  const fileInfo = m.type === 'secret' || m.type === 'ssh' || m.type === 'cache';
  for (const k of ['mode', 'uid', 'gid'] as const) {
    if (m[k] !== undefined && !fileInfo) throw new InstrError(`${k} not allowed for ${JSON.stringify(m.type)} type mounts`);
  }
  if (roAuto) m.readonly = !(m.type === 'cache' || m.type === 'tmpfs');
  if (m.sharing && m.type !== 'cache') throw new InstrError(`invalid cache sharing set for ${m.type} mount`);
  if (m.type === 'secret') {
    if (m.from) throw new InstrError('secret mount should not have a from');
    if (m.sharing) throw new InstrError('secret mount should not define sharing');
    if (!m.source && !m.target && !m.id) throw new InstrError('invalid secret mount. one of source, target required');
    if (m.source && m.id) throw new InstrError("both source and id can't be set");
  }
  return m;
}

function splitKV(f: string): [string, string | undefined] {
  const i = f.indexOf('=');
  return i < 0 ? [f, undefined] : [f.slice(0, i), f.slice(i + 1)];
}

/**
 * Expands the variables in RUN mount options (build time), re-validating every value.
 * Throws `UserError` (unpositioned) on a bad value.
 */
export function expandRunMounts(mounts: RunMount[], lex: ShellLex, env: Env): RunMount[] {
  return mounts.map((m) => {
    try {
      return parseRunMount(m.raw, (v) => lex.processWord(v, env));
    } catch (e) {
      if (e instanceof InstrError) throw new UserError(e.message);
      throw e;
    }
  });
}

/**
 * One mount at build time: `m` with its variables expanded in the stage's environment (`expand`),
 * then BuildKit's defaults applied (dockerfile2llb's dispatchRunMounts): a relative target is
 * joined to `workdir`; a secret's id defaults to its target's base name and its target to
 * /run/secrets/ID; an ssh mount's id to `default` and its target to /run/buildkit/ssh_agent.N
 * (`sshIndex`: ssh mounts before it in the RUN); a cache's id to its target; sharing to shared.
 * `raw` is dropped: the result is the typed value the solver carries (and hashes). UserError on
 * a bad value.
 */
export function resolveRunMount(m: RunMount, expand: (v: string) => string, workdir: string, sshIndex = 0): ResolvedRunMount {
  let r: RunMount;
  try {
    r = parseRunMount(m.raw, expand);
  } catch (e) {
    if (e instanceof InstrError) throw new UserError(e.message);
    throw e;
  }
  const { raw: _raw, ...out } = r;
  if (out.type === 'secret') {
    if (!out.id) out.id = out.source || (out.target ? posix.basename(out.target) : undefined);
    if (!out.id) throw new UserError('secret ID missing from mount options');
    if (!out.target && !out.env) out.target = `/run/secrets/${posix.basename(out.id)}`;
  }
  if (out.type === 'ssh') {
    if (out.source) throw new UserError('ssh does not support source');
    out.id ||= 'default';
    if (!out.target) out.target = `/run/buildkit/ssh_agent.${sshIndex}`;
  }
  if (out.type !== 'secret' && !out.target) throw new UserError('mount destination (target) is required');
  if (out.target && !out.target.startsWith('/')) out.target = posix.join('/', workdir, out.target);
  if (out.type === 'cache') {
    out.sharing ??= 'shared';
    out.id ||= out.target;
  }
  return out;
}

/** A RUN mount after `resolveRunMount`: expanded, defaults applied, no raw text. */
export type ResolvedRunMount = Omit<RunMount, 'raw'>;

/* ---------------------------------- durations ------------------------------------------ */

const unitNs: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Go's time.ParseDuration, in nanoseconds (same errors). */
export function parseGoDuration(s: string): number {
  const orig = s;
  const q = JSON.stringify(orig);
  let neg = false;
  if (s.startsWith('-') || s.startsWith('+')) {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw new InstrError(`time: invalid duration ${q}`);
  let total = 0;
  while (s !== '') {
    if (!(s[0] === '.' || (s[0]! >= '0' && s[0]! <= '9'))) throw new InstrError(`time: invalid duration ${q}`);
    const num = /^([0-9]*)(?:\.([0-9]*))?/.exec(s)!;
    if ((num[1] ?? '') === '' && (num[2] ?? '') === '') throw new InstrError(`time: invalid duration ${q}`);
    s = s.slice(num[0].length);
    const unit = /^[^0-9.]*/.exec(s)![0];
    if (unit === '') throw new InstrError(`time: missing unit in duration ${q}`);
    const mult = unitNs[unit];
    if (mult === undefined) throw new InstrError(`time: unknown unit ${JSON.stringify(unit)} in duration ${q}`);
    total += Number.parseFloat(`${num[1] || '0'}.${num[2] || '0'}`) * mult;
    s = s.slice(unit.length);
  }
  return neg ? -total : total;
}

/* ---------------------------------- conversion ----------------------------------------- */

/** BuildKit's suggest.WrapError: the closest option (distance < 3), in the value's case. */
function suggest(val: string, options: readonly string[]): string | undefined {
  const v = val.toLowerCase();
  let best: string | undefined;
  let min = 3;
  for (const o of options) {
    const opt = o.toLowerCase();
    if (v === opt) return undefined;
    const d = levenshtein(v, opt);
    if (d < min) {
      min = d;
      best = val === val.toLowerCase() ? opt : val === val.toUpperCase() ? opt.toUpperCase() : opt;
    }
  }
  return best;
}

/** Edit distance (BuildKit's suggest package uses it for "did you mean"). */
export function levenshtein(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0]!;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j]!;
      dp[j] = Math.min(dp[j]! + 1, dp[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length]!;
}

const validStageName = /^[a-z][a-z0-9\-_.]*$/;

function convert(n: AstNode): Instruction {
  const a = args(n);
  const b = base(n);
  const flags = new BFlags(n.flags);
  const json = !!n.attributes.json;
  const cmd = n.value.toLowerCase();
  switch (cmd) {
    case 'env': {
      flags.parse();
      return { kind: 'ENV', ...b, pairs: kvps(a, 'ENV') };
    }
    case 'maintainer': {
      if (a.length !== 1) throw errExactlyOne('MAINTAINER');
      flags.parse();
      return { kind: 'MAINTAINER', ...b, maintainer: a[0]! };
    }
    case 'label': {
      flags.parse();
      return { kind: 'LABEL', ...b, pairs: kvps(a, 'LABEL') };
    }
    case 'add': {
      if (a.length < 2) throw errNoDest('ADD');
      const chown = flags.string('chown');
      const chmod = flags.string('chmod');
      const link = flags.bool('link');
      const keepGitDir = flags.bool('keep-git-dir');
      const checksum = flags.string('checksum');
      const exclude = flags.strings('exclude');
      const unpack = flags.bool('unpack');
      flags.parse();
      return {
        kind: 'ADD',
        ...b,
        ...sourcesAndDest(n, a, 'ADD'),
        json,
        chown: chown.value,
        chmod: chmod.value,
        link: link.bool ?? false,
        keepGitDir: keepGitDir.bool ?? false,
        checksum: checksum.value,
        exclude: exclude.values,
        unpack: unpack.bool,
      };
    }
    case 'copy': {
      if (a.length < 2) throw errNoDest('COPY');
      const chown = flags.string('chown');
      const from = flags.string('from');
      const chmod = flags.string('chmod');
      const link = flags.bool('link');
      const parents = flags.bool('parents');
      const exclude = flags.strings('exclude');
      flags.parse();
      if (from.value !== undefined && /\$./.test(from.value)) {
        throw new InstrError(`'from' doesn't support variable expansion, define alias stage instead`, '--from');
      }
      return {
        kind: 'COPY',
        ...b,
        ...sourcesAndDest(n, a, 'COPY'),
        json,
        from: from.value || undefined,
        chown: chown.value,
        chmod: chmod.value,
        link: link.bool ?? false,
        parents: parents.bool ?? false,
        exclude: exclude.values,
      };
    }
    case 'from': {
      let name: string | undefined;
      if (a.length === 3 && a[1]!.toLowerCase() === 'as') {
        name = a[2]!.toLowerCase();
        if (!validStageName.test(name)) {
          throw new InstrError(`invalid name for build stage: ${JSON.stringify(a[2])}, name can't start with a number or contain symbols`);
        }
      } else if (a.length !== 1) {
        throw new InstrError('FROM requires either one or three arguments');
      }
      const platform = flags.string('platform');
      flags.parse();
      return { kind: 'FROM', ...b, image: a[0]!, name, platform: platform.value };
    }
    case 'onbuild': {
      if (a.length === 0) throw errAtLeastOne('ONBUILD');
      flags.parse();
      const trigger = a[0]!.trim().toUpperCase();
      if (trigger === 'ONBUILD') throw new InstrError("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
      if (trigger === 'MAINTAINER' || trigger === 'FROM') throw new InstrError(`${trigger} isn't allowed as an ONBUILD trigger`);
      let expression = n.original.replace(/^\s*ONBUILD\s*/i, '');
      for (const h of n.heredocs) expression += '\n' + h.content + h.name;
      return { kind: 'ONBUILD', ...b, trigger, expression };
    }
    case 'workdir': {
      if (a.length !== 1) throw errExactlyOne('WORKDIR');
      flags.parse();
      return { kind: 'WORKDIR', ...b, path: a[0]! };
    }
    case 'run': {
      const mount = flags.strings('mount');
      const network = flags.string('network');
      const security = flags.string('security');
      flags.parse();
      const mounts: RunMount[] = [];
      for (const raw of mount.values) {
        try {
          mounts.push(parseRunMount(raw));
        } catch (e) {
          if (e instanceof InstrError) throw new InstrError(e.message, `--mount=${raw}`);
          throw e;
        }
      }
      if (network.value !== undefined && !['default', 'none', 'host'].includes(network.value)) {
        throw new InstrError(`invalid network mode ${JSON.stringify(network.value)}`, '--network');
      }
      if (security.value !== undefined && !['sandbox', 'insecure'].includes(security.value)) {
        throw new InstrError(`security ${JSON.stringify(security.value)} is not valid`, '--security');
      }
      const command = cmdLine(n, a);
      // execve takes C strings: the build would fail at the process, with nothing to point at
      if ((typeof command === 'string' ? [command] : command).some((w) => w.includes('\0'))) {
        throw new InstrError('the command contains a NUL byte, which no process argument can hold');
      }
      return {
        kind: 'RUN',
        ...b,
        command,
        json,
        mounts,
        network: network.value as RunInstruction['network'],
        security: security.value as RunInstruction['security'],
        heredocs: n.heredocs.map(heredocBody),
      };
    }
    case 'cmd':
      flags.parse();
      return { kind: 'CMD', ...b, command: cmdLine(n, a), json };
    case 'entrypoint':
      flags.parse();
      return { kind: 'ENTRYPOINT', ...b, command: cmdLine(n, a), json };
    case 'healthcheck': {
      if (a.length === 0) throw errAtLeastOne('HEALTHCHECK');
      const typ = a[0]!.toUpperCase();
      const rest = a.slice(1);
      if (typ === 'NONE') {
        if (rest.length !== 0) throw new InstrError('HEALTHCHECK NONE takes no arguments');
        return { kind: 'HEALTHCHECK', ...b, test: ['NONE'], json };
      }
      const fInterval = flags.string('interval');
      const fTimeout = flags.string('timeout');
      const fStartPeriod = flags.string('start-period');
      const fStartInterval = flags.string('start-interval');
      const fRetries = flags.string('retries');
      flags.parse();
      if (typ !== 'CMD') throw new InstrError(`Unknown type ${JSON.stringify(typ)} in HEALTHCHECK (try CMD)`);
      if (rest.length === 0) throw new InstrError('Missing command after HEALTHCHECK CMD');
      const test = json ? ['CMD', ...rest] : ['CMD-SHELL', rest.join(' ')];
      const interval = (f: FlagVal, name: string): number | undefined => {
        if (!f.value) return undefined;
        let d: number;
        try {
          d = parseGoDuration(f.value);
        } catch (e) {
          throw new InstrError((e as Error).message, `--${name}`);
        }
        if (d === 0) return 0;
        if (d < 1e6) throw new InstrError(`Interval ${JSON.stringify(name)} cannot be less than 1ms`, `--${name}`);
        return d;
      };
      let retries: number | undefined;
      if (fRetries.value) {
        if (!/^[+-]?[0-9]+$/.test(fRetries.value)) {
          throw new InstrError(`strconv.ParseInt: parsing ${JSON.stringify(fRetries.value)}: invalid syntax`, '--retries');
        }
        retries = Number.parseInt(fRetries.value, 10);
        if (retries < 0) throw new InstrError(`--retries cannot be negative (${retries})`, '--retries');
      }
      return {
        kind: 'HEALTHCHECK',
        ...b,
        test,
        json,
        interval: interval(fInterval, 'interval'),
        timeout: interval(fTimeout, 'timeout'),
        startPeriod: interval(fStartPeriod, 'start-period'),
        startInterval: interval(fStartInterval, 'start-interval'),
        retries,
      };
    }
    case 'expose': {
      if (a.length === 0) throw errAtLeastOne('EXPOSE');
      flags.parse();
      return { kind: 'EXPOSE', ...b, ports: a };
    }
    case 'user': {
      if (a.length !== 1) throw errExactlyOne('USER');
      flags.parse();
      return { kind: 'USER', ...b, user: a[0]! };
    }
    case 'volume': {
      if (a.length === 0) throw errAtLeastOne('VOLUME');
      flags.parse();
      const volumes: string[] = [];
      for (const v of a) {
        const t = v.trim();
        if (t === '') throw new InstrError('VOLUME specified can not be an empty string');
        volumes.push(t);
      }
      return { kind: 'VOLUME', ...b, volumes, json };
    }
    case 'stopsignal': {
      if (a.length !== 1) throw errExactlyOne('STOPSIGNAL');
      return { kind: 'STOPSIGNAL', ...b, signal: a[0]! };
    }
    case 'arg': {
      if (a.length < 1) throw errAtLeastOne('ARG');
      flags.parse();
      const out: ArgInstruction['args'] = [];
      for (const w of a) {
        const i = w.indexOf('=');
        if (i >= 0) {
          if (i === 0) throw new InstrError('ARG names can not be blank');
          out.push({ key: w.slice(0, i), value: w.slice(i + 1) });
        } else out.push({ key: w });
      }
      return { kind: 'ARG', ...b, args: out };
    }
    case 'shell': {
      flags.parse();
      if (a.length === 0) throw errAtLeastOne('SHELL');
      if (!json) throw new InstrError('SHELL requires the arguments to be in JSON form');
      return { kind: 'SHELL', ...b, shell: a, json: true };
    }
  }
  const hint = suggest(n.value, INSTRUCTION_NAMES);
  throw new InstrError(`unknown instruction: ${n.value}${hint ? ` (did you mean ${hint}?)` : ''}`);
}

/** Column of `needle` on the instruction's first source line (1-based), or the keyword column. */
function columnOf(n: AstNode, lines: readonly string[] | undefined, needle: string | undefined): number {
  if (!needle || !lines) return n.pos.col;
  for (let l = n.pos.line; l <= Math.min(n.endLine, n.pos.line + 50); l++) {
    const text = lines[l - 1];
    if (text === undefined) break;
    let idx = text.indexOf(needle);
    if (idx < 0 && needle.includes('=')) idx = text.indexOf(needle.slice(0, needle.indexOf('=')));
    if (idx >= 0) {
      if (l !== n.pos.line) return n.pos.col; // keep the instruction's line in messages
      return Array.from(text.slice(0, idx)).length + 1;
    }
  }
  return n.pos.col;
}

/** Converts one syntax-tree node to a typed instruction; throws `UserError` at `file:line:col`. */
export function toInstruction(n: AstNode, file?: string, lines?: readonly string[]): Instruction {
  try {
    return convert(n);
  } catch (e) {
    if (e instanceof InstrError) {
      throw new UserError(oneLine(e.message), { pos: { file, line: n.pos.line, col: columnOf(n, lines, e.flag) } });
    }
    throw e;
  }
}
