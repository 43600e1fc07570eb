/**
 * Single-stage → multi-stage conversion. In: a parsed single-stage Dockerfile (and, optionally,
 * the context's package.json / tsconfig.json text). Out: Dockerfile text with a `build` stage (the
 * original steps) and a final stage from the same base that gets only the runtime artifacts and the
 * runtime metadata. Ecosystems it recognises: Node (npm + a compile step), Python (pip), Go; any
 * other build falls back to copying the working directory, with a comment saying to narrow it.
 */
import type { CopyInstruction, Dockerfile, Instruction, RunInstruction } from '../dockerfile/index.js';
import { UserError } from '../util/errors.js';

export interface ConvertInput {
  /** package.json of the context, if any */
  packageJson?: string;
  /** tsconfig.json of the context, if any */
  tsconfig?: string;
  /** explicit artifact paths (absolute in the build stage) to copy instead of the detected ones */
  artifacts?: string[];
}

export interface ConvertResult {
  text: string;
  ecosystem: 'node' | 'python' | 'go' | 'generic';
  artifacts: string[];
  notes: string[];
}

const RUNTIME_META = new Set(['CMD', 'ENTRYPOINT', 'EXPOSE', 'HEALTHCHECK', 'VOLUME', 'STOPSIGNAL']);

function runText(r: RunInstruction): string {
  return typeof r.command === 'string' ? r.command : r.command.join(' ');
}

/** The instruction's source text, heredoc bodies included. */
function sourceText(i: Instruction): string {
  const hs = 'heredocs' in i ? i.heredocs : [];
  if (hs.length === 0) return i.original;
  return [i.original, ...hs.map((h) => `${h.content}${h.content.endsWith('\n') || h.content === '' ? '' : '\n'}${h.name}`)].join('\n');
}

function joinPath(dir: string, p: string): string {
  if (p.startsWith('/')) return p;
  const clean = p.replace(/^\.\/?/, '').replace(/\/+$/, '');
  return `${dir.replace(/\/+$/, '')}/${clean}`.replace(/\/{2,}/g, '/');
}

/** Flags of a RUN that the final stage's install step must keep (secret and cache mounts). */
function mountFlags(r: RunInstruction): string {
  return r.flags.filter((f) => f.startsWith('--mount=') && /type=(secret|cache)/.test(f)).map((f) => `${f} `).join('');
}

function tsOutDir(tsconfig: string | undefined): string | undefined {
  if (!tsconfig) return undefined;
  const m = /"outDir"\s*:\s*"([^"]+)"/.exec(tsconfig);
  return m?.[1];
}

