/**
 * stagecraft's own rules: what makes a shipped image carry build-time baggage (compilers, package
 * caches, devDependencies, whole build directories), credentials copied into layers, and
 * multi-stage mistakes (a final stage FROM a build stage, a system directory copied from a stage
 * on the same base, stages the target never uses). Descriptive names that collide with nothing.
 * In: RuleContext. Out: reports. Pure.
 */
import type { Instruction, RunInstruction } from '../dockerfile/index.js';
import type { RuleContext } from './context.js';
import { rootImage, runScript } from './model.js';
import { program, programArgs, splitCommands, type SimpleCommand } from './shellwords.js';
import { unquote } from './hadolint.js';

const SECRET_FILE = /(^|\/)(id_rsa|id_ed25519|id_ecdsa|id_dsa|\.npmrc|\.netrc|\.pypirc|\.git-credentials|\.env|credentials\.json)$/;
/** Directories a base image already fills (package managers' and interpreters' trees). */
const SYSTEM_DIR = /^\/(usr(\/local)?(\/lib(\/node_modules|\/python3[^/]*(\/(site|dist)-packages)?)?)?|lib|lib64|bin|sbin|etc|var(\/lib)?)$/;

/** Does this simple command compile something? */
function compiles(c: SimpleCommand): boolean {
  const p = program(c.argv);
  const a = programArgs(c.argv);
  if (['tsc', 'gcc', 'g++', 'cc', 'c++', 'clang', 'make', 'cmake', 'ninja', 'rustc', 'javac'].includes(p)) return true;
  if (p === 'configure' && c.argv[0]?.startsWith('./')) return true;
  if (p === 'go' && a[0] === 'build') return true;
  if (p === 'cargo' && (a[0] === 'build' || a[0] === 'install')) return true;
  if (p === 'mvn' || p === 'mvnw') return a.some((x) => ['package', 'install', 'verify'].includes(x));
  if (p === 'gradle' || p === 'gradlew') return a.some((x) => ['build', 'assemble', 'installDist', 'jar', 'bootJar'].includes(x));
  if ((p === 'npm' || p === 'pnpm') && a[0] === 'run' && a[1] === 'build') return true;
  if ((p === 'yarn' || p === 'pnpm') && a[0] === 'build') return true;
  if (p === 'pip' && a[0] === 'wheel') return true;
  if (/^python[0-9.]*$/.test(p) && a[0] === 'setup.py' && /^(build|bdist)/.test(a[1] ?? '')) return true;
  return false;
}

/** Does this command remove packages (the build dependencies purged in the same RUN)? */
function purges(c: SimpleCommand): boolean {
  const p = program(c.argv);
  const a = programArgs(c.argv);
  if ((p === 'apt-get' || p === 'apt') && a.some((x) => ['purge', 'remove', 'autoremove'].includes(x))) return true;
  if (p === 'apk' && a.includes('del')) return true;
  if ((p === 'yum' || p === 'dnf' || p === 'microdnf') && (a.includes('remove') || a.includes('erase') || a.includes('autoremove'))) return true;
  if (p === 'dpkg' && (a.includes('--purge') || a.includes('-P') || a.includes('-r'))) return true;
  return false;
}

const cmdsOf = (r: RunInstruction): SimpleCommand[] => (r.json && typeof r.command !== 'string' ? [{ argv: [...r.command], pipesTo: false, after: '' }] : splitCommands(runScript(r)));

function hasCacheMount(r: RunInstruction, part: string): boolean {
  return r.mounts.some((m) => m.type === 'cache' && (m.target ?? '').includes(part));
}

