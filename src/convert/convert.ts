/**
 * Single-stage → multi-stage conversion. In: the text of a single-stage Dockerfile (and, when the
 * caller has them, the context's package.json / tsconfig.json). Out: the text of a Dockerfile with
 * a `build` stage (the original steps, plus what it takes to leave a copyable result: pruned
 * node_modules, a venv, a static Go binary) and a final stage that gets only the runtime:
 * - the runtime comes from a package manager in the original (apt-get, apk, dnf): the final stage
 *   runs the same install with only the runtime packages (nodejs, python3, a JRE…), same flags and
 *   cleanup; npm, pip, compilers, -dev packages, Go and JDKs stay in the build stage;
 * - the base is a language image (node:*, python:*, eclipse-temurin:*-jdk…): its slim variant;
 * - Go with a `go build -o`: a static binary (CGO_ENABLED=0) on `scratch`.
 * What it cannot decide it says, in the output's comments and in `notes`. Pure: no disk, no spawn.
 */
import type { CopyInstruction, AddInstruction, Dockerfile, Instruction, RunInstruction } from '../dockerfile/index.js';
import { commandName, commandWords, joinCommands, parseDockerfile, splitCommands, type ShellCommand } from '../dockerfile/index.js';
import { UserError } from '../util/errors.js';
import { cleanPath } from '../util/fspath.js';
import { imageRuntime, slimVariant, type Runtime } from './images.js';
import { classifyCommand, packageName, rewriteInstall, runtimePackages, type CommandKind } from './packages.js';

export interface ConvertInput {
  /** file name for error messages */
  file?: string;
  /** package.json of the context, if any */
  packageJson?: string;
  /** tsconfig.json of the context, if any */
  tsconfig?: string;
  /** explicit artifact paths (absolute in the build stage) to copy instead of the detected ones */
  artifacts?: string[];
  /** the final stage's base image instead of the chosen one */
  finalBase?: string;
}

export type Ecosystem = 'node' | 'python' | 'go' | 'java' | 'generic';

export interface ConvertResult {
  text: string;
  ecosystem: Ecosystem;
  /** the final stage's FROM image */
  finalBase: string;
  /** paths copied from the build stage */
  artifacts: string[];
  /** system packages the final stage no longer installs */
  droppedPackages: string[];
  /** what convert could not decide or chose for the user (also written as comments) */
  notes: string[];
}

/** Instructions that describe how the image runs, not how it is built. */
const RUNTIME_META = new Set(['CMD', 'ENTRYPOINT', 'EXPOSE', 'HEALTHCHECK', 'VOLUME', 'STOPSIGNAL', 'ONBUILD']);
/** Instructions replayed in order in the final stage (the runtime environment). */
const REPLAYED = new Set(['ARG', 'ENV', 'LABEL', 'SHELL', 'USER', 'WORKDIR']);
/** Commands that build or fetch dependencies: never part of the final stage. */
const BUILD_TOOLS = new Set(['npm', 'npx', 'yarn', 'yarnpkg', 'pnpm', 'corepack', 'tsc', 'pip', 'pip3', 'poetry', 'pipenv', 'uv', 'go', 'gcc', 'g++', 'cc', 'make', 'cmake', 'mvn', 'gradle', 'cargo', 'rustc', 'javac', 'git', 'virtualenv']);
const USER_SETUP = new Set(['useradd', 'adduser', 'groupadd', 'addgroup', 'usermod']);

interface Step {
  ins: Instruction;
  /** the instruction as written (continuations, heredoc bodies) */
  text: string;
  /** working directory when the instruction runs */
  workdir: string;
  /** RUN (shell form, no heredoc): its commands and what each one is */
  cmds?: { cmd: ShellCommand; kind: CommandKind }[];
}

function joinPath(dir: string, p: string): string {
  return cleanPath(p.startsWith('/') ? p : `${dir}/${p}`);
}

