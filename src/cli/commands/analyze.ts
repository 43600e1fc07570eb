/**
 * `analyze IMAGE` and `compare IMAGE_A IMAGE_B`: load stored images into the analysis model and
 * print a terminal report, JSON, or a self-contained HTML report. `analyze --ci` (or CI=true) gates
 * with dive's rules, `.dive-ci` file and report; exit 1 when a rule fails, as dive.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { compareImages, DEFAULT_CI_RULES, dockerImageSize, evaluateCi, findLeaks, findPackages, findSecrets, loadImageModel, parseDiveCi, renderCiReport, sizeReport, userLayers, validateCiRules, type CiRules, type Leak } from '../../analyze/index.js';
import { parseDockerfile } from '../../dockerfile/index.js';
import { analysisHtml, comparisonHtml, renderAnalysis, renderComparison, renderPackageChanges, renderPackages, renderSecrets } from '../../report/index.js';
import { openImageSource } from '../../source/index.js';
import { Store } from '../../store/index.js';
import { UserError } from '../../util/errors.js';
import { checkOutputFile, outputFailure, readDockerfile } from '../io.js';

type Format = 'text' | 'json' | 'html';

function emit(text: string, output: string | undefined): void {
  if (!output || output === '-') {
    process.stdout.write(text);
    return;
  }
  try {
    writeFileSync(output, text);
  } catch (e) {
    throw outputFailure(e, output, 'failed to write the report');
  }
}

interface AnalyzeOpts {
  format: Format;
  output?: string;
  packages: 'build' | 'all';
  ci?: boolean;
  ciConfig: string;
  lowestEfficiency?: string;
  highestWastedBytes?: string;
  highestUserWastedPercent?: string;
  failOnBaggage?: string;
}

/** dive's reading of the CI variable (strconv.ParseBool's true spellings and dive's "yes"). */
function truthy(v: string | undefined): boolean {
  return v !== undefined && ['1', 't', 'T', 'true', 'TRUE', 'True', 'yes'].includes(v);
}

/** dive's defaults, then the rules file (when it exists), then the flags. */
function ciRules(o: AnalyzeOpts): CiRules {
  const rules: CiRules = { ...DEFAULT_CI_RULES };
  if (o.ciConfig && existsSync(o.ciConfig)) Object.assign(rules, parseDiveCi(readFileSync(o.ciConfig, 'utf8'), o.ciConfig));
  if (o.lowestEfficiency !== undefined) rules.lowestEfficiency = o.lowestEfficiency;
  if (o.highestWastedBytes !== undefined) rules.highestWastedBytes = o.highestWastedBytes;
  if (o.highestUserWastedPercent !== undefined) rules.highestUserWastedPercent = o.highestUserWastedPercent;
  validateCiRules(rules);
  return rules;
}

function baggageFailures(leaks: Leak[], severity: string): string[] {
  const order = ['high', 'medium', 'low'];
  const lim = order.indexOf(severity);
  if (lim < 0) throw new UserError(`--fail-on-baggage must be high, medium or low, got ${severity}`);
  const bad = leaks.filter((l) => order.indexOf(l.severity) <= lim);
  return bad.length ? [`baggage (${bad.length} finding(s) of severity ${severity} or worse)`] : [];
}

/** Any image source (store name, docker-archive:, oci-archive:, oci:, docker-daemon:, docker://, a registry reference). */
const openSource = (name: string) => openImageSource(name, { store: () => Store.open(), registryFallback: true });