export function stagecraftChecks(ctx: RuleContext): void {
  const { m } = ctx;
  const multi = m.stages.length > 1;
  for (const st of m.stages) {
    const label = st.name !== undefined ? `stage "${st.name}"` : `stage ${st.index}`;
    const shipped = m.shipped.has(st.index);
    const isTarget = st.index === m.target;
    if (!m.needed.has(st.index)) ctx.report('UnusedStage', st.from, `${label} is not used by the target stage and is never built`);
    if (isTarget && st.base.kind === 'stage') {
      const b = m.stages[st.base.index]!;
      if (b.instructions.some((i) => i.kind === 'RUN')) {
        ctx.report('FinalStageFromBuildStage', st.from, `the final stage starts FROM "${b.name ?? st.base.index}", so everything that stage installed ships in the image; start from a clean base and COPY --from only the artifacts`);
      }
    }
    let nodeEnvProduction = false;
    for (const ins of st.instructions) {
      if (ins.kind === 'ENV' && ins.pairs.some((p) => p.key === 'NODE_ENV' && /production/.test(p.value))) nodeEnvProduction = true;
      secretFiles(ctx, ins);
      if (ins.kind === 'RUN') {
        const cmds = cmdsOf(ins);
        const npmInstalls = cmds.filter((c) => program(c.argv) === 'npm' && ['ci', 'install', 'i'].includes(programArgs(c.argv)[0] ?? ''));
        const script = runScript(ins);
        if (shipped && npmInstalls.length > 0 && !/npm\s+cache\s+clean/.test(script) && !/rm\s+-[a-z]*\s+[^;&|]*\.npm\b/.test(script) && !hasCacheMount(ins, '.npm')) {
          ctx.report('NpmCacheInShippedStage', ins, `npm's cache (~/.npm) stays in ${label}, which ships: use RUN --mount=type=cache,target=/root/.npm or npm cache clean --force`);
        }
        const devInstall = npmInstalls.some((c) => {
          const a = programArgs(c.argv);
          return !a.some((x) => /^(--omit=dev|--production|--only=prod(uction)?|-g|--global)$/.test(x)) && !(a.includes('--omit') && a[a.indexOf('--omit') + 1] === 'dev') && !/NODE_ENV=production/.test(c.argv.join(' '));
        });
        if (isTarget && devInstall && !nodeEnvProduction && !/NODE_ENV=production/.test(script)) ctx.report('DevDependenciesInFinalStage', ins, 'the final stage installs devDependencies: use npm ci --omit=dev');
      }
      if (ins.kind === 'COPY' && ins.from !== undefined) {
        const src = m.stages.find((s) => s.name === ins.from!.toLowerCase() || String(s.index) === ins.from);
        if (!src || src.index >= st.index) continue;
        const srcWorkdirs = src.instructions.filter((i) => i.kind === 'WORKDIR').map((i) => (i as { path: string }).path.replace(/\/+$/, ''));
        for (const s0 of ins.sources) {
          const s = unquote(s0);
          const norm = s.replace(/\/+$/, '').replace(/\/\.$/, '') || '/';
          if (norm === '/' || srcWorkdirs.includes(norm)) {
            ctx.report('CopyWholeStage', ins, `COPY --from=${ins.from} ${s} copies the stage's whole ${norm === '/' ? 'root filesystem' : 'working directory'}: caches, sources and devDependencies come along; copy only the artifacts`);
          }
          const base = rootImage(m, st.index);
          if (SYSTEM_DIR.test(norm) && base !== undefined && base === rootImage(m, src.index)) {
            ctx.report('SystemDirFromSameBase', ins, `COPY --from=${ins.from} ${s} copies a system directory from a stage on the same base (${base}): what the base already has there is stored a second time, and the image can end up larger than a single-stage build; copy only what the build stage added`);
          }
        }
      }
    }
  }
  for (const g of m.globalArgs) secretFiles(ctx, g.ins);
  // a single-stage Dockerfile that compiles, unless the build dependencies are purged in the same RUN
  if (!multi && m.stages.length === 1) {
    for (const ins of m.stages[0]!.instructions) {
      if (ins.kind !== 'RUN') continue;
      const cmds = cmdsOf(ins);
      if (cmds.some(compiles) && !cmds.some(purges)) {
        ctx.report('CompilerInFinalStage', ins, 'this single-stage Dockerfile compiles in the image it ships: the compiler and build dependencies stay in the final image (try `stagecraft convert`)');
        break;
      }
    }
  }
}

function secretFiles(ctx: RuleContext, ins: Instruction): void {
  if ((ins.kind === 'COPY' && ins.from === undefined) || ins.kind === 'ADD') {
    for (const s0 of ins.sources) {
      const s = unquote(s0);
      if (SECRET_FILE.test(s.replace(/\/+$/, ''))) ctx.report('SecretFileCopied', ins, `${ins.kind} puts the credentials file ${s} into a layer: use RUN --mount=type=secret instead`);
    }
  }
}
