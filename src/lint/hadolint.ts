/**
 * hadolint's Dockerfile rules that need no ShellCheck, under hadolint's DL ids and meaning
 * (https://github.com/hadolint/hadolint/wiki). RUN commands are read with `shellwords.ts`
 * (simple commands, quotes removed); one finding per instruction and rule, as hadolint reports.
 * In: RuleContext. Out: reports. Pure.
 */
import type { AddInstruction, CopyInstruction, Instruction, RunInstruction } from '../dockerfile/index.js';
import { ShellLex } from '../dockerfile/index.js';
import { tryParseReference } from '../reference/index.js';
import type { RuleContext } from './context.js';
import { fromChain, runScript, stageRef, type LintStage } from './model.js';
import { hasFlag, program, programArgs, splitCommands, type SimpleCommand } from './shellwords.js';

const ARCHIVE = /\.(tar|tar\.(gz|bz2|xz|zst|lz|lzma|Z)|tgz|tbz2?|txz|tzst|gz|bz2|xz|zst|zip|7z|rar)$/i;
const RESERVED = new Set(['scratch', 'context']);

/** A word without the surrounding quotes the Dockerfile parser keeps in shell-form COPY/ADD. */
export function unquote(w: string): string {
  if (w.length >= 2 && ((w[0] === '"' && w.at(-1) === '"') || (w[0] === "'" && w.at(-1) === "'"))) return w.slice(1, -1);
  return w;
}

export function isRemoteSource(s: string): boolean {
  return /^(https?:\/\/|git@|git:\/\/|ssh:\/\/|github\.com\/)/.test(s);
}

/** Commands of a RUN (shell form, heredoc bodies included); exec form is one command. */
function commands(r: RunInstruction): SimpleCommand[] {
  if (r.json && typeof r.command !== 'string') return [{ argv: [...r.command], pipesTo: false, after: '' }];
  return splitCommands(runScript(r));
}

/** Non-option words after a subcommand (`install`), skipping options that take a value. */
function packagesAfter(args: readonly string[], sub: readonly string[], valueOpts: readonly string[]): string[] | undefined {
  const i = args.findIndex((a) => sub.includes(a));
  if (i < 0) return undefined;
  const out: string[] = [];
  for (let k = i + 1; k < args.length; k++) {
    const a = args[k]!;
    if (valueOpts.includes(a)) {
      k++;
      continue;
    }
    if (a.startsWith('-')) continue;
    out.push(a);
  }
  return out;
}

const isPython = (p: string) => /^python[0-9.]*$/.test(p);
/** pip's argv (past `python -m pip`), or undefined. */
function pipArgs(c: SimpleCommand): string[] | undefined {
  const p = program(c.argv);
  const args = programArgs(c.argv);
  if (/^pip[0-9.]*$/.test(p)) return args;
  if (isPython(p)) {
    const i = args.indexOf('-m');
    if (i >= 0 && /^pip[0-9.]*$/.test(args[i + 1] ?? '')) return args.slice(i + 2);
  }
  return undefined;
}

function hasCacheMount(r: RunInstruction, ...parts: string[]): boolean {
  return r.mounts.some((m) => (m.type === 'cache' || m.type === 'tmpfs') && parts.some((p) => (m.target ?? '').replace(/\/+$/, '').includes(p)));
}

