/**
 * `convert [FILE]`: rewrites a single-stage Dockerfile as a multi-stage one (src/convert). With
 * `--verify`, builds the original and the converted Dockerfile with the build engine (build flags
 * passed through), runs both images with the same command, compares stdout and exit code, prints
 * both sizes, and exits 1 when they differ; `-o` is written (atomically) only after that passed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import type { Command } from 'commander';
import { convertDockerfile, verifyConversion, type RunOutput } from '../../convert/index.js';
import { createContainer, startAttached } from '../../containers/index.js';
import { build, parseBuildArg, parseBuildContext, parseSecret, type BuildOptions, type NamedContext, type ProgressMode } from '../../solver/index.js';
import { Store, writeFileAtomic } from '../../store/index.js';
import { UserError } from '../../util/errors.js';
import { checkOutputFile, readDockerfile, writingOutput } from '../io.js';

const collect = (v: string, prev: string[]): string[] => [...prev, v];

interface ConvertFlags {
  output?: string;
  context?: string;
  artifact: string[];
  finalBase?: string;
  verify?: boolean;
  secret: string[];
  buildArg: string[];
  buildContext: string[];
  target?: string;
  progress: string;
  runCommand?: string;
}

export function register(program: Command): void {
  program
    .command('convert')
    .description('Rewrite a single-stage Dockerfile as a multi-stage one (build stage + a final stage with only the runtime)')
    .argument('[file]', 'the single-stage Dockerfile', 'Dockerfile')
    .option('-o, --output <file>', 'write the result here instead of stdout (with --verify: only when verification passed)')
    .option('--context <dir>', "build context: read for package.json / tsconfig.json, and built with --verify (default: the Dockerfile's directory)")
    .option('--artifact <path>', 'a path in the build stage to copy into the final stage (repeatable; overrides detection)', collect, [])
    .option('--final-base <image>', 'base image of the final stage (default: chosen from the original)')
    .option('--verify', 'build both Dockerfiles, run both images, and fail unless stdout and exit code match')
    .option('--secret <spec>', '--verify: as build --secret (repeatable)', collect, [])
    .option('--build-arg <k=v>', '--verify: as build --build-arg (repeatable)', collect, [])
    .option('--build-context <name=src>', '--verify: as build --build-context (repeatable)', collect, [])
    .option('--target <stage>', '--verify: as build --target')
    .option('--progress <mode>', '--verify: build progress (auto, plain, tty, quiet)', 'auto')
    .option('--run-command <cmd>', '--verify: run both images with this command (JSON array or words) instead of their CMD')
    .action(async (file: string, o: ConvertFlags) => {
      if (o.output && o.output !== '-') checkOutputFile(o.output, 'failed to write the Dockerfile');
      const name = file === '-' ? '<stdin>' : file;
      const text = readDockerfile(file);
      const ctx = resolve(o.context ?? (file === '-' ? '.' : dirname(file)));
      const read = (f: string) => (existsSync(join(ctx, f)) ? readFileSync(join(ctx, f), 'utf8') : undefined);
      const r = convertDockerfile(text, {
        file: name,
        packageJson: read('package.json'),
        tsconfig: read('tsconfig.json'),
        artifacts: o.artifact.length ? o.artifact : undefined,
        finalBase: o.finalBase,
      });
      for (const n of r.notes) process.stderr.write(`note: ${n}\n`);
      if (o.verify) {
        const ok = await verify(o, ctx, file === '-' ? undefined : file, text, r.text);
        if (!ok) {
          process.exitCode = 1;
          return;
        }
      }
      if (o.output && o.output !== '-') await writingOutput(o.output, 'failed to write the Dockerfile', () => writeFileAtomic(o.output!, r.text));
      else process.stdout.write(r.text);
    });
}

async function verify(o: ConvertFlags, ctx: string, file: string | undefined, original: string, converted: string): Promise<boolean> {
  const progress = o.progress as ProgressMode;
  if (!['auto', 'plain', 'tty', 'quiet'].includes(progress)) throw new UserError(`invalid --progress ${JSON.stringify(progress)} (auto, plain, tty, quiet)`);
  const buildArgs: Record<string, string> = {};
  for (const a of o.buildArg) {
    const kv = parseBuildArg(a);
    if (kv) buildArgs[kv[0]] = kv[1];
  }
  const buildContexts: Record<string, NamedContext> = {};
  for (const c of o.buildContext) {
    const [k, v] = parseBuildContext(c);
    buildContexts[k] = v;
  }
  const secrets = o.secret.map(parseSecret);
  const cmd = o.runCommand === undefined ? [] : o.runCommand.trim().startsWith('[') ? parseJsonArgv(o.runCommand) : o.runCommand.trim().split(/\s+/);
  const store = await Store.open();
  const base: BuildOptions = {
    contextDir: ctx, tags: [], target: o.target, buildArgs, noCache: false, pull: false, secrets, progress, outputs: [], push: false, labels: {}, network: 'default', buildContexts,
  };
  const v = await verifyConversion({
    build: async (which) => {
      process.stderr.write(`verify: building the ${which} Dockerfile\n`);
      const dockerfileText = which === 'converted' ? converted : file === undefined ? original : undefined;
      const r = await build({ ...base, dockerfile: dockerfileText === undefined ? file : '-', dockerfileText });
      return r.imageId;
    },
    run: (image) => runCaptured(store, image, cmd),
    size: async (image) => (await store.listImages()).find((i) => i.configDigest === image)?.size ?? 0,
  });
  for (const l of v.report) process.stderr.write(`${l}\n`);
  return v.ok;
}

function parseJsonArgv(s: string): string[] {
  try {
    const v = JSON.parse(s) as unknown;
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
  } catch {
    /* below */
  }
  throw new UserError(`--run-command: not a JSON array of strings: ${s}`);
}

/** Runs the image once (a removed-on-exit container, no network), capturing its output. */
async function runCaptured(store: Store, image: string, cmd: string[]): Promise<RunOutput> {
  let stdout = '';
  let stderr = '';
  const sink = (f: (s: string) => void) => new Writable({ write(c: Buffer, _e, cb) { f(c.toString()); cb(); } });
  const rec = await createContainer(store, { image, cmd, rm: true, network: 'none' });
  const exitCode = await startAttached(store, rec, { stdout: sink((s) => (stdout += s)), stderr: sink((s) => (stderr += s)) });
  return { exitCode, stdout, stderr };
}
