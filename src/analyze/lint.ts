/**
 * Dockerfile lint rules aimed at multi-stage builds: what makes a final image carry build-time
 * baggage (compilers, caches, devDependencies, whole build directories), what leaks secrets, plus
 * BuildKit's own build checks (JSONArgsRecommended, FromAsCasing, WorkdirRelativePath, ...).
 * In: a parsed Dockerfile and its plan. Out: findings with rule id, severity, message and position.
 */
import type { Dockerfile, Instruction, RunInstruction, Stage } from '../dockerfile/index.js';
import { fromChain, type Plan } from '../plan/index.js';

export type Severity = 'error' | 'warning' | 'info';

export interface LintFinding {
  rule: string;
  severity: Severity;
  message: string;
  line: number;
  col: number;
}

export interface LintRule {
  id: string;
  severity: Severity;
  summary: string;
}

/** Every rule, for `stagecraft lint --list` and the docs. */
export const LINT_RULES: LintRule[] = [
  { id: 'SC1001', severity: 'warning', summary: 'Base image without a tag, or with :latest' },
  { id: 'SC1002', severity: 'warning', summary: 'apt-get install without --no-install-recommends' },
  { id: 'SC1003', severity: 'warning', summary: 'apt lists left in the layer (no rm -rf /var/lib/apt/lists/* and no cache mount)' },
  { id: 'SC1004', severity: 'warning', summary: 'pip install without --no-cache-dir or a cache mount' },
  { id: 'SC1005', severity: 'warning', summary: 'npm install/ci leaves its cache in a stage that ships (no cache mount, no npm cache clean)' },
  { id: 'SC2001', severity: 'warning', summary: 'Single-stage Dockerfile that compiles: the build tools ship with the app (try `stagecraft convert`)' },
  { id: 'SC2002', severity: 'warning', summary: 'The final stage installs devDependencies (npm ci/install without --omit=dev)' },
  { id: 'SC2003', severity: 'warning', summary: 'The final stage starts FROM a build stage and inherits everything it installed' },
  { id: 'SC2004', severity: 'info', summary: "COPY --from copies a stage's whole working directory or root (caches and dev files come along)" },
  { id: 'SC2005', severity: 'info', summary: 'Stage not used by the target: it is never built' },
  { id: 'SC2006', severity: 'warning', summary: 'COPY --from of a system directory from a stage on the same base: what the base already has there is stored twice' },
  { id: 'SC3001', severity: 'warning', summary: 'Sensitive data in ARG or ENV (use RUN --mount=type=secret)' },
  { id: 'SC3002', severity: 'error', summary: 'COPY/ADD of a credentials file into the image' },
  { id: 'SC4001', severity: 'info', summary: 'JSON arguments recommended for CMD/ENTRYPOINT (signals reach the process)' },
  { id: 'SC4002', severity: 'warning', summary: 'More than one CMD/ENTRYPOINT/HEALTHCHECK in a stage: only the last counts' },
  { id: 'SC4003', severity: 'info', summary: 'MAINTAINER is deprecated: use LABEL org.opencontainers.image.authors' },
  { id: 'SC4004', severity: 'warning', summary: 'Relative WORKDIR without an absolute WORKDIR before it' },
  { id: 'SC4005', severity: 'warning', summary: "'as' and 'FROM' keywords' casing do not match" },
  { id: 'SC4006', severity: 'info', summary: 'ADD of a local file that is not an archive: use COPY' },
];

const SEV = new Map(LINT_RULES.map((r) => [r.id, r.severity]));
const BUILD_CMD = /\b(tsc|npm run build|yarn build|pnpm build|go build|cargo build|gcc|g\+\+|cc -|make\b|mvn (package|install)|gradle (build|assemble)|pip wheel|python setup\.py (build|bdist))/;
const SECRET_KEY = /(^|_)(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|CREDENTIALS?)($|_)/i;
const SECRET_FILE = /(^|\/)(id_rsa|id_ed25519|id_ecdsa|\.npmrc|\.netrc|\.pypirc|\.git-credentials|\.env|credentials\.json)$/;
/** Directories a base image already fills (package managers' and interpreters' trees). */
const SYSTEM_DIR = /^\/(usr(\/local)?(\/lib(\/node_modules|\/python3[^/]*(\/(site|dist)-packages)?)?)?|lib|lib64|bin|sbin|etc|var(\/lib)?)$/;
const ARCHIVE = /\.(tar|tar\.gz|tgz|tar\.bz2|tbz2?|tar\.xz|txz|tar\.zst)$/;