export function hadolintChecks(ctx: RuleContext): void {
  const { m, opts } = ctx;
  const lex = new ShellLex(m.escapeChar);

  // DL3061: the first instruction must be FROM or ARG
  const firstBad = m.typed.find((ins, i) => ins !== undefined && ins.kind !== 'ARG' && m.typed.slice(0, i).every((x) => x === undefined || x.kind === 'ARG') && ins.kind !== 'FROM');
  if (firstBad) ctx.report('DL3061', firstBad, 'Invalid instruction order. Dockerfile must begin with `FROM`, `ARG` or comment.');

  // DL3043: ONBUILD ONBUILD/FROM/MAINTAINER
  for (const n of m.nodes) {
    const child = n.value.toLowerCase() === 'onbuild' ? n.args[0]?.child : undefined;
    if (child && ['onbuild', 'from', 'maintainer'].includes(child.value.toLowerCase())) {
      ctx.report('DL3043', { pos: n.pos, endLine: n.endLine }, '`ONBUILD`, `FROM` or `MAINTAINER` triggered from within `ONBUILD` instruction.');
    }
  }

  const aliases = new Map<string, number>();
  for (const st of m.stages) {
    // FROM rules
    const from = st.from;
    if (st.name) {
      if (aliases.has(st.name)) ctx.report('DL3024', from, `Duplicate stage name ${JSON.stringify(st.name)}: \`FROM\` aliases (stage names) must be unique`);
      else aliases.set(st.name, st.index);
      if (RESERVED.has(st.name)) ctx.report('DL3063', from, `Stage name "${st.name}" should not be a reserved word`);
    }
    const img = from.image;
    const isStage = m.stages.some((s, i) => i < st.index && s.name !== undefined && s.name === img.toLowerCase());
    if (!isStage && img.toLowerCase() !== 'scratch' && !img.includes('$')) {
      const ref = tryParseReference(img);
      const lastPart = img.split('/').pop() ?? img;
      if (!img.includes('@')) {
        if (!lastPart.includes(':')) ctx.report('DL3006', from, `Always tag the version of an image explicitly: ${img}`);
        else if (lastPart.endsWith(':latest')) ctx.report('DL3007', from, 'Using latest is prone to errors if the image will ever update. Pin the version explicitly to a release tag');
      }
      if (opts.trustedRegistries.length > 0 && ref) {
        const reg = ref.registry;
        const ok = opts.trustedRegistries.some((t) => (t.startsWith('*.') ? reg.endsWith(t.slice(1)) : t === reg || (t === 'docker.io' && reg === 'docker.io')));
        if (!ok) ctx.report('DL3026', from, `Use only an allowed registry in the \`FROM image\`: ${reg} is not in ${opts.trustedRegistries.join(', ')}`);
      }
    }
    if (from.platform !== undefined && !from.platform.includes('$')) ctx.report('DL3029', from, `Do not use --platform flag with FROM: --platform=${from.platform}`);

    stageRules(ctx, st, lex);
  }

  // DL3002: the last USER of the last stage is root
  const last = m.stages.at(-1);
  if (last) {
    const users = last.instructions.filter((i) => i.kind === 'USER');
    const u = users.at(-1);
    if (u && u.kind === 'USER' && /^(root|0)(:.*)?$/.test(unquote(u.user))) ctx.report('DL3002', u, 'Last USER should not be root');
  }

  // labels (target stage and the stages it starts from)
  if (m.target >= 0) labelRules(ctx);
}