function isPipInstall(k: CommandKind): boolean {
  if (k.kind !== 'other' || !k.name) return false;
  if (/^pip(3(\.\d+)?)?$/.test(k.name)) return k.args.includes('install');
  if (/^python(3(\.\d+)?)?$/.test(k.name)) return k.args[0] === '-m' && k.args[1] === 'pip' && k.args.includes('install');
  return false;
}

function nodeInstallTool(k: CommandKind): 'npm' | 'yarn' | 'pnpm' | undefined {
  if (k.kind !== 'other' || !k.name) return undefined;
  const a = k.args.filter((x) => !x.startsWith('-'));
  const global = k.args.includes('-g') || k.args.includes('--global');
  if (k.name === 'npm' && ['ci', 'install', 'i'].includes(a[0] ?? '') && !global && (a[0] === 'ci' || a.length === 1)) return 'npm';
  if (k.name === 'yarn' && (a.length === 0 || (a[0] === 'install' && a.length === 1))) return 'yarn';
  if (k.name === 'pnpm' && ['install', 'i'].includes(a[0] ?? '') && a.length === 1 && !global) return 'pnpm';
  return undefined;
}

function isNodeCompile(k: CommandKind): boolean {
  if (k.kind !== 'other' || !k.name) return false;
  const a = k.args.filter((x) => !x.startsWith('-'));
  if (k.name === 'tsc') return true;
  if (k.name === 'npx' && a[0] === 'tsc') return true;
  if ((k.name === 'npm' || k.name === 'pnpm' || k.name === 'yarn') && (a[0] === 'run' || a[0] === 'run-script') && a[1] === 'build') return true;
  return (k.name === 'yarn' || k.name === 'pnpm') && a[0] === 'build';
}

function isBuildTool(k: CommandKind): boolean {
  if (k.kind !== 'other' || !k.name) return false;
  if (BUILD_TOOLS.has(k.name) || /^pip3?(\.\d+)?$/.test(k.name)) return true;
  return /^python(3(\.\d+)?)?$/.test(k.name) && k.args[0] === '-m' && ['pip', 'venv', 'build', 'compileall'].includes(k.args[1] ?? '');
}

/** `-o out` / `-o=out` of a `go build`, when the command is one. */
function goBuildOutput(k: CommandKind): string | undefined | null {
  if (k.kind !== 'other' || k.name !== 'go' || k.args[0] !== 'build') return null;
  for (let i = 1; i < k.args.length; i++) {
    const a = k.args[i]!;
    if (a === '-o') return k.args[i + 1];
    if (a.startsWith('-o=')) return a.slice(3);
  }
  return undefined;
}

/** The words of CMD/ENTRYPOINT/HEALTHCHECK (exec or shell form). */
function commandOf(i: Instruction): { words: string[]; json: boolean } | undefined {
  if (i.kind === 'CMD' || i.kind === 'ENTRYPOINT') return typeof i.command === 'string' ? { words: commandWords(i.command), json: false } : { words: i.command, json: true };
  return undefined;
}

const q = (s: string) => JSON.stringify(s);

export function convertDockerfile(source: string, input: ConvertInput = {}): ConvertResult {
  const df = parseDockerfile(source, { file: input.file });
  return convertParsed(df, source, input);
}

