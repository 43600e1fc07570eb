/**
 * The step dispatcher: BuildKit's dockerfile2llb `dispatch*` functions as a pure state machine.
 * In: a stage's running state (image config, the build-time environment that ENV *and* ARG feed,
 * declared ARGs, working dir, user) and one raw Step. Out: the mutated state, the history entry
 * exactly as BuildKit writes it, and — for RUN / COPY / ADD / WORKDIR — an `Action` with every
 * argument already expanded, which the engine executes and hashes into the cache key.
 * No I/O here: expansion goes through the injected `Lexer`, platforms and build args are inputs.
 */
import { posix } from 'node:path';
import type { ContainerConfig, ImageConfig, Platform, HistoryEntry } from '../image/types.js';
import { UserError } from '../util/errors.js';
import { MAX_CONFIG_TEXT } from '../util/limits.js';
import { goQuote, goQuoteList } from '../util/goquote.js';
import { resolveRunMount, type ResolvedRunMount } from '../dockerfile/index.js';
import type { CopyStep, Heredoc, Lexer, RunStep, Step } from './types.js';

export const HISTORY_COMMENT = 'buildkit.dockerfile.v0';
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The running state of one stage while its steps are dispatched. */
export interface StageState {
  /** progress prefix name: stage name, `stage-N`, or '' for a single-stage Dockerfile */
  stageName: string;
  config: ImageConfig;
  /** BuildKit's llb state env: image Env, then ARG values and ENV, AddOrReplace order */
  env: Array<[string, string]>;
  /** ARGs declared in this stage (and inherited from a FROM-stage parent) */
  buildArgs: Array<{ key: string; value?: string }>;
  /** the state's current dir (WorkingDir, normalised) */
  workdir: string;
  user: string;
  /** CMD dispatched in this stage (ENTRYPOINT resets an inherited Cmd only when not) */
  cmdSet: boolean;
  cmdTotal: number;
  cmdIndex: number;
}

export interface DispatchContext {
  lexer: Lexer;
  /** global ARGs (meta args + predefined platform args), build args applied */
  globalArgs: Record<string, string>;
  /** --build-arg values */
  buildArgValues: Record<string, string>;
  platform: Platform;
}

export interface RunAction {
  type: 'run';
  args: string[];
  env: string[];
  cwd: string;
  user: string;
  /** typed mounts, expanded, with BuildKit's defaults (target, ids) applied */
  mounts: ResolvedRunMount[];
  network?: string;
  /** files to place read-only at /dev/pipes/NAME for a shebang heredoc */
  pipes: Array<{ name: string; data: string }>;
}

export interface CopyAction {
  type: 'copy';
  add: boolean;
  srcs: string[];
  /** absolute destination, trailing slash kept */
  dest: string;
  /** heredoc files (name + data, expanded when the delimiter was unquoted) */
  inline: Array<{ name: string; data: string }>;
  from?: string;
  chown?: string;
  chmod?: string;
  link: boolean;
  parents: boolean;
  exclude: string[];
  checksum?: string;
  keepGitDir: boolean;
  unpack?: boolean;
  workdir: string;
}

export interface WorkdirAction {
  type: 'workdir';
  path: string;
  user: string;
}

export type Action = RunAction | CopyAction | WorkdirAction;

export interface DispatchResult {
  /** what the engine must execute (a layer-making step), or undefined for metadata */
  action?: Action;
  /** progress name (`[stage 2/5] RUN ...`), set for steps that are progress vertices */
  name?: string;
  history?: HistoryEntry;
}

// ---------------------------------------------------------------------------------------------
// state setup

export function cloneConfig(c: ImageConfig): ImageConfig {
  return JSON.parse(JSON.stringify(c)) as ImageConfig;
}

/** BuildKit's emptyImage(): the config a `FROM scratch` stage starts from. */
export function emptyImageConfig(platform: Platform): ImageConfig {
  const img: ImageConfig = {
    architecture: platform.architecture,
    os: platform.os,
    config: { Env: [`PATH=${DEFAULT_PATH}`], WorkingDir: '/' },
    rootfs: { type: 'layers', diff_ids: [] },
  };
  if (platform.variant) img.variant = platform.variant;
  return img;
}