function stageRules(ctx: RuleContext, st: LintStage, lex: ShellLex): void {
  const { m } = ctx;
  const chain = fromChain(m, st.index);
  const inherited = chain.slice(1).flatMap((i) => m.stages[i]!.instructions);
  let workdirSet = inherited.some((i) => i.kind === 'WORKDIR');
  let pipefailShell = inherited.filter((i) => i.kind === 'SHELL').some((i) => i.kind === 'SHELL' && pipefail(i.shell));
  let nonPosixShell = false;
  let envNames = new Set<string>(inherited.flatMap((i) => (i.kind === 'ENV' ? i.pairs.map((p) => p.key) : i.kind === 'ARG' ? i.args.map((a) => a.key) : [])));
  const counts: Record<string, number> = {};
  let usedWget: Instruction | undefined;
  let usedCurl: Instruction | undefined;
  let reportedDl4001 = false;
  let prevRun: RunInstruction | undefined;
  const pipNoCache = () => envNames.has('PIP_NO_CACHE_DIR');

  st.instructions.forEach((ins, k) => {
    const prev = st.instructions[k - 1];
    if (ins.kind !== 'RUN') prevRun = undefined;
    switch (ins.kind) {
      case 'WORKDIR': {
        const p = unquote(ins.path);
        if (!p.startsWith('/') && !p.startsWith('$') && !/^[A-Za-z]:[\\/]/.test(p)) ctx.report('DL3000', ins, `Use absolute WORKDIR: ${ins.path}`);
        workdirSet = true;
        break;
      }
      case 'SHELL':
        pipefailShell = pipefail(ins.shell);
        nonPosixShell = /pwsh|powershell|cmd(\.exe)?$/i.test(ins.shell[0] ?? '');
        break;
      case 'ENV': {
        const defined = new Set<string>();
        for (const p of ins.pairs) {
          try {
            const r = lex.processWordWithMatches(p.value, new Map());
            const self = [...r.unmatched].find((u) => defined.has(u) && !envNames.has(u));
            if (self) {
              ctx.report('DL3044', ins, `Do not refer to an environment variable within the same \`ENV\` statement where it is defined: ${self}`);
              break;
            }
          } catch {
            /* not expandable */
          }
          defined.add(p.key);
        }
        envNames = new Set([...envNames, ...defined]);
        break;
      }
      case 'ARG':
        for (const a of ins.args) envNames.add(a.key);
        break;
      case 'EXPOSE':
        for (const p of ins.ports) {
          if (p.includes('$')) continue;
          const port = p.split('/')[0]!;
          const bad = port.split('-').some((x) => !/^[0-9]+$/.test(x) || Number(x) > 65535);
          if (bad && /^[0-9-]+$/.test(port)) ctx.report('DL3011', ins, `Valid UNIX ports range from 0 to 65535: ${p}`);
        }
        break;
      case 'CMD':
      case 'ENTRYPOINT':
      case 'HEALTHCHECK': {
        counts[ins.kind] = (counts[ins.kind] ?? 0) + 1;
        if (counts[ins.kind] === 2) {
          if (ins.kind === 'CMD') ctx.report('DL4003', ins, 'Multiple `CMD` instructions found. If you list more than one `CMD` then only the last `CMD` will take effect');
          if (ins.kind === 'ENTRYPOINT') ctx.report('DL4004', ins, 'Multiple `ENTRYPOINT` instructions found. If you list more than one `ENTRYPOINT` then only the last `ENTRYPOINT` will take effect');
          if (ins.kind === 'HEALTHCHECK') ctx.report('DL3012', ins, 'Multiple `HEALTHCHECK` instructions.');
        }
        if (ins.kind !== 'HEALTHCHECK' && !ins.json) ctx.report('DL3025', ins, `Use arguments JSON notation for CMD and ENTRYPOINT arguments`);
        break;
      }
      case 'MAINTAINER':
        ctx.report('DL4000', ins, 'MAINTAINER is deprecated');
        break;
      case 'COPY':
      case 'ADD':
        copyRules(ctx, st, ins, workdirSet);
        break;
      case 'RUN': {
        if (prevRun && prev === prevRun && prevRun.flags.join(' ') === ins.flags.join(' ')) ctx.report('DL3059', ins, 'Multiple consecutive `RUN` instructions. Consider consolidation.');
        prevRun = ins;
        if (nonPosixShell) break;
        const cmds = commands(ins);
        runRules(ctx, st, ins, cmds, { pipNoCache: pipNoCache(), pipefail: pipefailShell });
        if (cmds.some((c) => program(c.argv) === 'wget')) usedWget ??= ins;
        if (cmds.some((c) => program(c.argv) === 'curl')) usedCurl ??= ins;
        if (usedWget && usedCurl && !reportedDl4001) {
          ctx.report('DL4001', ins, 'Either use Wget or Curl but not both');
          reportedDl4001 = true;
        }
        break;
      }
      default:
        break;
    }
  });
}

