/**
 * BuildKit's build checks (frontend/dockerfile/linter + the lint calls in instructions/parse.go
 * and dockerfile2llb), with BuildKit's names and message wording, decided statically.
 * What needs the pulled base image is approximated and documented in docs/LINT.md:
 * UndefinedVar runs only where the base image's Env is known (scratch, stage chains ending in
 * scratch, or `imageEnv`); JSONArgsRecommended assumes the base image sets no SHELL;
 * InvalidBaseImagePlatform is never reported statically.
 * In: RuleContext. Out: reports. Pure.
 */
import { levenshtein, ShellLex, type Instruction } from '../dockerfile/index.js';
import { parsePlatform, tryParseReference } from '../reference/index.js';
import type { RuleContext } from './context.js';
import { fromChain } from './model.js';

const SECRET = /(?:_|^)(?:apikey|auth|credential|credentials|key|password|pword|passwd|secret|token)(?:_|$)/i;
const SECRET_ALLOW = /(?:_|^)(?:public)(?:_|$)/i;
const RESERVED_STAGE_NAMES = new Set(['context', 'scratch']);
const NON_ENV_ARGS = new Set(['BUILDKIT_SBOM_SCAN_CONTEXT', 'BUILDKIT_SBOM_SCAN_STAGE']);

const selfConsistent = (s: string) => s === s.toLowerCase() || s === s.toUpperCase();

/** BuildKit's util/suggest.Search: the closest option at an edit distance under 3 (a case-only difference always qualifies). */
export function suggest(val: string, options: Iterable<string>): string {
  let best = '';
  let min = 3;
  for (const o of options) {
    if (o === val) return '';
    const d = o.toLowerCase() === val.toLowerCase() ? 0 : levenshtein(val, o);
    if (d < min) {
      min = d;
      best = o;
    }
  }
  return best;
}

/** THE platform parser (reference/platform.ts); a value it refuses names no platform. */
function platformOf(s: string): { os: string; arch: string } | undefined {
  try {
    const p = parsePlatform(s);
    return { os: p.os, arch: p.architecture };
  } catch {
    return undefined;
  }
}

/** EXPOSE's nat.splitParts: [ip:]hostPort:containerPort. */
function splitPort(raw: string): { ip: string; hostPort: string; containerPort: string } {
  const parts = raw.split(':');
  if (raw.startsWith('[')) {
    const close = raw.lastIndexOf(']');
    const rest = raw.slice(close + 1).split(':').filter((_, i) => i > 0);
    return { ip: raw.slice(0, close + 1), hostPort: rest.length > 1 ? rest[0]! : '', containerPort: rest.at(-1) ?? '' };
  }
  if (parts.length === 1) return { ip: '', hostPort: '', containerPort: parts[0]! };
  if (parts.length === 2) return { ip: '', hostPort: parts[0]!, containerPort: parts[1]! };
  return { ip: parts.slice(0, -2).join(':'), hostPort: parts.at(-2)!, containerPort: parts.at(-1)! };
}