/** Counts the progress vertices of a stage like BuildKit (FROM image + RUN/COPY/ADD/WORKDIR). */
export function countCommands(steps: Step[], fromImage: boolean): number {
  let n = fromImage ? 1 : 0;
  for (const s of steps) if (s.kind === 'run' || s.kind === 'copy' || s.kind === 'add' || s.kind === 'workdir' || s.onbuild) n++;
  return n;
}

/**
 * The state of a stage right after FROM: `base` is the base image's config (undefined = scratch)
 * or the parent stage's final state (FROM <stage>).
 */
export function initStageState(
  base: { kind: 'image'; config: ImageConfig } | { kind: 'scratch' } | { kind: 'stage'; state: StageState },
  platform: Platform,
  stageName: string,
): StageState {
  if (base.kind === 'stage') {
    const p = base.state;
    return {
      stageName,
      config: cloneConfig(p.config),
      env: p.env.map(([k, v]) => [k, v]),
      // the parent's ARG values stay in the environment, but (as in Docker 26's BuildKit) the
      // child's RUN history does not list them
      buildArgs: [],
      workdir: p.workdir,
      user: p.user,
      cmdSet: false,
      cmdTotal: 0,
      cmdIndex: 0,
    };
  }
  const config = base.kind === 'image' ? knownFields(cloneConfig(base.config)) : emptyImageConfig(platform);
  delete config.created;
  config.config ??= {};
  const cc = config.config;
  const st: StageState = { stageName, config, env: [], buildArgs: [], workdir: '/', user: '', cmdSet: false, cmdTotal: 0, cmdIndex: 0 };
  if (!(cc.Env ?? []).some((e) => envKey(e) === 'PATH')) cc.Env = [...(cc.Env ?? []), `PATH=${DEFAULT_PATH}`];
  for (const e of cc.Env ?? []) addStateEnv(st, envKey(e), envVal(e));
  if (cc.WorkingDir) {
    cc.WorkingDir = normalizeWorkdir('/', cc.WorkingDir);
    st.workdir = cc.WorkingDir;
  }
  if (cc.User) st.user = cc.User;
  return st;
}

// ---------------------------------------------------------------------------------------------
// helpers

const CONFIG_KEYS = ['User', 'ExposedPorts', 'Env', 'Entrypoint', 'Cmd', 'Volumes', 'WorkingDir', 'Labels', 'StopSignal', 'ArgsEscaped', 'Healthcheck', 'OnBuild', 'Shell'];
const IMAGE_KEYS = ['created', 'author', 'architecture', 'os', 'os.version', 'os.features', 'variant', 'config', 'rootfs', 'history'];

/**
 * BuildKit parses a base image's config into its own image type and so drops what that type does
 * not have (docker's `container_config`, `Hostname`, `AttachStdin`, ...): do the same.
 */
export function knownFields(c: ImageConfig): ImageConfig {
  const o = c as unknown as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!IMAGE_KEYS.includes(k)) delete o[k];
  if (c.config) {
    const cc = c.config as Record<string, unknown>;
    for (const k of Object.keys(cc)) if (!CONFIG_KEYS.includes(k)) delete cc[k];
    omitEmpty(c.config);
  }
  return c;
}

/** Go's `omitempty` on the config fields: '', false, null, [] and {} are left out. */
export function omitEmpty(cc: ContainerConfig): ContainerConfig {
  const o = cc as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    const v = o[k];
    if (v === '' || v === false || v === null || v === undefined) delete o[k];
    else if (Array.isArray(v) && v.length === 0) delete o[k];
    else if (typeof v === 'object' && !Array.isArray(v) && Object.keys(v as object).length === 0 && k !== 'Healthcheck') delete o[k];
  }
  return cc;
}

function envKey(e: string): string {
  const i = e.indexOf('=');
  return i < 0 ? e : e.slice(0, i);
}
function envVal(e: string): string {
  const i = e.indexOf('=');
  return i < 0 ? '' : e.slice(i + 1);
}