function pipefail(shell: readonly string[]): boolean {
  const s = shell.join(' ');
  return /-o\s+pipefail|-[a-z]*o\s+pipefail/.test(s) || /^(\/bin\/)?(pwsh|powershell|cmd)/i.test(shell[0] ?? '');
}

function copyRules(ctx: RuleContext, st: LintStage, ins: CopyInstruction | AddInstruction, workdirSet: boolean): void {
  const { m } = ctx;
  const sources = ins.sources.map(unquote);
  const dest = unquote(ins.dest);
  if (ins.kind === 'ADD') {
    const local = sources.filter((s) => !isRemoteSource(s) && !ARCHIVE.test(s));
    if (local.length > 0) ctx.report('DL3020', ins, `Use COPY instead of ADD for files and folders: ${local.join(' ')}`);
  }
  if (ins.kind === 'COPY') {
    if (sources.length + ins.heredocs.length >= 2 && !dest.endsWith('/') && !dest.includes('$')) ctx.report('DL3021', ins, 'COPY with more than 2 arguments requires the last argument to end with /');
    const f = ins.from;
    if (f !== undefined && !f.includes('$')) {
      if (st.name && f.toLowerCase() === st.name) ctx.report('DL3023', ins, `\`COPY --from\` cannot reference its own \`FROM\` alias: ${f}`);
      else if (/^[0-9]+$/.test(f) ? Number(f) >= st.index : stageRef(m, f, st.index) === undefined && !/[:/@.]/.test(f)) {
        ctx.report('DL3022', ins, `\`COPY --from\` should reference a previously defined \`FROM\` alias: ${f}`);
      }
    }
    // DL3010: an archive copied and then extracted by a later RUN of the stage
    for (const s of sources) {
      if (!ARCHIVE.test(s)) continue;
      const name = s.split('/').pop()!;
      const later = st.instructions.slice(st.instructions.indexOf(ins) + 1);
      if (later.some((r) => r.kind === 'RUN' && commands(r).some((c) => ['tar', 'unzip', 'gunzip', 'bunzip2', 'unxz'].includes(program(c.argv)) && c.argv.some((w) => w.endsWith(name))))) {
        ctx.report('DL3010', ins, `Use ADD for extracting archives into an image: ${s}`);
        break;
      }
    }
  }
  if (!workdirSet && !dest.startsWith('/') && !dest.startsWith('$') && !/^[A-Za-z]:[\\/]/.test(dest)) ctx.report('DL3045', ins, '`COPY` to a relative destination without `WORKDIR` set.');
}

interface RunState {
  pipNoCache: boolean;
  pipefail: boolean;
}