export function convertToMultiStage(df: Dockerfile, input: ConvertInput = {}): ConvertResult {
  if (df.stages.length !== 1) {
    const s = df.stages[1] ?? df.stages[0];
    throw new UserError(`already has ${df.stages.length} stages; convert takes a single-stage Dockerfile`, { pos: { file: df.file, line: s?.pos.line ?? 1, col: s?.pos.col ?? 1 } });
  }
  const st = df.stages[0];
  const notes: string[] = [];
  const ins = st.instructions;
  let workdir = '/';
  const workdirAt: string[] = [];
  for (const i of ins) {
    if (i.kind === 'WORKDIR') workdir = i.path.startsWith('/') ? i.path : joinPath(workdir, i.path);
    workdirAt.push(workdir);
  }
  const runs = ins.filter((i): i is RunInstruction => i.kind === 'RUN');
  const all = runs.map(runText).join('\n');
  const npmInstall = runs.find((r) => /\bnpm\s+(ci|install|i)\b/.test(runText(r)));
  const pipInstall = runs.find((r) => /\bpip3?\s+install\b/.test(runText(r)));
  const goBuild = /\bgo build\b.*-o\s+(\S+)/.exec(all);

  const globalArgs = df.globalArgs.map((a) => a.original);
  const fromLine = st.from.original.replace(/\s+as\s+\S+\s*$/i, '');
  const build: string[] = [`${fromLine} AS build`];
  const final: string[] = [fromLine];
  let ecosystem: ConvertResult['ecosystem'] = 'generic';
  let artifacts: string[] = [];
  const finalBody: string[] = [];

  // Build stage: every step except runtime-only metadata; pip installs into a prefix we can copy.
  ins.forEach((i, n) => {
    if (RUNTIME_META.has(i.kind)) return;
    if (i === pipInstall && !/--prefix/.test(runText(i))) {
      build.push(sourceText(i).replace(/\bpip(3?)\s+install\b/, 'pip$1 install --prefix=/install'));
      return;
    }
    build.push(sourceText(i));
    void n;
  });

  const finalWorkdir = workdir;
  const meta = ins.filter((i) => i.kind === 'ENV' || i.kind === 'LABEL' || i.kind === 'ARG');
  for (const m of meta) finalBody.push(sourceText(m));
  if (finalWorkdir !== '/') finalBody.push(`WORKDIR ${finalWorkdir}`);

  if (input.artifacts && input.artifacts.length > 0) {
    artifacts = input.artifacts;
    for (const a of artifacts) finalBody.push(`COPY --from=build ${a} ${a}`);
  } else if (npmInstall) {
    ecosystem = 'node';
    let pkg: { dependencies?: Record<string, string>; main?: string } = {};
    try {
      pkg = input.packageJson ? (JSON.parse(input.packageJson) as typeof pkg) : {};
    } catch {
      notes.push('package.json is not valid JSON: assuming runtime dependencies');
      pkg = { dependencies: { unknown: '*' } };
    }
    const pkgCopies = ins.filter((i): i is CopyInstruction => i.kind === 'COPY' && i.from === undefined && i.sources.some((s) => /package(-lock)?\.json|npm-shrinkwrap\.json|yarn\.lock/.test(s)));
    for (const c of pkgCopies) finalBody.push(sourceText(c));
    const hasRuntimeDeps = !input.packageJson || Object.keys(pkg.dependencies ?? {}).length > 0;
    if (hasRuntimeDeps) {
      finalBody.push(`RUN ${mountFlags(npmInstall)}${runText(npmInstall).replace(/\bnpm\s+(ci|install|i)\b.*$/, 'npm ci --omit=dev --no-audit --no-fund')} && npm cache clean --force`);
    } else notes.push('package.json has no runtime dependencies: node_modules stays in the build stage');
    const compiles = /\b(tsc|npm run build|yarn build|pnpm build)\b/.test(all);
    if (compiles) {
      const out = tsOutDir(input.tsconfig) ?? 'dist';
      artifacts = [joinPath(workdir, out)];
    } else {
      // no compile step: the sources are the artifact; copy what the build stage copied from the context
      const srcCopies = ins.filter((i): i is CopyInstruction => i.kind === 'COPY' && i.from === undefined && !pkgCopies.includes(i));
      for (const c of srcCopies) finalBody.push(sourceText(c));
    }
    for (const a of artifacts) finalBody.push(`COPY --from=build ${a} ${a}`);
  } else if (pipInstall) {
    ecosystem = 'python';
    artifacts = ['/install'];
    finalBody.push('COPY --from=build /install /usr/local');
    const srcCopies = ins.filter((i): i is CopyInstruction => i.kind === 'COPY' && i.from === undefined && !i.sources.some((s) => /requirements.*\.txt|pyproject\.toml|setup\.(py|cfg)/.test(s)));
    for (const c of srcCopies) finalBody.push(sourceText(c));
  } else if (goBuild) {
    ecosystem = 'go';
    const out = goBuild[1].replace(/[;&|].*$/, '');
    const abs = joinPath(workdirAt[ins.findIndex((i) => i.kind === 'RUN' && /go build/.test(runText(i)))] ?? workdir, out);
    artifacts = [abs];
    finalBody.push(`COPY --from=build ${abs} ${abs}`);
  } else {
    artifacts = [finalWorkdir];
    finalBody.push(`# TODO: narrow this to the files the app needs at run time`);
    finalBody.push(`COPY --from=build ${finalWorkdir} ${finalWorkdir}`);
    notes.push('no known ecosystem: copying the whole working directory; narrow it');
  }
  const user = [...ins].reverse().find((i) => i.kind === 'USER');
  if (user) finalBody.push(sourceText(user));
  for (const i of ins) if (RUNTIME_META.has(i.kind)) finalBody.push(sourceText(i));

  const header = [
    `# Converted to a multi-stage build by stagecraft convert (${ecosystem}).`,
    '# Stage "build" runs the original steps; the final stage starts again from the same base and',
    '# copies only the runtime artifacts, so compilers, caches and devDependencies stay behind.',
  ];
  const lines = [...directives(df), ...header, ...globalArgs, ...build, '', ...final, ...finalBody];
  return { text: `${lines.join('\n')}\n`, ecosystem, artifacts, notes };
}

function directives(df: Dockerfile): string[] {
  return df.directives.map((d) => `# ${d.name}=${d.value}`);
}