export function buildkitChecks(ctx: RuleContext): void {
  const { m, opts } = ctx;
  const lex = new ShellLex(m.escapeChar);

  // --- parse-time checks (instructions.Parse): every instruction, every stage ---
  for (const w of m.warnings) {
    const mm = /:(\d+): empty continuation line/.exec(w);
    if (!mm) continue;
    const line = Number(mm[1]);
    const node = m.nodes.find((n) => n.pos.line === line);
    ctx.report('NoEmptyContinuation', node ? { pos: node.pos, endLine: node.endLine } : { line, col: 1 }, 'Empty continuation line');
  }
  m.nodes.forEach((node, i) => {
    const ins = m.typed[i];
    const kw = node.value.toLowerCase();
    if (kw === 'from' && node.args.length >= 3) {
      const name = node.args[2]!.value ?? '';
      if (name !== name.toLowerCase()) ctx.report('StageNameCasing', ins ?? { pos: node.pos, endLine: node.endLine }, `Stage name '${name}' should be lowercase`);
      const asKw = node.args[1]!.value ?? '';
      if (selfConsistent(node.value)) {
        const ok = node.value === node.value.toLowerCase() ? asKw === asKw.toLowerCase() : asKw === asKw.toUpperCase();
        if (!ok) ctx.report('FromAsCasing', ins ?? { pos: node.pos, endLine: node.endLine }, `'${asKw}' and '${node.value}' keywords' casing do not match`);
      }
    }
    if (kw === 'maintainer') ctx.report('MaintainerDeprecated', ins ?? { pos: node.pos, endLine: node.endLine }, 'Maintainer instruction is deprecated in favor of using label');
    if (ins && (ins.kind === 'ARG' || (ins.kind === 'FROM' && ins.name))) {
      const keys = ins.kind === 'ARG' ? ins.args.map((a) => a.key) : [node.args[2]?.value ?? ''];
      const last = node.comments.at(-1);
      if (last !== undefined && keys.length > 0 && !keys.includes(last.split(' ')[0]!)) {
        const example = keys.length > 1 ? '<arg_key>' : keys[0]!;
        ctx.report('InvalidDefinitionDescription', ins, `Comment for ${ins.kind} should follow the format: \`# ${example} <description>\``);
      }
    }
  });

  // --- stage names, casing (dockerfile2llb: validateStageNames, validateCommandCasing) ---
  const seen = new Set<string>();
  for (const st of m.stages) {
    if (!st.name) continue;
    if (RESERVED_STAGE_NAMES.has(st.name)) ctx.report('ReservedStageName', st.from, `Stage name should not use the same name as reserved stage "${st.name}"`);
    if (seen.has(st.name)) ctx.report('DuplicateStageName', st.from, `Duplicate stage name "${st.name}", stage names should be unique`);
    seen.add(st.name);
  }
  let lower = 0;
  let upper = 0;
  const stageNodes = m.stages.flatMap((s) => [s.node, ...s.nodes]);
  for (const n of stageNodes) {
    if (!selfConsistent(n.value)) continue;
    if (n.value === n.value.toLowerCase()) lower++;
    else upper++;
  }
  const majorityLower = lower > upper;
  for (const n of stageNodes) {
    let want = '';
    if (majorityLower && n.value !== n.value.toLowerCase()) want = 'lowercase';
    else if (!majorityLower && n.value !== n.value.toUpperCase()) want = 'uppercase';
    if (want) ctx.report('ConsistentInstructionCasing', { pos: n.pos, endLine: n.endLine }, `Command '${n.value}' should match the case of the command majority (${want})`);
  }

  // --- FROM: args, platform (dispatchState set-up) ---
  const declared = new Set<string>([...m.globalEnv.keys(), ...m.globalArgs.flatMap((g) => g.ins.args.map((a) => a.key))]);
  const defaultsEnv = new Map<string, string>();
  for (const [k, v] of m.globalEnv) if (!m.globalArgs.some((g) => g.ins.args.some((a) => a.key === k))) defaultsEnv.set(k, v);
  for (const g of m.globalArgs) {
    for (const a of g.ins.args) {
      if (a.value === undefined) continue;
      try {
        defaultsEnv.set(a.key, lex.processWord(a.value, defaultsEnv));
      } catch {
        /* BuildKit abandons this check */
      }
    }
  }
  for (const st of m.stages) {
    const undefinedIn = (word: string) => {
      try {
        const r = lex.processWordWithMatches(word, m.globalEnv);
        for (const u of r.unmatched) {
          if (declared.has(u)) continue;
          const s = suggest(u, declared);
          ctx.report('UndefinedArgInFrom', st.from, `FROM argument '${u}' is not declared${s ? ` (did you mean ${s}?)` : ''}`);
        }
        return r;
      } catch {
        return undefined;
      }
    };
    undefinedIn(st.from.image);
    try {
      const d = lex.processWord(st.from.image, defaultsEnv);
      if (!tryParseReference(d)) ctx.report('InvalidDefaultArgInFrom', st.from, `Default value for ARG ${st.from.image} results in empty or invalid base image name`);
    } catch {
      /* reported as a parse problem elsewhere */
    }
    if (st.from.platform !== undefined) {
      const r = undefinedIn(st.from.platform);
      if (r) {
        if (r.matched.size === 1 && r.unmatched.size === 0 && r.matched.has('TARGETPLATFORM') && r.result === m.globalEnv.get('TARGETPLATFORM')) {
          ctx.report('RedundantTargetPlatform', st.from, `Setting platform to predefined ${st.from.platform} in FROM is redundant as this is the default behavior`);
        }
        if (r.matched.size === 0 && r.unmatched.size === 0) {
          const p = platformOf(r.result);
          const name = st.name ?? '';
          if (p && !name.includes(p.os) && !name.includes(p.arch)) {
            ctx.report('FromPlatformFlagConstDisallowed', st.from, `FROM --platform flag should not use constant value "${r.result}"`);
          }
        }
      }
    }
  }

  // --- dispatch-time checks, per dispatched stage, in order ---
  type Env = Map<string, string>;
  const endEnv = new Map<number, Env | undefined>();
  const endWorkdirSet = new Map<number, boolean>();
  const endShell = new Map<number, boolean>();
  for (const st of m.stages) {
    if (!opts.allStages && !m.needed.has(st.index)) continue;
    // environment at the start: base stage's end, or the image's Env (unknown → undefined)
    let env: Env | undefined;
    let workdirSet = false;
    let shellSet = false;
    if (st.base.kind === 'stage') {
      const e = endEnv.get(st.base.index);
      env = e ? new Map(e) : undefined;
      workdirSet = endWorkdirSet.get(st.base.index) ?? false;
      shellSet = endShell.get(st.base.index) ?? false;
    } else if (st.base.kind === 'scratch') env = new Map();
    else if (st.base.kind === 'image') {
      const e = opts.imageEnv?.(st.base.ref);
      if (e) {
        env = new Map();
        for (const kv of e) {
          const i = kv.indexOf('=');
          env.set(i < 0 ? kv : kv.slice(0, i), i < 0 ? '' : kv.slice(i + 1));
        }
      }
    }
    if (env && !env.has('PATH')) env.set('PATH', '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
    const stageArgs = new Set<string>();
    // ARGs inherited through FROM <stage> count as declared
    for (const i of fromChain(m, st.index).slice(1)) for (const ins of m.stages[i]!.instructions) if (ins.kind === 'ARG') for (const a of ins.args) stageArgs.add(a.key);
    const tracked: Record<string, Instruction | undefined> = {};

    const expand = (ins: Instruction, word: string | undefined) => {
      if (word === undefined || !env) return;
      let r;
      try {
        r = lex.processWordWithMatches(word, env);
      } catch {
        return;
      }
      for (const u of r.unmatched) {
        if (stageArgs.has(u) || NON_ENV_ARGS.has(u)) continue;
        const s = suggest(u, env.keys());
        ctx.report('UndefinedVar', ins, `Usage of undefined variable '$${u}'${s ? ` (did you mean $${s}?)` : ''}`);
      }
    };
    const expandValue = (word: string | undefined): string | undefined => {
      if (word === undefined) return undefined;
      try {
        return lex.processWord(word, env ?? new Map());
      } catch {
        return word;
      }
    };

    st.instructions.forEach((ins, k) => {
      const node = st.nodes[k]!;
      switch (ins.kind) {
        case 'ENV':
          for (const p of ins.pairs) {
            expand(ins, p.value);
            if (p.legacy) ctx.report('LegacyKeyValueFormat', ins, `"${node.value} key=value" should be used instead of legacy "${node.value} key value" format`);
            if (SECRET.test(p.key) && !SECRET_ALLOW.test(p.key)) ctx.report('SecretsUsedInArgOrEnv', ins, `Do not use ARG or ENV instructions for sensitive data (ENV "${p.key}")`);
          }
          for (const p of ins.pairs) env?.set(p.key, expandValue(p.value) ?? '');
          break;
        case 'LABEL':
          for (const p of ins.pairs) {
            expand(ins, p.key);
            expand(ins, p.value);
            if (p.legacy) ctx.report('LegacyKeyValueFormat', ins, `"${node.value} key=value" should be used instead of legacy "${node.value} key value" format`);
          }
          break;
        case 'ARG':
          for (const a of ins.args) {
            if (SECRET.test(a.key) && !SECRET_ALLOW.test(a.key)) ctx.report('SecretsUsedInArgOrEnv', ins, `Do not use ARG or ENV instructions for sensitive data (ARG "${a.key}")`);
            let v: string | undefined;
            if (a.value !== undefined) {
              expand(ins, a.value);
              v = expandValue(a.value);
            } else v = m.globalEnv.get(a.key);
            if (v !== undefined && !NON_ENV_ARGS.has(a.key)) env?.set(a.key, v);
            stageArgs.add(a.key);
          }
          break;
        case 'WORKDIR': {
          expand(ins, ins.path);
          const p = ins.path;
          if (!workdirSet && !p.startsWith('/') && !p.startsWith('$') && !/^[A-Za-z]:[\\/]/.test(p)) {
            ctx.report('WorkdirRelativePath', ins, `Relative workdir ${JSON.stringify(p)} can have unexpected results if the base image changes`);
          }
          workdirSet = true;
          break;
        }
        case 'USER':
          expand(ins, ins.user);
          break;
        case 'VOLUME':
          for (const v of ins.volumes) expand(ins, v);
          break;
        case 'STOPSIGNAL':
          expand(ins, ins.signal);
          break;
        case 'SHELL':
          shellSet = true;
          break;
        case 'EXPOSE':
          for (const p of ins.ports) {
            expand(ins, p);
            let words: string[];
            try {
              words = lex.processWords(p, env ?? new Map());
            } catch {
              continue;
            }
            for (const raw of words) {
              const { ip, hostPort, containerPort } = splitPort(raw);
              const slash = containerPort.indexOf('/');
              const proto = slash >= 0 ? containerPort.slice(slash + 1) : '';
              if (proto !== proto.toLowerCase()) ctx.report('ExposeProtoCasing', ins, `Defined protocol '${raw}' in EXPOSE instruction should be lowercase`);
              if (ip !== '' || hostPort !== '') ctx.report('ExposeInvalidFormat', ins, `EXPOSE instruction should not define an IP address or host-port mapping, found '${raw}'`);
            }
          }
          break;
        case 'CMD':
        case 'ENTRYPOINT':
        case 'HEALTHCHECK': {
          const prev = tracked[ins.kind];
          if (prev) ctx.report('MultipleInstructionsDisallowed', prev, `Multiple ${m.nodes[m.typed.indexOf(prev)]?.value ?? ins.kind} instructions should not be used in the same stage because only the last one will be used`);
          tracked[ins.kind] = ins;
          if (ins.kind !== 'HEALTHCHECK' && !ins.json && !shellSet) {
            ctx.report('JSONArgsRecommended', ins, `JSON arguments recommended for ${node.value} to prevent unintended behavior related to OS signals`);
          }
          break;
        }
        case 'COPY':
        case 'ADD': {
          for (const s of ins.sources) expand(ins, s);
          expand(ins, ins.dest);
          if (ins.chown !== undefined) expand(ins, ins.chown);
          const fromContext = ins.kind === 'ADD' || ins.from === undefined;
          if (fromContext && opts.ignore) {
            for (const s of ins.sources) {
              const src = expandValue(s) ?? s;
              if (/^(https?:\/\/|git@|git:\/\/|ssh:\/\/)/.test(src)) continue;
              if (ignoredOrParent(opts.ignore, src)) {
                ctx.report('CopyIgnoredFile', ins, `Attempting to ${ins.kind === 'ADD' ? 'Add' : 'Copy'} file ${JSON.stringify(src)} that is excluded by .dockerignore`);
              }
            }
          }
          break;
        }
        default:
          break;
      }
    });
    endEnv.set(st.index, env);
    endWorkdirSet.set(st.index, workdirSet);
    endShell.set(st.index, shellSet);
  }
}

/** patternmatcher.MatchesOrParentMatches on a context path as written in COPY. */
function ignoredOrParent(ig: { ignores(rel: string): boolean }, src: string): boolean {
  const clean = src.replace(/^\.?\/+/, '').replace(/\/+$/, '').replace(/\/\.\//g, '/');
  if (clean === '' || clean === '.') return false;
  const parts = clean.split('/');
  for (let i = 1; i <= parts.length; i++) if (ig.ignores(parts.slice(0, i).join('/'))) return true;
  return false;
}