function runRules(ctx: RuleContext, st: LintStage, r: RunInstruction, cmds: SimpleCommand[], s: RunState): void {
  const { m } = ctx;
  const shipped = m.shipped.has(st.index);
  const progs = cmds.map((c) => program(c.argv));
  const once = new Set<string>();
  const report = (id: string, msg: string) => {
    if (once.has(id)) return;
    once.add(id);
    ctx.report(id, r, msg);
  };
  const script = runScript(r);

  const bad = progs.find((p) => ['free', 'kill', 'mount', 'ps', 'service', 'shutdown', 'ssh', 'top', 'vim'].includes(p));
  if (bad) report('DL3001', `For some bash commands it makes no sense running them in a Docker container like ssh, vim, shutdown, service, ps, free, top, kill, mount, ifconfig: ${bad}`);
  if (progs.includes('cd')) report('DL3003', 'Use WORKDIR to switch to a directory');
  if (cmds.some((c) => c.argv[0] === 'sudo' || c.argv[0]?.endsWith('/sudo'))) report('DL3004', 'Do not use sudo as it leads to unpredictable behavior. Use a tool like gosu to enforce root');
  if (progs.includes('apt')) report('DL3027', 'Do not use apt as it is meant to be an end-user tool, use apt-get or apt-cache instead');
  if (cmds.some((c) => program(c.argv) === 'ln' && c.argv.some((w) => w === '/bin/sh'))) report('DL4005', 'Use SHELL to change the default shell');

  let aptUpdate = false;
  let aptCleanup = false;
  for (const c of cmds) {
    const p = program(c.argv);
    const args = programArgs(c.argv);
    if (p === 'apt-get' || p === 'apt') {
      if (args.includes('update')) aptUpdate = true;
      if (args.includes('dist-clean')) aptCleanup = true;
      const pkgs = packagesAfter(args, ['install'], ['-o', '-t', '--target-release', '-c', '--config-file']);
      if (pkgs && p === 'apt-get') {
        const unpinned = pkgs.filter((x) => !x.includes('=') && !/\.deb$/.test(x) && !x.startsWith('/') && !x.startsWith('./'));
        if (unpinned.length > 0) report('DL3008', `Pin versions in apt get install. Instead of \`apt-get install <package>\` use \`apt-get install <package>=<version>\``);
        if (!hasFlag(args, '-y', '--yes', '--assume-yes', '-qq') && !args.some((a) => /^(-q=2|--quiet=2)$/.test(a))) report('DL3014', 'Use the `-y` switch to avoid manual input `apt-get -y install <package>`');
        if (!args.includes('--no-install-recommends') && !args.some((a) => /APT::Install-Recommends=(false|0)/i.test(a))) report('DL3015', 'Avoid additional packages by specifying `--no-install-recommends`');
      }
    }
    if (p === 'rm' && args.some((a) => a.startsWith('/var/lib/apt/lists'))) aptCleanup = true;
    if (p === 'find' && args.some((a) => a.startsWith('/var/lib/apt/lists')) && args.includes('-delete')) aptCleanup = true;
    if (p === 'apk') {
      const pkgs = packagesAfter(args, ['add'], ['-t', '--virtual', '-X', '--repository', '--repositories-file', '-p', '--root', '--arch', '--cache-dir', '--keys-dir']);
      if (pkgs) {
        if (pkgs.some((x) => !x.includes('=') && !x.includes('>') && !x.includes('<') && !x.includes('~') && !/\.apk$/.test(x))) report('DL3018', 'Pin versions in apk add. Instead of `apk add <package>` use `apk add <package>=<version>`');
        if (!args.includes('--no-cache') && !hasCacheMount(r, '/var/cache/apk', '/etc/apk/cache')) report('DL3019', 'Use the `--no-cache` switch to avoid the need to use `--update` and remove `/var/cache/apk/*` when done installing packages');
      }
    }
    const pip = pipArgs(c);
    if (pip) {
      const pkgs = packagesAfter(pip, ['install'], ['-r', '--requirement', '-c', '--constraint', '-e', '--editable', '-i', '--index-url', '--extra-index-url', '-f', '--find-links', '-t', '--target', '--prefix', '--root', '--trusted-host', '--platform', '--python-version', '--implementation', '--abi', '--src', '--upgrade-strategy', '--progress-bar', '--cache-dir', '--log', '--proxy', '--retries', '--timeout', '--exists-action', '--cert', '--client-cert', '--global-option', '--install-option', '--no-binary', '--only-binary', '--config-settings', '-C']);
      if (pkgs) {
        const unpinned = pkgs.filter((x) => !/(==|>=|<=|~=|!=|===|>|<|@)/.test(x) && !/^(\.|\/|\$|git\+|https?:)/.test(x) && !/\.(whl|tar\.gz|zip)$/.test(x));
        if (unpinned.length > 0) report('DL3013', 'Pin versions in pip. Instead of `pip install <package>` use `pip install <package>==<version>` or `pip install --requirement <requirements file>`');
        if (!pip.includes('--no-cache-dir') && !s.pipNoCache && !hasCacheMount(r, '.cache/pip', '.cache') && !script.includes('PIP_NO_CACHE_DIR')) report('DL3042', 'Avoid use of cache directory with pip. Use `pip install --no-cache-dir <package>`');
      }
    }
    if (p === 'npm') {
      const pkgs = packagesAfter(args, ['install', 'i', 'add'], ['--prefix', '--registry', '--cache', '-w', '--workspace']);
      if (pkgs && pkgs.some((x) => !x.slice(1).includes('@') && !/^(\.|\/|\$|git|https?:|file:)/.test(x) && !/\.(tgz|tar\.gz)$/.test(x) && !x.includes('#'))) {
        report('DL3016', 'Pin versions in npm. Instead of `npm install <package>` use `npm install <package>@<version>`');
      }
    }
    if (p === 'gem') {
      const pkgs = packagesAfter(args, ['install', 'i'], ['-v', '--version', '-i', '--install-dir', '-n', '--bindir', '--source', '-s', '-P', '--trust-policy', '--platform']);
      if (pkgs && !hasFlag(args, '-v', '--version') && pkgs.some((x) => !x.includes(':') && !x.endsWith('.gem') && !x.startsWith('$'))) report('DL3028', 'Pin versions in gem install. Instead of `gem install <gem>` use `gem install <gem>:<version>`');
    }
    if (p === 'go' && args[0] === 'install') {
      const pkgs = args.slice(1).filter((a) => !a.startsWith('-'));
      if (pkgs.some((x) => !x.includes('@') && !x.startsWith('.') && !x.startsWith('$'))) report('DL3062', 'Pin versions in go install. Instead of `go install <package>` use `go install <package>@<version>`');
    }
    if (p === 'yum') {
      const pkgs = packagesAfter(args, ['install', 'groupinstall', 'localinstall'], ['-c', '--config', '--installroot', '--enablerepo', '--disablerepo', '-x', '--exclude', '--setopt']);
      if (pkgs) {
        if (!hasFlag(args, '-y', '--assumeyes')) report('DL3030', 'Use the -y switch to avoid manual input `yum install -y <package>`');
        if (pkgs.some((x) => !/-[0-9]/.test(x) && !/\.rpm$/.test(x) && !x.startsWith('/'))) report('DL3033', 'Specify version with `yum install -y <package>-<version>`.');
      }
    }
    if (p === 'zypper') {
      const pkgs = packagesAfter(args, ['install', 'in'], ['-r', '--repo', '--from', '-t', '--type']);
      if (pkgs) {
        if (!hasFlag(args, '-y', '--no-confirm', '-n', '--non-interactive')) report('DL3034', 'Non-interactive switch missing from `zypper` command: `zypper install -y`');
        if (pkgs.some((x) => !/[=<>]/.test(x) && !/\.rpm$/.test(x))) report('DL3037', 'Specify version with `zypper install -y <package>=<version>`.');
      }
      if (args.includes('dist-upgrade') || args.includes('dup')) report('DL3035', 'Do not use `zypper dist-upgrade`.');
    }
    if (p === 'dnf' || p === 'microdnf') {
      const pkgs = packagesAfter(args, ['install', 'groupinstall', 'localinstall'], ['-c', '--config', '--installroot', '--enablerepo', '--disablerepo', '-x', '--exclude', '--setopt', '--releasever', '--repo']);
      if (pkgs) {
        if (!hasFlag(args, '-y', '--assumeyes')) report('DL3038', 'Use the -y switch to avoid manual input `dnf install -y <package>`');
        if (pkgs.some((x) => !/-[0-9]/.test(x) && !/\.rpm$/.test(x) && !x.startsWith('/') && !x.startsWith('@'))) report('DL3041', 'Specify version with `dnf install -y <package>-<version>`');
      }
    }
    if (p === 'useradd' && !hasFlag(args, '-l', '--no-log-init')) {
      const i = args.findIndex((a) => a === '-u' || a === '--uid');
      const uid = i >= 0 ? args[i + 1] : args.find((a) => a.startsWith('--uid='))?.slice(6);
      if (uid && /^[0-9]{6,}$/.test(uid)) report('DL3046', '`useradd` without flag `-l` and high UID will result in excessively large Image.');
    }
    if (p === 'wget' && !args.some((a) => /^(--progress|-q|--quiet|-nv|--no-verbose|-o|--output-file|-a|--append-output)(=|$)/.test(a)) && !hasFlag(args, '-q')) {
      report('DL3047', 'Avoid use of wget without progress bar. Use `wget --progress=dot:giga <url>`. Or consider using `-q` or `-nv` (shorthands for `--quiet` or `--no-verbose`).');
    }
  }
  // DL3009: apt lists left in a stage that ships
  if (aptUpdate && !aptCleanup && shipped && !hasCacheMount(r, '/var/lib/apt/lists', '/var/lib/apt')) report('DL3009', 'Delete the apt-get lists after installing something');
  const cleaned = (re: RegExp) => re.test(script);
  if (progs.includes('yum') && cmds.some((c) => program(c.argv) === 'yum' && /install|update|upgrade/.test(programArgs(c.argv).join(' '))) && !cleaned(/yum\s+clean\s+all|rm\s+-[a-z]*\s+\/var\/cache\/yum/) && !hasCacheMount(r, '/var/cache/yum')) report('DL3032', '`yum clean all` missing after yum command.');
  if (progs.includes('zypper') && cmds.some((c) => program(c.argv) === 'zypper' && /\b(install|in|update|up|patch|dist-upgrade|dup)\b/.test(programArgs(c.argv).join(' '))) && !cleaned(/zypper\s+(-[a-z]+\s+)*(clean|cc)\b/) && !hasCacheMount(r, '/var/cache/zypp')) report('DL3036', '`zypper clean` missing after zypper use.');
  if (progs.some((x) => x === 'dnf' || x === 'microdnf') && cmds.some((c) => /^(micro)?dnf$/.test(program(c.argv)) && /install|update|upgrade/.test(programArgs(c.argv).join(' '))) && !cleaned(/(micro)?dnf\s+clean\s+all|rm\s+-[a-z]*\s+\/var\/cache\/(dnf|yum)/) && !hasCacheMount(r, '/var/cache/dnf', '/var/cache/yum')) report('DL3040', '`dnf clean all` missing after dnf command.');
  if (cmds.some((c) => program(c.argv) === 'yarn' && (programArgs(c.argv)[0] === 'install' || programArgs(c.argv).length === 0)) && !cleaned(/yarn\s+cache\s+clean/) && !hasCacheMount(r, 'yarn', '.cache')) report('DL3060', '`yarn cache clean` missing after `yarn install` was run.');
  // DL4006: a pipe without pipefail
  if (!r.json && !s.pipefail && cmds.some((c) => c.pipesTo)) {
    const firstPipe = cmds.findIndex((c) => c.pipesTo);
    const setPipefail = cmds.slice(0, firstPipe + 1).some((c) => program(c.argv) === 'set' && c.argv.join(' ').match(/-[a-z]*o\s+pipefail|-o pipefail/));
    if (!setPipefail) report('DL4006', 'Set the SHELL option -o pipefail before RUN with a pipe in it. If you are using /bin/sh in an alpine image or if your shell is symlinked to busybox then consider explicitly setting your SHELL to /bin/ash, or disable this check');
  }
}