function runText(r: RunInstruction): string {
  const body = r.heredocs.map((h) => h.content).join('\n');
  return `${typeof r.command === 'string' ? r.command : r.command.join(' ')}\n${body}`;
}

function hasCacheMount(r: RunInstruction, pathPart: string): boolean {
  return r.mounts.some((m) => m.type === 'cache' && (m.target ?? '').includes(pathPart));
}

/** The image a stage's FROM chain starts from (undefined for scratch). */
function rootImage(plan: Plan, index: number): string | undefined {
  const base = plan.stages[fromChain(plan, index).at(-1) as number].base;
  return base.kind === 'image' ? base.ref : undefined;
}

export function lintDockerfile(df: Dockerfile, plan: Plan): LintFinding[] {
  const out: LintFinding[] = [];
  const add = (rule: string, ins: { pos: { line: number; col: number } }, message: string) =>
    out.push({ rule, severity: SEV.get(rule) ?? 'warning', message, line: ins.pos.line, col: ins.pos.col });
  // the stages whose filesystem ends up in the target
  const shipped = new Set(fromChain(plan, plan.target));

  for (const ps of plan.stages) {
    const st: Stage = df.stages[ps.index];
    // `stage "build"` for a named stage, `stage 0` for an unnamed one
    const label = st.name !== undefined ? `stage "${st.name}"` : `stage ${st.index}`;
    if (!ps.needed) add('SC2005', st.from, `${label} is not used by the target stage and is never built`);
    if (ps.base.kind === 'image') {
      const ref = ps.base.ref;
      const last = ref.split('/').pop() ?? ref;
      if (!ref.includes('@') && (!last.includes(':') || last.endsWith(':latest')) && !st.from.image.includes('$')) {
        add('SC1001', st.from, `Always tag the version of an image explicitly: ${st.from.image}`);
      }
    }
    const m = /^\s*(from)\b.*\s(as)\s/i.exec(st.from.original);
    if (m && (m[1] === m[1].toUpperCase()) !== (m[2] === m[2].toUpperCase())) {
      add('SC4005', st.from, `'${m[2]}' and '${m[1]}' keywords' casing do not match`);
    }
    if (ps.index === plan.target && ps.base.kind === 'stage') {
      const baseStage = df.stages[ps.base.index];
      if (baseStage.instructions.some((i) => i.kind === 'RUN')) {
        add('SC2003', st.from, `the final stage starts FROM "${baseStage.name ?? ps.base.index}", so everything that stage installed ships in the image; start from a clean base and COPY --from only the artifacts`);
      }
    }
    const seen = new Map<string, number>();
    let absWorkdir = false;
    const workdirs: string[] = [];
    for (const ins of st.instructions) {
      lintInstruction(ins);
      if (ins.kind === 'CMD' || ins.kind === 'ENTRYPOINT' || ins.kind === 'HEALTHCHECK') {
        seen.set(ins.kind, (seen.get(ins.kind) ?? 0) + 1);
        if (seen.get(ins.kind) === 2) add('SC4002', ins, `Multiple ${ins.kind} instructions should not be used in the same stage because only the last one will be used`);
      }
      if (ins.kind === 'WORKDIR') {
        if (ins.path.startsWith('/') || ins.path.startsWith('$')) absWorkdir = true;
        else if (!absWorkdir) add('SC4004', ins, `Relative workdir "${ins.path}" can have unexpected results if the base image changes`);
        workdirs.push(ins.path);
      }
      if (ins.kind === 'RUN') {
        const text = runText(ins);
        if (/apt-get\s+(-\S+\s+)*install/.test(text)) {
          if (!/--no-install-recommends/.test(text)) add('SC1002', ins, 'Avoid additional packages by specifying `--no-install-recommends`');
          if (!/rm -rf \/var\/lib\/apt\/lists/.test(text) && !hasCacheMount(ins, '/var/lib/apt')) add('SC1003', ins, 'Delete the apt-get lists after installing something (rm -rf /var/lib/apt/lists/*) or use a cache mount');
        }
        if (/\bpip3?\s+install\b/.test(text) && !/--no-cache-dir/.test(text) && !hasCacheMount(ins, '.cache/pip')) {
          add('SC1004', ins, 'Avoid the pip cache in the layer: pip install --no-cache-dir, or RUN --mount=type=cache,target=/root/.cache/pip');
        }
        if (shipped.has(ps.index) && /\bnpm\s+(ci|install|i)\b/.test(text) && !/npm cache clean/.test(text) && !hasCacheMount(ins, '.npm')) {
          add('SC1005', ins, `npm's cache (~/.npm) stays in ${label}, which ships: use RUN --mount=type=cache,target=/root/.npm or npm cache clean --force`);
        }
        if (ps.index === plan.target && /\bnpm\s+(ci|install|i)\b/.test(text) && !/--omit[= ]dev|--production|--only[= ]prod/.test(text)) {
          add('SC2002', ins, 'the final stage installs devDependencies: use npm ci --omit=dev');
        }
      }
      if (ins.kind === 'COPY' && ins.from !== undefined) {
        const src = df.stages.find((s) => s.name === ins.from?.toLowerCase() || String(s.index) === ins.from);
        if (src) {
          const srcWorkdirs = src.instructions.filter((i) => i.kind === 'WORKDIR').map((i) => (i as { path: string }).path.replace(/\/+$/, ''));
          for (const s of ins.sources) {
            const norm = s.replace(/\/+$/, '').replace(/\/\.$/, '') || '/';
            if (norm === '/' || srcWorkdirs.includes(norm)) {
              add('SC2004', ins, `COPY --from=${ins.from} ${s} copies the stage's whole ${norm === '/' ? 'root filesystem' : 'working directory'}: caches, sources and devDependencies come along; copy only the artifacts`);
            }
            const base = rootImage(plan, ps.index);
            if (SYSTEM_DIR.test(norm) && base !== undefined && base === rootImage(plan, src.index)) {
              add('SC2006', ins, `COPY --from=${ins.from} ${s} copies a system directory from a stage on the same base (${base}): what the base already has there is stored a second time, and the image can end up larger than a single-stage build; copy only what the build stage added`);
            }
          }
        }
      }
    }
  }
  for (const ins of df.globalArgs) lintInstruction(ins);
  if (df.stages.length === 1 && df.stages[0].instructions.some((i) => i.kind === 'RUN' && BUILD_CMD.test(runText(i)))) {
    const run = df.stages[0].instructions.find((i) => i.kind === 'RUN' && BUILD_CMD.test(runText(i))) as RunInstruction;
    add('SC2001', run, 'this single-stage Dockerfile compiles in the image it ships: the compiler and build dependencies stay in the final image (try `stagecraft convert`)');
  }
  return out.sort((a, b) => a.line - b.line || a.col - b.col || a.rule.localeCompare(b.rule));

  function lintInstruction(ins: Instruction): void {
    if (ins.kind === 'ARG' || ins.kind === 'ENV') {
      const keys = ins.kind === 'ARG' ? ins.args.map((a) => a.key) : ins.pairs.map((p) => p.key);
      for (const k of keys) if (SECRET_KEY.test(k)) add('SC3001', ins, `Do not use ARG or ENV instructions for sensitive data (${ins.kind} "${k}")`);
    }
    if (ins.kind === 'CMD' || ins.kind === 'ENTRYPOINT') {
      if (!ins.json) add('SC4001', ins, `JSON arguments recommended for ${ins.kind} to prevent unintended behavior related to OS signals`);
    }
    if (ins.kind === 'MAINTAINER') add('SC4003', ins, 'Maintainer instruction is deprecated in favor of using label');
    if (ins.kind === 'COPY' || ins.kind === 'ADD') {
      for (const s of ins.sources) if (SECRET_FILE.test(s.replace(/\/+$/, ''))) add('SC3002', ins, `${ins.kind} puts the credentials file ${s} into a layer: use RUN --mount=type=secret instead`);
    }
    if (ins.kind === 'ADD') {
      for (const s of ins.sources) if (!/^(https?|git)[:@]/.test(s) && !ARCHIVE.test(s)) add('SC4006', ins, `Use COPY instead of ADD for files and folders: ${s}`);
    }
  }
}
