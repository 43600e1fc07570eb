/**
 * `stagecraft lint`: BuildKit's build checks, hadolint's DL rules and stagecraft's own rules over
 * one or more Dockerfiles (`-` = stdin), hadolint-compatible flags, config file lookup and exit
 * codes (1 when a finding is at or above --failure-threshold). Flags and file reading only; the
 * rules live in src/lint.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { EMPTY_HADOLINT, failsThreshold, formatResults, formatRuleList, LINT_FORMATS, lintText, parseHadolintConfig, parseThreshold, type HadolintConfig, type LintFormat, type LintResult, type Threshold } from '../../lint/index.js';
import { parseBuildArg } from '../../solver/index.js';
import { UserError } from '../../util/errors.js';
import { loadContext, type PathMatcher } from '../../worker/context/index.js';
import { readDockerfile } from '../io.js';
import { storeImageEnv } from '../lintenv.js';

const collect = (v: string, prev: string[]): string[] => [...prev, v];

/** hadolint's config lookup: the first file found is used exclusively. */
export function findHadolintConfig(cwd = process.cwd(), env: NodeJS.ProcessEnv = process.env): string | undefined {
  const home = env.HOME ?? homedir();
  const xdg = env.XDG_CONFIG_HOME;
  const bases = [join(cwd, '.hadolint'), ...(xdg ? [join(xdg, 'hadolint')] : []), join(home, '.config', 'hadolint'), join(home, '.hadolint', 'hadolint'), join(home, 'hadolint', 'config'), join(home, '.hadolint')];
  for (const b of bases) for (const ext of ['.yaml', '.yml']) if (existsSync(b + ext)) return b + ext;
  return undefined;
}

interface Opts {
  format: LintFormat;
  failureThreshold?: string;
  fail: boolean;
  ignore: string[];
  error: string[];
  warning: string[];
  info: string[];
  style: string[];
  config?: string;
  trustedRegistry: string[];
  requireLabel: string[];
  strictLabels?: boolean;
  disableIgnorePragma?: boolean;
  target?: string;
  buildArg: string[];
  context?: string;
  list?: boolean;
}

export function register(program: Command): void {
  program
    .command('lint')
    .description("Check Dockerfiles: BuildKit's build checks, hadolint's DL rules, stagecraft's multi-stage rules")
    .argument('[files...]', 'Dockerfiles ("-" reads stdin)')
    .addOption(new Option('-f, --format <format>', 'output format').choices([...LINT_FORMATS]).default('text'))
    .addOption(new Option('-t, --failure-threshold <level>', 'exit 1 when a finding is at or above this level (default: info, as hadolint)').choices(['error', 'warning', 'info', 'style', 'ignore', 'none']))
    .option('--no-fail', 'exit 0 whatever is found')
    .option('--ignore <rule>', 'a rule to ignore (replaces the config file\'s list); repeatable', collect, [])
    .option('--error <rule>', 'make RULE an error; repeatable', collect, [])
    .option('--warning <rule>', 'make RULE a warning; repeatable', collect, [])
    .option('--info <rule>', 'make RULE info; repeatable', collect, [])
    .option('--style <rule>', 'make RULE style; repeatable', collect, [])
    .option('-c, --config <file>', 'hadolint config file (default: .hadolint.yaml found as hadolint finds it)')
    .option('--trusted-registry <registry>', 'a registry FROM may use (DL3026); repeatable', collect, [])
    .option('--require-label <label:format>', 'a label the image must have (DL3049..); repeatable', collect, [])
    .option('--strict-labels', 'no labels other than the required ones (DL3050)')
    .option('--disable-ignore-pragma', 'ignore `# hadolint ignore=` comments')
    .option('--target <stage>', 'the stage that ships (default: the last)')
    .option('--build-arg <k=v>', 'build arg (BUILDKIT_DOCKERFILE_CHECK, FROM arguments); repeatable', collect, [])
    .option('--context <dir>', 'build context, for its .dockerignore (CopyIgnoredFile)')
    .option('--list', 'list the rules (with --format json: as JSON) and exit')
    .action(async (files: string[], o: Opts) => {
      if (o.list) {
        process.stdout.write(formatRuleList(o.format === 'json'));
        return;
      }
      const cfgFile = o.config ?? findHadolintConfig();
      let cfg: HadolintConfig = EMPTY_HADOLINT;
      if (cfgFile !== undefined) {
        let text: string;
        try {
          text = readFileSync(cfgFile, 'utf8');
        } catch {
          throw new UserError(`open ${cfgFile}: no such file or directory`);
        }
        cfg = parseHadolintConfig(text, cfgFile);
      }
      const buildArgs: Record<string, string> = {};
      for (const a of o.buildArg) {
        const kv = parseBuildArg(a);
        if (kv) buildArgs[kv[0]] = kv[1];
      }
      const labelSchema = { ...cfg.labelSchema };
      for (const r of o.requireLabel) {
        const i = r.indexOf(':');
        if (i <= 0) throw new UserError(`invalid --require-label ${JSON.stringify(r)}: want LABEL:FORMAT (text, url, semver, hash, rfc3339, spdx, email)`);
        labelSchema[r.slice(0, i)] = r.slice(i + 1);
      }
      const override = { ...cfg.override };
      for (const l of ['error', 'warning', 'info', 'style'] as const) if (o[l].length) override[l] = [...(override[l] ?? []), ...o[l]];
      const threshold: Threshold = o.failureThreshold ? parseThreshold(o.failureThreshold, '--failure-threshold') : (cfg.failureThreshold ?? 'info');
      const list = files.length ? files : ['Dockerfile'];
      const results: LintResult[] = [];
      for (const file of list) {
        const text = readDockerfile(file);
        // the context's .dockerignore, found as the build finds it (<Dockerfile>.dockerignore first)
        let ignore: PathMatcher | undefined;
        if (o.context !== undefined) ignore = (await loadContext(o.context, { dockerfile: file, stdin: text })).ignore;
        results.push(
          lintText(text, {
            file: file === '-' ? '-' : file,
            imageEnv: await storeImageEnv(text, { file, buildArgs }),
            target: o.target,
            buildArgs,
            ignore,
            ignored: o.ignore.length ? o.ignore : cfg.ignored,
            override,
            trustedRegistries: [...cfg.trustedRegistries, ...o.trustedRegistry],
            labelSchema,
            strictLabels: o.strictLabels ?? cfg.strictLabels,
            disableIgnorePragma: o.disableIgnorePragma ?? cfg.disableIgnorePragma,
          }),
        );
      }
      const color = o.format === 'tty' && process.stdout.isTTY === true && !process.env.NO_COLOR;
      process.stdout.write(formatResults(results, o.format, { color }));
      const noFail = o.fail === false || cfg.noFail;
      if (!noFail && results.some((r) => failsThreshold(r.findings, threshold))) process.exitCode = 1;
    });
}