const SPDX = new Set(['0BSD', 'AGPL-3.0', 'AGPL-3.0-only', 'AGPL-3.0-or-later', 'Apache-1.1', 'Apache-2.0', 'Artistic-2.0', 'BSD-1-Clause', 'BSD-2-Clause', 'BSD-3-Clause', 'BSD-4-Clause', 'BSL-1.0', 'CC0-1.0', 'CC-BY-4.0', 'CC-BY-SA-4.0', 'CDDL-1.0', 'CDDL-1.1', 'EPL-1.0', 'EPL-2.0', 'EUPL-1.2', 'GPL-2.0', 'GPL-2.0-only', 'GPL-2.0-or-later', 'GPL-3.0', 'GPL-3.0-only', 'GPL-3.0-or-later', 'ISC', 'LGPL-2.0', 'LGPL-2.1', 'LGPL-2.1-only', 'LGPL-2.1-or-later', 'LGPL-3.0', 'LGPL-3.0-only', 'LGPL-3.0-or-later', 'MIT', 'MIT-0', 'MPL-1.1', 'MPL-2.0', 'MS-PL', 'NCSA', 'OFL-1.1', 'OpenSSL', 'PHP-3.01', 'PostgreSQL', 'Python-2.0', 'Ruby', 'Unlicense', 'UPL-1.0', 'Vim', 'W3C', 'WTFPL', 'X11', 'Zlib', 'ZPL-2.1']);

