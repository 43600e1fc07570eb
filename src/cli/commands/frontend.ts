/**
 * `stagecraft parse` and `stagecraft stages`: the Dockerfile front end on the command line.
 * Thin: read the file, call `src/dockerfile` / `src/plan`, print. User errors are `UserError`s
 * (`FILE:LINE:COL: message`, exit 1).
 */
import type { Command } from 'commander';
import { parsePlatform } from '../../reference/index.js';
import { dumpAst, parseAst, parseDockerfile } from '../../dockerfile/index.js';
import { planBuild, planToJson, renderPlanDot, renderPlanText } from '../../plan/index.js';
import type { Platform } from '../../image/types.js';
import { UserError } from '../../util/errors.js';
import { readDockerfile } from '../io.js';

/** Name used in `FILE:LINE:COL` messages; stdin shows as `<stdin>`. */
function displayName(file: string): string | undefined {
  return file === '-' ? undefined : file;
}

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

/** `K=V` → K:V; a bare `K` takes the value from the environment (as `docker build`), or is skipped. */
export function parseBuildArgs(list: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list) {
    const i = item.indexOf('=');
    if (i === 0) throw new UserError(`invalid --build-arg ${JSON.stringify(item)}: missing name`);
    if (i < 0) {
      const v = process.env[item];
      if (v !== undefined) out[item] = v;
      continue;
    }
    out[item.slice(0, i)] = item.slice(i + 1);
  }
  return out;
}

export function register(program: Command): void {
  program
    .command('parse')
    .description("parse a Dockerfile; --dump prints BuildKit's AST dump, otherwise the typed instructions as JSON")
    .argument('[file]', 'Dockerfile path (- for stdin)', 'Dockerfile')
    .option('--dump', "print BuildKit's AST dump format")
    .action((file: string, opts: { dump?: boolean }) => {
      const text = readDockerfile(file);
      const name = displayName(file);
      if (opts.dump) {
        process.stdout.write(dumpAst(parseAst(text, { file: name })));
        return;
      }
      const df = parseDockerfile(text, { file: name });
      process.stdout.write(
        JSON.stringify(
          { directives: df.directives, escapeChar: df.escapeChar, globalArgs: df.globalArgs, stages: df.stages, warnings: df.warnings },
          null,
          2,
        ) + '\n',
      );
    });

  program
    .command('stages')
    .description('plan a build: which stages the target needs, their bases and dependencies, and what can run in parallel')
    .option('-f, --file <file>', 'Dockerfile path (- for stdin)', 'Dockerfile')
    .option('--target <name>', 'target stage (default: the last stage)')
    .option('--build-arg <k=v>', 'set a build-time ARG (repeatable)', collect, [] as string[])
    .option('--platform <os/arch>', 'target platform (default: this machine)')
    .option('--format <format>', 'text, json or dot', 'text')
    .action((opts: { file: string; target?: string; buildArg: string[]; platform?: string; format: string }) => {
      if (!['text', 'json', 'dot'].includes(opts.format)) {
        throw new UserError(`unknown --format ${JSON.stringify(opts.format)} (want text, json or dot)`);
      }
      const df = parseDockerfile(readDockerfile(opts.file), { file: displayName(opts.file) });
      const plan = planBuild(df, {
        target: opts.target,
        buildArgs: parseBuildArgs(opts.buildArg),
        platform: opts.platform ? parsePlatform(opts.platform) : undefined,
      });
      if (opts.format === 'json') process.stdout.write(JSON.stringify(planToJson(plan)) + '\n');
      else if (opts.format === 'dot') process.stdout.write(renderPlanDot(plan));
      else process.stdout.write(renderPlanText(plan));
    });
}