export function register(program: Command): void {
  program
    .command('analyze')
    .description('Show where every byte of an image came from, its packages, secrets and build-time baggage')
    .argument('<image>', 'image: name, tag or ID in the store, a registry reference, docker-archive:FILE, oci-archive:FILE, oci:DIR[:REF], docker-daemon:NAME or docker://REF')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json', 'html']).default('text'))
    .option('-o, --output <file>', 'write the report to a file')
    .addOption(new Option('--packages <which>', 'packages to list in text output: the build\'s, or all').choices(['build', 'all']).default('build'))
    .option('--ci', "validate against dive's CI rules and print dive's CI report instead of the text report, exit 1 on failure (same as env var CI=true)")
    .option('--ci-config <file>', "dive's CI rules file (YAML), read when it exists", '.dive-ci')
    .option('--lowest-efficiency <ratio>', 'CI rule: lowest allowed efficiency, 0..1 (default 0.9; "disabled" turns it off)')
    .option('--highest-wasted-bytes <size>', 'CI rule: most wasted bytes allowed, e.g. 20MB (default disabled)')
    .option('--highest-user-wasted-percent <ratio>', 'CI rule: most wasted bytes relative to the bytes above the first layer, 0..1 (default 0.1)')
    .option('--fail-on-baggage <severity>', 'CI rule (stagecraft): fail on baggage of this severity or worse (high|medium|low)')
    .action(async (ref: string, o: AnalyzeOpts) => {
      if (o.output && o.output !== '-') checkOutputFile(o.output, 'failed to write the report');
      const ci = o.ci === true || truthy(process.env.CI);
      const rules = ci ? ciRules(o) : undefined;
      const model = await loadImageModel(await openSource(ref));
      const r = sizeReport(model);
      const pkgs = findPackages(model, r.tree);
      const leaks = findLeaks(r.tree, { img: model, packages: pkgs });
      const secrets = findSecrets(model, r.tree);
      const size = dockerImageSize(model);
      const evaluation = rules ? evaluateCi(r.dive, rules) : undefined;
      const bad = o.failOnBaggage ? baggageFailures(leaks, o.failOnBaggage) : [];
      const { tree: _t, ...rest } = r;
      // the HTML report renders the JSON document's fields (packages and dive metrics from the analysis)
      const doc: Record<string, unknown> = {
        image: model.name,
        id: model.id,
        size,
        ...rest,
        packages: pkgs.packages,
        packageNotes: pkgs.notes,
        secrets,
        leaks,
        ...(evaluation ? { ci: { ...evaluation, pass: evaluation.pass && bad.length === 0 } } : {}),
      };
      if (o.format === 'json') emit(`${JSON.stringify(doc, null, 2)}\n`, o.output);
      else if (o.format === 'html') emit(analysisHtml({ name: model.name, size, report: r, leaks, layers: model.layers, packages: doc.packages }), o.output);
      else if (!evaluation || (o.output && o.output !== '-')) emit(`${renderAnalysis(model.name, r, leaks, size)}\n${renderPackages(pkgs, userLayers(model), o.packages === 'all')}\n${renderSecrets(secrets)}`, o.output);
      if (evaluation) {
        // like dive --ci: its report on stdout (on stderr when stdout carries JSON or HTML)
        const toStdout = o.format === 'text' || (!!o.output && o.output !== '-');
        (toStdout ? process.stdout : process.stderr).write(renderCiReport(r.dive, evaluation));
        for (const f of bad) process.stderr.write(`FAIL  ${f}\n`);
        if (!evaluation.pass || bad.length) process.exitCode = 1;
      } else if (bad.length) {
        for (const f of bad) process.stderr.write(`FAIL  ${f}\n`);
        process.exitCode = 1;
      }
    });

  program
    .command('compare')
    .description('Compare two images (e.g. a single-stage and a multi-stage build of the same app)')
    .argument('<imageA>', 'image (any source analyze accepts)')
    .argument('<imageB>', 'image (any source analyze accepts)')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json', 'html']).default('text'))
    .option('-o, --output <file>', 'write the report to a file')
    .action(async (a: string, b: string, o: { format: Format; output?: string }) => {
      if (o.output && o.output !== '-') checkOutputFile(o.output, 'failed to write the report');
      const ma = await loadImageModel(await openSource(a));
      const mb = await loadImageModel(await openSource(b));
      const c = compareImages(ma, mb);
      if (o.format === 'json') emit(`${JSON.stringify(c, null, 2)}\n`, o.output);
      else if (o.format === 'html') {
        const input = (m: typeof ma, s: typeof c.a) => ({ name: s.name, size: dockerImageSize(m), report: sizeReport(m), leaks: s.leaks, layers: m.layers });
        emit(comparisonHtml(c, input(ma, c.a), input(mb, c.b)), o.output);
      }
      else emit(`${renderComparison(c)}\n${renderPackageChanges(c.packages, c.a.name, c.b.name)}`, o.output);
    });
}