function labelRules(ctx: RuleContext): void {
  const { m, opts } = ctx;
  const schema = opts.labelSchema;
  const labels = new Map<string, { value: string; ins: Instruction }>();
  for (const st of m.stages) {
    for (const ins of st.instructions) {
      if (ins.kind !== 'LABEL') continue;
      for (const p of ins.pairs) {
        const key = unquote(p.key);
        if (!key.includes('$') && !validLabelKey(key)) ctx.report('DL3048', ins, `Invalid label key: ${key}`);
        if (m.shipped.has(st.index)) labels.set(key, { value: unquote(p.value), ins });
      }
    }
  }
  const target = m.stages[m.target]!;
  // DL3057 (off unless a level is given): no HEALTHCHECK in the image
  if (!fromChain(m, m.target).some((i) => m.stages[i]!.instructions.some((x) => x.kind === 'HEALTHCHECK'))) ctx.report('DL3057', target.from, '`HEALTHCHECK` instruction missing.');
  const keys = Object.keys(schema);
  if (keys.length === 0 && !opts.strictLabels) return;
  for (const k of keys) {
    const l = labels.get(k);
    if (!l) {
      ctx.report('DL3049', target.from, `Label \`${k}\` is missing.`);
      continue;
    }
    const v = l.value;
    if (v === '') {
      ctx.report('DL3051', l.ins, `Label \`${k}\` is empty.`);
      continue;
    }
    if (v.includes('$')) continue;
    const kind = schema[k];
    if (kind === 'url' && !/^[a-z][a-z0-9+.-]*:\/\/[^\s]+$/i.test(v)) ctx.report('DL3052', l.ins, `Label \`${k}\` is not a valid URL.`);
    if (kind === 'rfc3339' && !/^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.test(v)) ctx.report('DL3053', l.ins, `Label \`${k}\` is not a valid time format - must conform to RFC3339.`);
    if (kind === 'spdx' && !v.split(/\s+(?:AND|OR|WITH)\s+/).every((x) => SPDX.has(x.replace(/[()]/g, '')) || x.startsWith('LicenseRef-'))) ctx.report('DL3054', l.ins, `Label \`${k}\` is not a valid SPDX license identifier.`);
    if (kind === 'hash' && !/^[0-9a-f]{7,40}$/.test(v)) ctx.report('DL3055', l.ins, `Label \`${k}\` is not a valid git hash.`);
    if (kind === 'semver' && !/^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/.test(v)) ctx.report('DL3056', l.ins, `Label \`${k}\` does not conform to semantic versioning.`);
    if (kind === 'email' && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v)) ctx.report('DL3058', l.ins, `Label \`${k}\` is not a valid email format - must conform to RFC5322.`);
  }
  if (opts.strictLabels) {
    for (const [k, l] of labels) if (!keys.includes(k)) ctx.report('DL3050', l.ins, `Superfluous label(s) present: ${k}`);
  }
}

function validLabelKey(k: string): boolean {
  if (/^(com\.docker\.|io\.docker\.|org\.dockerproject\.)/.test(k)) return false;
  if (!/^[a-z0-9]/.test(k) || !/[a-z0-9]$/.test(k)) return false;
  if (/\.\.|--/.test(k)) return false;
  return /^[a-z0-9.-]+$/.test(k);
}
