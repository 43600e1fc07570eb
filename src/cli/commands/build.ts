/**
 * `stagecraft build`: parses flags like `docker build` (BuildKit) and hands off to the solver.
 * Progress goes to stderr; like `docker build`, stdout stays empty unless `-q` asks for the image ID.
 */
import { readDockerfile } from '../io.js';
import type { Command } from 'commander';
import { UserError } from '../../util/errors.js';
import { EMPTY_CHECK, lintText, type LintResult } from '../../lint/index.js';
import { storeImageEnvs } from '../lintenv.js';
import { loadContext } from '../../worker/context/index.js';
import { parseNetworkMode } from '../../worker/exec/index.js';
import {
  build,
  parseBuildArg,
  parseBuildContext,
  parseCacheFrom,
  parseCacheTo,
  parseLabel,
  parseOutput,
  parseSecret,
  parseSsh,
  type BuildOptions,
  type NamedContext,
  type ProgressMode,
} from '../../solver/index.js';
import { buildWithBuildKit, chooseEngine, type EngineName, type RawBuildFlags } from '../../engines/buildkit/index.js';

const collect = (v: string, prev: string[]): string[] => [...prev, v];

export function register(program: Command): void {
  program
    .command('build')
    .description('Build an image from a Dockerfile (BuildKit semantics, no daemon)')
    .argument('<context>', 'build context directory')
    .option('-t, --tag <name>', 'name and optionally a tag (name:tag); repeatable', collect, [])
    .option('-f, --file <path>', 'Dockerfile (default: CONTEXT/Dockerfile; "-" reads stdin)')
    .option('--target <stage>', 'build this stage (and what it needs) instead of the last')
    .option('--build-arg <k=v>', 'set a build-time variable; repeatable', collect, [])
    .option('--no-cache', 'do not use the build cache')
    .option('--pull', 'always pull base images')
    .option('--secret <spec>', 'id=ID,src=PATH | id=ID,env=VAR; repeatable', collect, [])
    .option('--ssh <spec>', 'SSH agent for RUN --mount=type=ssh: default | ID[=SOCKET|KEY[,KEY...]]; repeatable', collect, [])
    .option('--progress <mode>', 'auto, plain, tty, json, quiet', 'auto')
    .option('-o, --output <spec>', 'type=image|oci|docker|local|tar,dest=PATH; repeatable', collect, [])
    .option('--push', 'push the image after building (needs -t)')
    .option('--label <k=v>', 'set an image label; repeatable', collect, [])
    .option('--iidfile <file>', 'write the image ID to this file')
    .option('--network <mode>', 'network for RUN: default, host, none, slirp4netns (a private network with user-mode NAT)', 'default')
    .option('--build-context <name=src>', 'named context: NAME=PATH | docker-image://REF | oci-layout://PATH; repeatable', collect, [])
    .option('--cache-to <spec>', 'export the build cache: type=local,dest=DIR | type=registry,ref=REF [,mode=min|max] (stagecraft\'s own records: an OCI layout, or an OCI artifact in a registry); repeatable', collect, [])
    .option('--cache-from <spec>', 'import a build cache exported with --cache-to: type=local,src=DIR | type=registry,ref=REF | REF; repeatable', collect, [])
    .option('--platform <list>', 'target platform(s) os/arch[/variant]: the local engine builds only the host\'s; BuildKit builders any they support', collect, [])
    .option('--engine <name>', 'local (built in), buildkit (docker buildx), auto (BuildKit when a named builder answers)', 'local')
    .option('--builder <name>', 'buildx builder for --engine buildkit|auto (default: $STAGECRAFT_BUILDER, else buildx\'s current one)')
    .option('-q, --quiet', 'suppress progress; print the image ID')
    .option('--check', "run BuildKit's build checks without building (exit 1 when a check fires, as buildx)")
    .action(async (context: string, o: Record<string, unknown>) => {
      const progress = (o.quiet ? 'quiet' : String(o.progress)) as ProgressMode;
      if (!['auto', 'plain', 'tty', 'json', 'quiet', 'rawjson'].includes(progress)) {
        throw new UserError(`invalid --progress ${JSON.stringify(progress)} (auto, plain, tty, json)`);
      }
      const network = String(o.network);
      parseNetworkMode(network);
      const buildArgs: Record<string, string> = {};
      for (const a of o.buildArg as string[]) {
        const kv = parseBuildArg(a);
        if (kv) buildArgs[kv[0]] = kv[1];
      }
      const labels: Record<string, string> = {};
      for (const l of o.label as string[]) {
        const [k, v] = parseLabel(l);
        labels[k] = v;
      }
      const buildContexts: Record<string, NamedContext> = {};
      for (const c of o.buildContext as string[]) {
        const [k, v] = parseBuildContext(c);
        buildContexts[k] = v;
      }
      const file = o.file as string | undefined;
      const opts: BuildOptions = {
        contextDir: context,
        dockerfile: file,
        dockerfileText: file === '-' ? readDockerfile('-') : undefined,
        tags: o.tag as string[],
        target: o.target as string | undefined,
        buildArgs,
        noCache: o.cache === false,
        pull: !!o.pull,
        secrets: (o.secret as string[]).map(parseSecret),
        ssh: (o.ssh as string[]).map(parseSsh),
        progress: progress === ('rawjson' as ProgressMode) ? 'json' : progress,
        outputs: (o.output as string[]).map(parseOutput),
        push: !!o.push,
        labels,
        iidfile: o.iidfile as string | undefined,
        network: network as BuildOptions['network'],
        buildContexts,
      };
      const platforms = (o.platform as string[]).flatMap((p) => p.split(',')).filter(Boolean);
      const choice = await chooseEngine(String(o.engine) as EngineName, o.builder as string | undefined, platforms);
      if (o.engine === 'auto' && !o.quiet) process.stderr.write(`${choice.why}\n`);
      const onBuildKit = choice.engine === 'buildkit' && !!choice.builder;
      // BuildKit's build checks, as docker build runs them (only the stages the target needs);
      // a BuildKit builder runs its own during the build
      const first = onBuildKit && !o.check ? undefined : await buildChecks(opts, !!o.check);
      const checks = first?.result;
      if (o.check && checks) {
        process.stderr.write(formatCheck(checks));
        if (checks.findings.length > 0 || checks.checkError) process.exitCode = 1;
        return;
      }
      if (checks?.checkError) throw new UserError(`failed to solve: ${checks.checkError}`);
      // Ctrl-C / SIGTERM: the engine aborts the running steps so every mount is undone first
      const ac = new AbortController();
      const onSignal = (sig: NodeJS.Signals): void => {
        if (ac.signal.aborted) process.exit(130); // a second signal: give up at once
        ac.abort(new UserError(`ERROR: failed to solve: canceled (${sig})`, { exitCode: 130 }));
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      let imageId: string | undefined;
      try {
        if (onBuildKit && choice.builder) {
          const raw: RawBuildFlags = {
            secrets: o.secret as string[],
            ssh: o.ssh as string[],
            buildContexts: o.buildContext as string[],
            cacheTo: o.cacheTo as string[],
            cacheFrom: o.cacheFrom as string[],
            outputs: o.output as string[],
            platforms,
          };
          imageId = (await buildWithBuildKit({ ...opts, signal: ac.signal }, raw, choice.builder)).imageId;
        } else {
          // BuildKit builders take every cache type buildx knows (inline, gha, ...): only the local engine parses them
          opts.cacheTo = (o.cacheTo as string[]).map(parseCacheTo);
          opts.cacheFrom = (o.cacheFrom as string[]).map(parseCacheFrom);
          imageId = (await build({ ...opts, signal: ac.signal })).imageId;
        }
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
      if (!onBuildKit) {
        // after the build the base images are in the store: UndefinedVar can see their Env (when
        // the store had them all before, and nothing was pulled, the first run saw the same)
        const after = first?.complete && !opts.pull ? first.result : (await buildChecks(opts, false)).result;
        const warnings = after.findings.filter((f) => f.rule !== 'InvalidDockerfile'); // the build reports its own errors
        if (warnings.length > 0 && progress !== 'json' && progress !== 'quiet') process.stderr.write(formatWarnings({ ...after, findings: warnings }));
      }
      if (o.quiet && imageId && !opts.outputs.some((x) => x.dest === '-')) process.stdout.write(`${imageId}\n`);
    });
}

/** BuildKit's checks over the build's Dockerfile; a context the build cannot load is the build's error to report (an empty result here), except with --check. */
async function buildChecks(o: BuildOptions, check: boolean): Promise<{ result: LintResult; complete: boolean }> {
  let ctx;
  try {
    ctx = await loadContext(o.contextDir, { dockerfile: o.dockerfile, stdin: o.dockerfileText });
  } catch (e) {
    if (check) throw e;
    return { result: { file: o.dockerfile ?? 'Dockerfile', source: '', findings: [], check: EMPTY_CHECK }, complete: false };
  }
  // base images already in the store give UndefinedVar their Env (nothing is pulled for this)
  const env = await storeImageEnvs(ctx.dockerfile.text, { file: ctx.dockerfile.name, buildArgs: o.buildArgs });
  const result = lintText(ctx.dockerfile.text, {
    file: ctx.dockerfile.name,
    target: o.target,
    buildArgs: o.buildArgs,
    allStages: false,
    ignore: ctx.ignore,
    families: ['buildkit'],
    imageEnv: env.imageEnv,
  });
  return { result, complete: env.complete };
}

/** docker build's summary after the progress output. */
function formatWarnings(r: LintResult): string {
  const n = r.findings.length;
  let out = `\n ${n} warning${n === 1 ? '' : 's'} found (use docker --debug to expand):\n`;
  for (const f of r.findings) out += ` - ${f.rule}: ${f.message} (line ${f.line})\n`;
  return out;
}

/** buildx's --check report: each warning with its URL, description and the source lines around it. */
function formatCheck(r: LintResult): string {
  const n = r.findings.filter((f) => f.rule !== 'InvalidDockerfile').length;
  const lines = r.source.split(/\r?\n/);
  let out = '';
  for (const f of r.findings) {
    if (f.rule === 'InvalidDockerfile') {
      out += `ERROR: ${r.file}:${f.line}:${f.col}: ${f.message}\n`;
      continue;
    }
    out += `WARNING: ${f.rule} - ${f.url}\n${f.message}\n${r.file}:${f.line}\n--------------------\n`;
    for (let l = Math.max(1, f.line - 2); l <= Math.min(lines.length, f.endLine + 2); l++) {
      const mark = l >= f.line && l <= f.endLine ? '>>>' : '   ';
      out += `${String(l).padStart(4)} | ${mark} ${lines[l - 1] ?? ''}\n`;
    }
    out += '--------------------\n';
  }
  if (r.checkError) out += `ERROR: ${r.checkError}\n`;
  out += n === 0 ? 'Check complete, no warnings found.\n' : `Check complete, ${n} warning${n === 1 ? ' has' : 's have'} been found!\n`;
  return out;
}