function addStateEnv(st: StageState, k: string, v: string): void {
  const i = st.env.findIndex(([kk]) => kk === k);
  if (i >= 0) st.env[i] = [k, v];
  else st.env.push([k, v]);
}

/** addEnv of convert.go: replace in place or append. */
export function addEnv(env: string[] | undefined, k: string, v: string): string[] {
  const out = [...(env ?? [])];
  const i = out.findIndex((e) => envKey(e) === k);
  if (i >= 0) out[i] = `${k}=${v}`;
  else out.push(`${k}=${v}`);
  return out;
}

export function envRecord(st: StageState): Record<string, string> {
  const r: Record<string, string> = {};
  for (const [k, v] of st.env) r[k] = v;
  return r;
}

/** The process environment of a RUN: the state env as K=V (ARG values included). */
export function runEnv(st: StageState): string[] {
  return st.env.map(([k, v]) => `${k}=${v}`);
}

function history(st: StageState, createdBy: string, withLayer: boolean, buildkitSuffix: boolean): HistoryEntry {
  const h: HistoryEntry = { created_by: buildkitSuffix ? `${createdBy} # buildkit` : createdBy, comment: HISTORY_COMMENT };
  if (!withLayer) h.empty_layer = true;
  st.config.history = [...(st.config.history ?? []), h];
  return h;
}

/**
 * BuildKit's NormalizeWorkdir: an absolute path is kept as written (`/a//b/./c/` stays so in the
 * config); a relative one is joined to the current dir and cleaned like Go's path.Join.
 */
export function normalizeWorkdir(current: string, requested: string): string {
  if (requested === '') throw new UserError('cannot normalize nothing');
  if (requested.startsWith('/')) return requested;
  return posix.normalize(posix.join('/', current || '/', requested)).replace(/(.)\/+$/, '$1');
}

/** Go's time.Duration String(). */
export function goDuration(ns: number): string {
  if (ns === 0) return '0s';
  const neg = ns < 0;
  let u = Math.abs(ns);
  let out: string;
  if (u < 1000) out = `${u}ns`;
  else if (u < 1e6) out = `${trimFloat(u / 1e3)}µs`;
  else if (u < 1e9) out = `${trimFloat(u / 1e6)}ms`;
  else {
    const h = Math.floor(u / 3.6e12);
    u -= h * 3.6e12;
    const m = Math.floor(u / 6e10);
    u -= m * 6e10;
    const s = trimFloat(u / 1e9);
    out = h > 0 ? `${h}h${m}m${s}s` : m > 0 ? `${m}m${s}s` : `${s}s`;
  }
  return neg ? `-${out}` : out;
}
function trimFloat(x: number): string {
  return String(Number(x.toFixed(9)));
}

/** `$VAR`/`${VAR}` substitution leaving quotes alone (BuildKit's RawQuotes/SkipProcessQuotes). */
export function expandRaw(text: string, env: Record<string, string>, skipUnset: boolean): string {
  return text.replace(/\\\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (m, a?: string, b?: string) => {
    if (m === '\\$') return m;
    const k = (a ?? b) as string;
    if (k in env) return env[k];
    return skipUnset ? m : '';
  });
}

function uppercaseCmd(s: string): string {
  const i = s.indexOf(' ');
  return i < 0 ? s.toUpperCase() : s.slice(0, i).toUpperCase() + s.slice(i);
}

/** `[stage 2/5] ` prefix (BuildKit's prefixCommand, width-padded index). */
export function prefixCommand(st: StageState, str: string, onbuild = false): string {
  if (st.cmdTotal === 0) return str;
  st.cmdIndex++;
  const w = 1 + Math.floor(Math.log10(st.cmdTotal));
  let out = '[';
  if (st.stageName) out += `${st.stageName} `;
  out += `${String(st.cmdIndex).padStart(w)}/${st.cmdTotal}] `;
  if (onbuild) out += 'ONBUILD ';
  return out + str;
}