export function convertParsed(df: Dockerfile, source: string, input: ConvertInput = {}): ConvertResult {
  if (df.stages.length !== 1) {
    const s = df.stages[1] ?? df.stages[0];
    throw new UserError(`already has ${df.stages.length} stages; convert takes a single-stage Dockerfile`, { pos: { file: df.file, line: s?.pos.line ?? 1, col: s?.pos.col ?? 1 } });
  }
  const esc = df.escapeChar;
  const lines = source.split(/\r?\n/);
  const stage = df.stages[0]!;
  const buildName = stage.name === 'build' ? 'builder' : 'build';
  const notes: string[] = [];
  const note = (n: string) => notes.includes(n) || notes.push(n);

  // ---- read the stage
  let wd = '/';
  const steps: Step[] = stage.instructions.map((ins) => {
    const s: Step = { ins, text: lines.slice(ins.pos.line - 1, ins.endLine).join('\n'), workdir: wd };
    if (ins.kind === 'WORKDIR') wd = joinPath(wd, ins.path);
    if (ins.kind === 'RUN' && typeof ins.command === 'string' && ins.heredocs.length === 0) {
      s.cmds = splitCommands(ins.command).map((cmd) => ({ cmd, kind: classifyCommand(cmd.text) }));
    }
    return s;
  });
  const workdir = wd;
  const allCmds = steps.flatMap((s) => (s.cmds ?? []).map((c) => ({ ...c, step: s })));
  const installed = new Set(allCmds.flatMap((c) => (c.kind.kind === 'install' ? c.kind.packages.map(packageName) : [])));
  const fromImage = stage.from.image;
  const imageRt = imageRuntime(fromImage);
  const pkgRt: Runtime | undefined = [...installed].some((p) => p === 'nodejs')
    ? 'node'
    : [...installed].some((p) => /^(python3?(\.\d+)?|python3-minimal)$/.test(p))
      ? 'python'
      : [...installed].some((p) => /^golang/.test(p) || p === 'go')
        ? 'go'
        : [...installed].some((p) => /jdk/.test(p))
          ? 'java'
          : undefined;
  const runtime = pkgRt ?? imageRt;
  const runtimeMeta = steps.filter((s) => RUNTIME_META.has(s.ins.kind));
  const cmdStep = [...runtimeMeta].reverse().find((s) => s.ins.kind === 'CMD');
  const epStep = [...runtimeMeta].reverse().find((s) => s.ins.kind === 'ENTRYPOINT');

  const nodeInstall = allCmds.find((c) => nodeInstallTool(c.kind));
  const pipInstall = allCmds.find((c) => isPipInstall(c.kind));
  const userVenv = allCmds.find((c) => c.kind.kind === 'other' && ((/^python/.test(c.kind.name ?? '') && c.kind.args[0] === '-m' && c.kind.args[1] === 'venv') || c.kind.name === 'virtualenv'));
  const goBuild = allCmds.find((c) => goBuildOutput(c.kind) !== null);
  let ecosystem: Ecosystem = 'generic';
  if (goBuild) ecosystem = 'go';
  else if (nodeInstall || runtime === 'node') ecosystem = 'node';
  else if (pipInstall || runtime === 'python') ecosystem = 'python';
  else if (runtime === 'java' || allCmds.some((c) => c.kind.kind === 'other' && ['mvn', 'gradle', './mvnw', './gradlew'].includes(c.kind.name ?? ''))) ecosystem = 'java';

  // ---- the build stage: the original steps, plus what makes the result copyable
  const buildLines: string[] = [];
  /** extra build steps go after the last RUN/COPY/ADD (before a trailing USER) */
  let lastBuildStep = -1;
  const extraBuild: string[] = [];
  const finalCopies: string[] = [];
  const finalEnv: string[] = [];
  let finalBase = fromImage;
  let scratch = false;
  const keepPackages = new Set<string>();
  let newCmd: string | undefined;

  // python: a venv in the build stage, copied whole
  const VENV = '/opt/venv';
  const venvBefore = ecosystem === 'python' && pipInstall && !userVenv ? pipInstall : undefined;
  const needPyVenvPkg = venvBefore && pkgRt === 'python' && installed.has('python3') && !installed.has('python3-venv') && ![...installed].some((p) => /^python3\.\d+-venv$/.test(p));

  // go: CGO_ENABLED=0 unless the Dockerfile asks for cgo
  const cgoOn = /CGO_ENABLED=1/.test(source);
  const goOut = goBuild ? goBuildOutput(goBuild.kind) : undefined;

  for (const s of steps) {
    if (RUNTIME_META.has(s.ins.kind)) continue;
    if (s === steps.find((x) => x.ins.kind !== 'ARG') && ecosystem === 'go' && goOut && !cgoOn) buildLines.push('ENV CGO_ENABLED=0');
    const hasVenvCmd = venvBefore && s === venvBefore.step;
    // Debian splits venv (ensurepip) out of python3; Alpine's and Fedora's python3 have it
    const isAptPython = (k: CommandKind) => k.kind === 'install' && k.manager === 'apt' && k.packages.some((p) => packageName(p) === 'python3');
    const addVenvPkg = needPyVenvPkg && s.cmds?.some((c) => isAptPython(c.kind));
    if ((hasVenvCmd || addVenvPkg) && s.ins.kind === 'RUN' && s.cmds) {
      const cmds = s.cmds.flatMap(({ cmd, kind }) => {
        const out: ShellCommand[] = [];
        if (hasVenvCmd && cmd === venvBefore.cmd) out.push({ text: `python3 -m venv --system-site-packages ${VENV}`, op: '&&' });
        if (addVenvPkg && kind.kind === 'install' && isAptPython(kind)) out.push({ ...cmd, text: rewriteInstall(cmd.text, kind.manager, [...kind.packages, 'python3-venv']) });
        else out.push(cmd);
        return out;
      });
      if (addVenvPkg) note('the build stage also installs python3-venv, to make the venv the final stage copies');
      if (hasVenvCmd) buildLines.push(`ENV VIRTUAL_ENV=${VENV} PATH="${VENV}/bin:$PATH"`);
      buildLines.push(runLine(s.ins, cmds, esc));
      lastBuildStep = buildLines.length - 1;
      continue;
    }
    buildLines.push(s.text);
    if (s.ins.kind === 'RUN' || s.ins.kind === 'COPY' || s.ins.kind === 'ADD') lastBuildStep = buildLines.length - 1;
  }

  // ---- the final stage's base and its runtime packages
  const slim = slimVariant(fromImage);
  const entry = epStep ? commandOf(epStep.ins) : undefined;
  const cmd = cmdStep ? commandOf(cmdStep.ins) : undefined;
  const runsWith = [...(entry?.words ?? []), ...(entry && entry.json === false ? [] : (cmd?.words ?? []))];
  const healthShell = runtimeMeta.some((s) => s.ins.kind === 'HEALTHCHECK' && /CMD-SHELL|HEALTHCHECK\s+(--\S+\s+)*CMD\s+[^[]/i.test(s.ins.original));
  const userStep = [...steps].reverse().find((s) => s.ins.kind === 'USER');

  if (ecosystem === 'go' && goOut && !cgoOn) {
    const shellForm = (entry && !entry.json) || (!entry && cmd && !cmd.json);
    const shellMeta = (w: string[]) => w.some((x) => /[|&;<>()$`*?]/.test(x));
    if (healthShell || (shellForm && shellMeta(runsWith))) {
      note('the image runs a shell command (shell-form CMD/ENTRYPOINT or HEALTHCHECK): the final stage keeps the base image instead of scratch');
    } else {
      scratch = true;
      finalBase = 'scratch';
      if (shellForm) newCmd = 'exec';
      if (userStep && userStep.ins.kind === 'USER' && !/^\d+(:\d+)?$/.test(userStep.ins.user)) finalCopies.push('/etc/passwd', '/etc/group');
      if (installed.has('ca-certificates') || imageRt === 'go') finalCopies.push('/etc/ssl/certs/ca-certificates.crt');
    }
  }
  if (ecosystem === 'go' && goOut) {
    const bin = joinPath(goBuild!.step.workdir, goOut);
    finalCopies.unshift(bin);
    note(`the final stage gets the ${scratch ? 'static ' : ''}binary ${bin} only: add other files it needs at run time with --artifact`);
  } else if (ecosystem === 'go' && !goOut) {
    note('go build without -o: could not tell where the binary goes; copying the working directory (use --artifact)');
  }
  if (!scratch && !pkgRt && slim) finalBase = slim;
  if (input.finalBase) finalBase = input.finalBase;
  if (finalBase !== fromImage && finalBase !== 'scratch' && !input.finalBase) note(`the final stage uses ${finalBase}, the slim variant of ${fromImage}`);

  // ---- node: prune devDependencies in the build stage, copy the app
  let pkg: { dependencies?: Record<string, string>; scripts?: Record<string, string> } | undefined;
  if (input.packageJson !== undefined) {
    try {
      pkg = JSON.parse(input.packageJson) as typeof pkg;
    } catch {
      note('package.json is not valid JSON: assuming it has runtime dependencies');
    }
  }
  if (ecosystem === 'node') {
    const hasDeps = pkg ? Object.keys(pkg.dependencies ?? {}).length > 0 : true;
    // `npm start` needs npm at run time: run what the start script runs, when it is a plain node command
    const npmStart = runsWith[0] === 'npm' && (runsWith[1] === 'start' || (runsWith[1] === 'run' && runsWith[2] === 'start'));
    if (npmStart && pkgRt === 'node' && !entry) {
      const start = pkg?.scripts?.start;
      if (start && /^node(\s+[\w./@-]+)+$/.test(start.trim())) newCmd = JSON.stringify(start.trim().split(/\s+/));
      else keepPackages.add('npm');
    }
    const compile = allCmds.some((c) => isNodeCompile(c.kind));
    const outDir = (input.tsconfig && /"outDir"\s*:\s*"([^"]+)"/.exec(input.tsconfig)?.[1]) || 'dist';
    const outAbs = joinPath(workdir, outDir);
    const cmdPaths = (newCmd ? (JSON.parse(newCmd) as string[]) : runsWith).filter((w) => !w.startsWith('-')).map((w) => joinPath(workdir, w));
    if (compile && workdir !== '/' && cmdPaths.some((p) => p === outAbs || p.startsWith(`${outAbs}/`))) {
      finalCopies.push(joinPath(workdir, 'package.json'));
      if (hasDeps && nodeInstall) finalCopies.push(joinPath(workdir, 'node_modules'));
      finalCopies.push(outAbs);
      note(`the final stage gets package.json, ${hasDeps && nodeInstall ? 'the production node_modules and ' : ''}${outDir} (what CMD runs): add other files it needs at run time with --artifact`);
    }
    const narrowWithoutModules = finalCopies.includes(outAbs) && !finalCopies.includes(joinPath(workdir, 'node_modules'));
    if (nodeInstall && !narrowWithoutModules) {
      const tool = nodeInstallTool(nodeInstall.kind)!;
      const r = nodeInstall.step.ins as RunInstruction;
      const mounts = r.flags.filter((f) => f.startsWith('--mount=')).join(' ');
      const prefix = commandWords(nodeInstall.cmd.text).filter((w, i, a) => a.slice(0, i + 1).every((x) => /^[A-Za-z_][A-Za-z0-9_]*=/.test(x))).join(' ');
      if (tool === 'npm') extraBuild.push('RUN npm prune --omit=dev --no-audit --no-fund');
      else if (tool === 'pnpm') extraBuild.push('RUN pnpm prune --prod');
      else extraBuild.push(`RUN ${mounts ? `${mounts} ` : ''}${prefix ? `${prefix} ` : ''}yarn install --production --frozen-lockfile`);
    }
    if (!nodeInstall) note('no npm/yarn/pnpm install found: copying the application as built');
  }

  // ---- python: the venv
  if (ecosystem === 'python') {
    if (venvBefore) {
      finalCopies.push(VENV);
      finalEnv.push(`ENV VIRTUAL_ENV=${VENV} PATH="${VENV}/bin:$PATH"`);
    } else if (userVenv) {
      const w = userVenv.kind.kind === 'other' ? userVenv.kind.args.filter((a) => !a.startsWith('-') && a !== 'venv') : [];
      const dir = w[w.length - 1];
      if (dir) finalCopies.push(joinPath(userVenv.step.workdir, dir));
    }
    if (allCmds.some((c) => c.kind.kind === 'other' && ['poetry', 'pipenv', 'uv'].includes(c.kind.name ?? ''))) note('poetry/pipenv/uv manage their own environments: check that the copied paths hold the installed packages');
  }
  if (ecosystem === 'java') note('java: copying the working directory; narrow it to the jar (or the unpacked app) with --artifact');

  // the application itself: the working directory, or what the context COPYs brought in
  const hasAppCopy = finalCopies.some((p) => p === workdir || p.startsWith(`${workdir}/`));
  if (!hasAppCopy && !(ecosystem === 'go' && goOut)) {
    for (const p of appPaths(steps, workdir, note)) if (!finalCopies.includes(p)) finalCopies.push(p);
  }
  if (ecosystem === 'generic') note('no known language ecosystem (Node, Python, Go, Java): copying the application files as built; narrow them with --artifact');
  const artifacts = input.artifacts && input.artifacts.length > 0 ? input.artifacts.map((a) => joinPath(workdir, a)) : finalCopies;

  // ---- the final stage
  const finalLines: string[] = [];
  const dropped = new Set<string>();
  if (!scratch) {
    for (const s of steps) {
      if (REPLAYED.has(s.ins.kind)) {
        if (!(s.ins.kind === 'USER' && s === userStep)) finalLines.push(s.text);
        continue;
      }
      if (s.ins.kind !== 'RUN' || !s.cmds) continue;
      const kept = finalRun(s, keepPackages, dropped);
      if (kept) finalLines.push(runLine(s.ins, kept, esc));
    }
  } else {
    for (const s of steps) if ((s.ins.kind === 'ENV' || s.ins.kind === 'LABEL' || s.ins.kind === 'ARG' || s.ins.kind === 'WORKDIR') && !/CGO_ENABLED/.test(s.text)) finalLines.push(s.text);
  }
  finalLines.push(...finalEnv);
  for (const a of artifacts) finalLines.push(`COPY --from=${buildName} ${a} ${a}`);
  if (userStep) finalLines.push(userStep.text);
  for (const s of runtimeMeta) {
    if (newCmd && ((s === epStep && entry && !entry.json) || (s === cmdStep && !(entry && !entry.json)))) {
      const words = newCmd === 'exec' ? commandOf(s.ins)!.words : (JSON.parse(newCmd) as string[]);
      finalLines.push(`${s.ins.kind} [${words.map(q).join(', ')}]`);
      if (newCmd !== 'exec') note(`${s.ins.kind} ${runsWith.join(' ')} became ${s.ins.kind} ${words.join(' ')} (the start script) so that the final stage needs no npm`);
      continue;
    }
    finalLines.push(s.text);
  }
  if (dropped.size > 0) note(`the final stage does not install ${[...dropped].join(', ')} (build only)`);
  if (runtime && !pkgRt && !imageRt) note(`could not tell where ${runtime} comes from`);

  const header = [
    `# Converted to a multi-stage build by stagecraft convert (${ecosystem}).`,
    `# Stage "${buildName}" runs the original steps; the final stage starts again from`,
    `# ${finalBase === 'scratch' ? 'scratch' : finalBase === fromImage ? 'the same base' : finalBase}${pkgRt && !scratch ? ', installs only the runtime packages' : ''} and copies only what the app needs to run.`,
    ...notes.map((n) => `# note: ${n}`),
  ];
  const globalArgs = df.globalArgs.map((a) => lines.slice(a.pos.line - 1, a.endLine).join('\n'));
  const directives = df.directives.map((d) => `# ${d.name}=${d.value}`);
  const asName = /\s+as\s+(\S+)\s*$/i.exec(stage.from.original)?.[1];
  const fromFlags = stage.from.platform ? `--platform=${stage.from.platform} ` : '';
  const out = [
    ...directives,
    ...header,
    ...globalArgs,
    `FROM ${fromFlags}${fromImage} AS ${buildName}`,
    ...buildLines.slice(0, lastBuildStep + 1),
    ...extraBuild,
    ...buildLines.slice(lastBuildStep + 1),
    '',
    `FROM ${fromFlags}${finalBase}${asName ? ` AS ${asName}` : ''}`,
    ...finalLines,
  ];
  return { text: `${out.join('\n')}\n`, ecosystem, finalBase, artifacts, droppedPackages: [...dropped], notes };
}

/**
 * A RUN of the original as the final stage needs it: package installs with only the runtime
 * packages (and the package manager's update/cleanup around them), user and group creation; no
 * build tools. Undefined when nothing of it is needed at run time.
 */
function finalRun(s: Step, keepPackages: ReadonlySet<string>, dropped: Set<string>): ShellCommand[] | undefined {
  const cmds = s.cmds!;
  const hasInstall = cmds.some((c) => c.kind.kind === 'install');
  const out: ShellCommand[] = [];
  let installs = 0;
  let useful = 0;
  for (const { cmd, kind } of cmds) {
    if (kind.kind === 'install') {
      const split = runtimePackages(kind.packages, keepPackages);
      for (const d of split.dropped) dropped.add(d);
      if (split.keep.length === 0) continue;
      installs++;
      useful++;
      out.push({ ...cmd, text: split.dropped.length === 0 ? cmd.text : rewriteInstall(cmd.text, kind.manager, split.keep) });
      continue;
    }
    if (kind.kind === 'pkg-remove') continue;
    if (kind.kind === 'pkg-housekeeping') {
      out.push(cmd);
      continue;
    }
    if (isBuildTool(kind)) continue;
    if (kind.kind === 'other' && USER_SETUP.has(kind.name ?? '')) {
      useful++;
      out.push(cmd);
      continue;
    }
    // anything else: kept next to a package install (it may be what the install needs, e.g. adding
    // a repository), left in the build stage otherwise
    if (hasInstall) {
      out.push(cmd);
      continue;
    }
  }
  if (hasInstall && installs === 0) {
    // every package was build-only: the update/cleanup around the install goes too
    const users = out.filter((c) => USER_SETUP.has(commandName(commandWords(c.text)).name ?? ''));
    return users.length > 0 ? users : undefined;
  }
  return useful === 0 ? undefined : out;
}

/** `RUN [flags] cmd1 && \ cmd2` */
function runLine(r: Instruction, cmds: ShellCommand[], esc: string): string {
  const flags = r.flags.length ? `${r.flags.join(' ')} ` : '';
  const body = cmds.length > 1 ? joinCommands(fixOps(cmds), ` ${esc}\n    `) : (cmds[0]?.text ?? 'true');
  return `RUN ${flags}${body}`;
}

/** After dropping commands, the last one ends the list. */
function fixOps(cmds: ShellCommand[]): ShellCommand[] {
  return cmds.map((c, i) => (i === cmds.length - 1 ? { ...c, op: '' as const } : c.op === '' ? { ...c, op: '&&' as const } : c));
}

/** Where the application lives after the build: the working directory, or what COPY/ADD brought in. */
function appPaths(steps: Step[], workdir: string, note: (n: string) => void): string[] {
  const out: string[] = [];
  if (workdir !== '/') out.push(workdir);
  for (const s of steps) {
    if (s.ins.kind !== 'COPY' && s.ins.kind !== 'ADD') continue;
    const c = s.ins as CopyInstruction | AddInstruction;
    if (c.kind === 'COPY' && c.from !== undefined) continue;
    const dest = joinPath(s.workdir, c.dest);
    const dirDest = c.dest.endsWith('/') || c.sources.length > 1 || dest === s.workdir;
    const paths = dirDest ? c.sources.map((src) => (/^(\.|\.\/)?$|\/$|[*?[]/.test(src) ? dest : joinPath(dest, src.replace(/^.*\//, '')))) : [dest];
    for (const p of paths) {
      if (p === '/') {
        note(`${c.original}: copies into / — could not tell which files are the app; narrow it with --artifact`);
        continue;
      }
      if (!out.some((o) => p === o || p.startsWith(`${o}/`))) out.push(p);
    }
  }
  return out.filter((p, i) => !out.some((o, j) => j !== i && p.startsWith(`${o}/`)));
}