function withShell(st: StageState, args: string[]): string[] {
  const sh = st.config.config?.Shell?.length ? [...(st.config.config.Shell as string[])] : ['/bin/sh', '-c'];
  return [...sh, args.join(' ')];
}

/** BuildKit's runCommandString: `|N K=V ... args`. */
function runCommandString(args: string[], st: StageState): string {
  const env = envRecord(st);
  const out: string[] = [];
  const idx = new Map<string, number>();
  for (const a of st.buildArgs) {
    const v = a.key in env ? env[a.key] : a.value ?? '';
    const kv = `${a.key}=${v}`;
    const i = idx.get(a.key);
    if (i !== undefined) out[i] = kv;
    else {
      idx.set(a.key, out.length);
      out.push(kv);
    }
  }
  const pre = out.length ? [`|${out.length}`, ...out] : [];
  return [...pre, ...args].join(' ');
}

const HEREDOC_ONLY = /^<<(-?)\s*(["']?)([A-Za-z_][A-Za-z0-9_]*)\2$/;

export function chompHeredoc(data: string): string {
  return data.replace(/^\t+/gm, '');
}

function summarizeHeredoc(doc: string): string {
  const lines = doc.trim().replace(/\r\n/g, '\n').split('\n');
  return lines.length > 1 ? `${lines[0]}...` : lines[0];
}

/** Refuses a config whose ENV and LABEL text passes MAX_CONFIG_TEXT (one line, positioned by the caller). */
function checkConfigText(cc: { Env?: string[] | null; Labels?: Record<string, string> | null }): void {
  let n = 0;
  for (const e of cc.Env ?? []) n += e.length;
  for (const [k, v] of Object.entries(cc.Labels ?? {})) n += k.length + v.length;
  if (n > MAX_CONFIG_TEXT) throw new UserError(`the image config's ENV and LABEL values exceed the maximum of ${MAX_CONFIG_TEXT} characters`);
}

/** Docker's nat.ParsePortSpecs, reduced to the keys it yields: `80/tcp`, ranges expanded. */
export function parsePortSpec(spec: string): string[] {
  let proto = 'tcp';
  let s = spec;
  const slash = s.lastIndexOf('/');
  if (slash >= 0) {
    proto = s.slice(slash + 1).toLowerCase();
    s = s.slice(0, slash);
  }
  if (!['tcp', 'udp', 'sctp'].includes(proto)) throw new UserError(`invalid proto: ${proto}`);
  const parts = s.split(':');
  const container = parts[parts.length - 1];
  const m = /^(\d+)(?:-(\d+))?$/.exec(container);
  if (!m) throw new UserError(`invalid containerPort: ${container}`);
  const a = Number(m[1]);
  const b = m[2] === undefined ? a : Number(m[2]);
  if (a > 65535 || b > 65535 || b < a) throw new UserError(`invalid containerPort: ${container}`);
  const out: string[] = [];
  for (let p = a; p <= b; p++) out.push(`${p}/${proto}`);
  return out;
}

const SIGNALS = [
  'ABRT', 'ALRM', 'BUS', 'CHLD', 'CLD', 'CONT', 'FPE', 'HUP', 'ILL', 'INT', 'IO', 'IOT', 'KILL', 'PIPE', 'POLL', 'PROF', 'PWR',
  'QUIT', 'SEGV', 'STKFLT', 'STOP', 'SYS', 'TERM', 'TRAP', 'TSTP', 'TTIN', 'TTOU', 'URG', 'USR1', 'USR2', 'VTALRM', 'WINCH', 'XCPU', 'XFSZ',
];

function validSignal(s: string): boolean {
  if (/^\d+$/.test(s)) return Number(s) > 0;
  const n = s.toUpperCase().replace(/^SIG/, '');
  if (SIGNALS.includes(n)) return true;
  return /^RTMIN(\+\d+)?$|^RTMAX(-\d+)?$/.test(n);
}

function goMapKeys(keys: string[]): string {
  return `map[${[...keys].sort().map((k) => `${k}:{}`).join(' ')}]`;
}

// ---------------------------------------------------------------------------------------------
// dispatch

/**
 * Applies one step to the stage state. Throws UserError (positioned by the caller) on bad input.
 */
export function dispatchStep(st: StageState, step: Step, ctx: DispatchContext): DispatchResult {
  const cc: ContainerConfig = (st.config.config ??= {});
  const env = envRecord(st);
  const word = (w: string): string => ctx.lexer.processWord(w, env);
  const displayName = (raw: boolean): string => {
    let s = step.original;
    try {
      s = raw ? expandRaw(step.original, env, true) : ctx.lexer.processWord(step.original, env);
    } catch {
      /* keep the original text */
    }
    return uppercaseCmd(s);
  };

  switch (step.kind) {
    case 'env': {
      const pairs = step.pairs.map((p) => ({ key: word(p.key), value: word(p.value) }));
      let msg = 'ENV';
      for (const p of pairs) {
        msg += ` ${p.key}=${p.value}`;
        addStateEnv(st, p.key, p.value);
        cc.Env = addEnv(cc.Env, p.key, p.value);
      }
      checkConfigText(cc);
      return { history: history(st, msg, false, false) };
    }
    case 'label': {
      const pairs = step.pairs.map((p) => ({ key: word(p.key), value: word(p.value) }));
      cc.Labels ??= {};
      let msg = 'LABEL';
      for (const p of pairs) {
        cc.Labels[p.key] = p.value;
        msg += ` ${p.key}=${p.value}`;
      }
      checkConfigText(cc);
      return { history: history(st, msg, false, false) };
    }
    case 'arg': {
      const strs: string[] = [];
      for (const a0 of step.args) {
        const a: { key: string; value?: string } = { key: a0.key, value: a0.value };
        const hasValue = Object.prototype.hasOwnProperty.call(ctx.buildArgValues, a.key);
        let hasDefault = a.value !== undefined;
        if (!hasDefault && !hasValue && Object.prototype.hasOwnProperty.call(ctx.globalArgs, a.key)) {
          a.value = ctx.globalArgs[a.key];
          hasDefault = false;
        }
        let declared: string | undefined;
        if (hasDefault) declared = a.value = ctx.lexer.processWord(a.value as string, envRecord(st));
        if (hasValue) a.value = ctx.buildArgValues[a.key];
        if (a.value !== undefined) addStateEnv(st, a.key, a.value);
        st.buildArgs.push(a);
        // Docker 26's BuildKit writes the ARG as declared (not the --build-arg or global value)
        strs.push(declared !== undefined ? `${a.key}=${declared}` : a.key);
      }
      return { history: history(st, `ARG ${strs.join(' ')}`, false, false) };
    }
    case 'workdir': {
      const wd = normalizeWorkdir(cc.WorkingDir ?? st.workdir, word(step.value));
      cc.WorkingDir = wd;
      st.workdir = wd;
      if (wd === '/') return { history: history(st, `WORKDIR ${wd}`, false, false) };
      const name = prefixCommand(st, displayName(false), step.onbuild);
      return { action: { type: 'workdir', path: wd, user: cc.User ?? '' }, name, history: history(st, `WORKDIR ${wd}`, true, false) };
    }
    case 'user': {
      const u = word(step.value);
      cc.User = u;
      st.user = u;
      return { history: history(st, `USER ${u}`, false, false) };
    }
    case 'expose': {
      const ports: string[] = [];
      for (const w of step.words) ports.push(...ctx.lexer.processWords(w, env));
      const keys = new Set<string>();
      for (const p of ports) for (const k of parsePortSpec(p)) keys.add(k);
      cc.ExposedPorts ??= {};
      for (const k of keys) cc.ExposedPorts[k] = {};
      return { history: history(st, `EXPOSE ${goMapKeys([...keys])}`, false, false) };
    }
    case 'volume': {
      const vols = step.words.map(word);
      cc.Volumes ??= {};
      for (const v of vols) {
        if (v === '') throw new UserError('VOLUME specified can not be an empty string');
        cc.Volumes[v] = {};
      }
      return { history: history(st, `VOLUME [${vols.join(' ')}]`, false, false) };
    }
    case 'stopsignal': {
      const s = word(step.value);
      if (!validSignal(s)) throw new UserError(`Invalid signal: ${s}`);
      cc.StopSignal = s;
      return { history: history(st, `STOPSIGNAL ${s}`, false, false) };
    }
    case 'maintainer': {
      st.config.author = step.value;
      return { history: history(st, `MAINTAINER ${step.value}`, false, false) };
    }
    case 'shell': {
      cc.Shell = [...step.shell];
      return { history: history(st, `SHELL [${step.shell.join(' ')}]`, false, false) };
    }
    case 'onbuild': {
      cc.OnBuild = [...(cc.OnBuild ?? []), step.expression];
      return {};
    }
    case 'cmd': {
      const args = step.shellForm ? withShell(st, step.cmd) : [...step.cmd];
      cc.Cmd = args;
      cc.ArgsEscaped = true;
      st.cmdSet = true;
      return { history: history(st, `CMD ${goQuoteList(args)}`, false, false) };
    }
    case 'entrypoint': {
      const args = step.shellForm ? withShell(st, step.cmd) : [...step.cmd];
      cc.Entrypoint = args;
      if (!st.cmdSet) delete cc.Cmd;
      return { history: history(st, `ENTRYPOINT ${goQuoteList(args)}`, false, false) };
    }
    case 'healthcheck': {
      const hc: NonNullable<ContainerConfig['Healthcheck']> = { Test: [...step.test] };
      const interval = step.interval ?? 0;
      const timeout = step.timeout ?? 0;
      const startPeriod = step.startPeriod ?? 0;
      const startInterval = step.startInterval ?? 0;
      const retries = step.retries ?? 0;
      // BuildKit marshals the Go struct with omitempty on every field but Test
      if (interval) hc.Interval = interval;
      if (timeout) hc.Timeout = timeout;
      if (startPeriod) hc.StartPeriod = startPeriod;
      if (startInterval) hc.StartInterval = startInterval;
      if (retries) hc.Retries = retries;
      cc.Healthcheck = hc;
      const retr = retries < 0x20 ? `'\\x${retries.toString(16).padStart(2, '0')}'` : `'${String.fromCharCode(retries)}'`;
      const msg = `HEALTHCHECK &{${goQuoteList(step.test)} ${goQuote(goDuration(interval))} ${goQuote(goDuration(timeout))} ${goQuote(goDuration(startPeriod))} ${goQuote(goDuration(startInterval))} ${retr}}`;
      return { history: history(st, msg, false, false) };
    }
    case 'run':
      return dispatchRun(st, step, ctx, displayName(true));
    case 'copy':
    case 'add':
      return dispatchCopy(st, step, ctx, displayName(false));
  }
}

function dispatchRun(st: StageState, c: RunStep, ctx: DispatchContext, display: string): DispatchResult {
  const env = envRecord(st);
  let args = [...c.cmd];
  let customName = display;
  const pipes: RunAction['pipes'] = [];
  if (c.heredocs.length > 0) {
    if (args.length !== 1 || !c.shellForm) throw new UserError(`parsing produced an invalid run command: [${args.join(' ')}]`);
    if (HEREDOC_ONLY.test(args[0].trim())) {
      const h = c.heredocs[0];
      let data = h.data;
      if (h.chomp) data = chompHeredoc(data);
      if (h.data.startsWith('#!')) {
        pipes.push({ name: h.name, data });
        args = [`/dev/pipes/${h.name}`];
      } else {
        args = [data];
      }
      customName += ` (${summarizeHeredoc(h.data)})`;
    } else {
      let full = args[0];
      for (const f of c.heredocs) full += `\n${f.data}${f.name}`;
      args = [full];
    }
  }
  if (c.shellForm) args = withShell(st, args);
  const mounts: ResolvedRunMount[] = [];
  for (const m of c.mounts) mounts.push(resolveRunMount(m, (v) => ctx.lexer.processWord(v, env), st.workdir, mounts.filter((x) => x.type === 'ssh').length));
  const name = prefixCommand(st, customName, c.onbuild);
  const runEnvVars = runEnv(st);
  // LLB's ExecOp: SSH_AUTH_SOCK points at the first ssh mount unless the env sets it (whether or
  // not an agent is given, so the step's key does not depend on it)
  const ssh = mounts.find((m) => m.type === 'ssh');
  if (ssh && !runEnvVars.some((e) => e.startsWith('SSH_AUTH_SOCK='))) runEnvVars.push(`SSH_AUTH_SOCK=${ssh.target}`);
  const action: RunAction = {
    type: 'run',
    args,
    env: runEnvVars,
    cwd: st.workdir,
    user: st.user,
    mounts,
    network: c.network,
    pipes,
  };
  const h = history(st, `RUN ${runCommandString(args, st)}`, true, true);
  return { action, name, history: h };
}

function parseChmod(s: string): number {
  if (!/^[0-7]+$/.test(s) || parseInt(s, 8) > 0o7777) {
    throw new UserError(`invalid chmod parameter: '${s}'. it should be octal string and between 0 and 07777`);
  }
  return parseInt(s, 8);
}

/** BuildKit's pathRelativeToWorkingDir: absolute destination with the trailing slash kept. */
export function resolveDest(workdir: string, dest: string): string {
  const trailing = dest.endsWith('/') || dest === '.' || dest === '' || dest.endsWith('/.');
  let p = dest;
  if (p === '.' || p === '') p = './';
  const abs = p.startsWith('/') ? posix.normalize(p) : posix.join(workdir, p);
  let out = posix.normalize(abs);
  if (out !== '/' && out.endsWith('/')) out = out.slice(0, -1);
  return trailing && out !== '/' ? `${out}/` : out;
}

function dispatchCopy(st: StageState, c: CopyStep, ctx: DispatchContext, display: string): DispatchResult {
  const env = envRecord(st);
  const word = (w: string): string => ctx.lexer.processWord(w, env);
  const srcs = c.srcs.map(word);
  const destRaw = word(c.dest);
  const chown = c.chown !== undefined ? word(c.chown) : undefined;
  const chmodStr = c.chmod !== undefined ? word(c.chmod) : undefined;
  if (chmodStr && /^[0-9]+$/.test(chmodStr)) parseChmod(chmodStr);
  const chmod = chmodStr || undefined;
  if (c.checksum && c.kind === 'copy') throw new UserError("checksum can't be specified for COPY");
  for (const s of srcs) {
    if (/^https?:\/\//.test(s) && c.kind === 'copy') throw new UserError("source can't be a URL for COPY");
  }
  const inline = c.heredocs.map((h: Heredoc) => {
    let data = h.data;
    if (h.chomp) data = chompHeredoc(data);
    if (h.expand) data = expandRaw(data, env, false);
    return { name: h.name, data };
  });
  let msg = c.kind === 'add' ? 'ADD' : 'COPY';
  if (c.parents) msg += ' --parents';
  if (chown) msg += ` --chown=${chown}`;
  if (chmodStr) msg += ` --chmod=${chmodStr}`;
  for (const s of srcs) msg += ` ${s}`;
  for (const h of c.heredocs) msg += ` <<${h.name}`;
  msg += ` ${destRaw}`;
  const name = prefixCommand(st, display, c.onbuild);
  const action: CopyAction = {
    type: 'copy',
    add: c.kind === 'add',
    srcs,
    dest: resolveDest(st.workdir, destRaw),
    inline,
    from: c.from,
    chown: chown || undefined,
    chmod,
    link: !!c.link,
    parents: !!c.parents,
    exclude: c.exclude.map(word),
    checksum: c.checksum ? word(c.checksum) : undefined,
    keepGitDir: !!c.keepGitDir,
    unpack: c.unpack,
    workdir: st.workdir,
  };
  return { action, name, history: history(st, msg, true, true) };
}

/** The progress name of the FROM vertex: `[stage 1/4] FROM docker.io/library/busybox:latest@sha256:...`. */
export function fromName(st: StageState, ref: string): string {
  return prefixCommand(st, `FROM ${ref}`);
}
