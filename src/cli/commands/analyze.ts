/**
 * `analyze IMAGE` and `compare IMAGE_A IMAGE_B`: load stored images into the analysis model and
 * print a terminal report, JSON, or a self-contained HTML report. `analyze --ci` gates like dive.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { compareImages, convertToMultiStage, dockerImageSize, findLeaks, LINT_RULES, lintDockerfile, loadImageModel, sizeReport, type Severity } from '../../analyze/index.js';
import { parseDockerfile } from '../../dockerfile/index.js';
import { planBuild } from '../../plan/index.js';
import { analysisHtml, comparisonHtml, renderAnalysis, renderComparison } from '../../report/index.js';
import { openImageSource } from '../../source/index.js';
import { Store } from '../../store/index.js';
import { UserError } from '../../util/errors.js';
import { readDockerfile } from '../io.js';

type Format = 'text' | 'json' | 'html';

function emit(text: string, output: string | undefined): void {
  if (output && output !== '-') writeFileSync(output, text);
  else process.stdout.write(text);
}

function bytesArg(v: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|kib|mib|gib)?$/i.exec(v.trim());
  if (!m) throw new UserError(`invalid size: ${v}`);
  const mult: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };
  return Math.round(Number(m[1]) * mult[(m[2] ?? 'b').toLowerCase()]);
}

/** Any image source (store name, docker-archive:, oci-archive:, oci:, docker-daemon:, docker://, a registry reference). */
const openSource = (name: string) => openImageSource(name, { store: () => Store.open(), registryFallback: true });

export function register(program: Command): void {
  program
    .command('lint')
    .description('Check a Dockerfile for build-time baggage, leaked secrets and BuildKit build-check issues')
    .argument('[file]', 'the Dockerfile', 'Dockerfile')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .addOption(new Option('--failure-threshold <severity>', 'exit 1 on findings of this severity or worse').choices(['error', 'warning', 'info', 'none']).default('warning'))
    .option('--target <stage>', 'the stage that ships (default: the last)')
    .option('--list', 'list the rules and exit')
    .action((file: string, o: { format: 'text' | 'json'; failureThreshold: Severity | 'none'; target?: string; list?: boolean }) => {
      if (o.list) {
        for (const r of LINT_RULES) process.stdout.write(`${r.id}  ${r.severity.padEnd(7)}  ${r.summary}\n`);
        return;
      }
      const name = file === '-' ? '<stdin>' : file;
      const text = readDockerfile(file);
      const df = parseDockerfile(text, { file: name });
      const findings = lintDockerfile(df, planBuild(df, { target: o.target }));
      if (o.format === 'json') process.stdout.write(`${JSON.stringify(findings.map((f) => ({ file: name, ...f })), null, 2)}\n`);
      else for (const f of findings) process.stdout.write(`${name}:${f.line}:${f.col} ${f.rule} ${f.severity}: ${f.message}\n`);
      const order: Array<Severity | 'none'> = ['error', 'warning', 'info'];
      const lim = order.indexOf(o.failureThreshold);
      if (lim >= 0 && findings.some((f) => order.indexOf(f.severity) <= lim)) process.exitCode = 1;
    });

  program
    .command('convert')
    .description('Rewrite a single-stage Dockerfile as a multi-stage one (build stage + slim final stage)')
    .argument('[file]', 'the single-stage Dockerfile', 'Dockerfile')
    .option('-o, --output <file>', 'write the result here instead of stdout')
    .option('--context <dir>', 'build context, read for package.json / tsconfig.json (default: the Dockerfile\'s directory)')
    .option('--artifact <path>', 'a path in the build stage to copy into the final stage (repeatable; overrides detection)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .action((file: string, o: { output?: string; context?: string; artifact: string[] }) => {
      const name = file === '-' ? '<stdin>' : file;
      const text = readDockerfile(file);
      const df = parseDockerfile(text, { file: name });
      const ctx = resolve(o.context ?? (file === '-' ? '.' : dirname(file)));
      const read = (f: string) => (existsSync(join(ctx, f)) ? readFileSync(join(ctx, f), 'utf8') : undefined);
      const r = convertToMultiStage(df, { packageJson: read('package.json'), tsconfig: read('tsconfig.json'), artifacts: o.artifact.length ? o.artifact : undefined });
      emit(r.text, o.output);
      for (const n of r.notes) process.stderr.write(`note: ${n}\n`);
    });

  program
    .command('analyze')
    .description('Show where every byte of an image came from and what build-time baggage it carries')
    .argument('<image>', 'image: name, tag or ID in the store, a registry reference, docker-archive:FILE, oci-archive:FILE, oci:DIR[:REF], docker-daemon:NAME or docker://REF')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json', 'html']).default('text'))
    .option('-o, --output <file>', 'write the report to a file')
    .option('--ci', 'exit 1 when a gate below fails (like dive --ci)')
    .option('--lowest-efficiency <ratio>', 'CI gate: lowest allowed efficiency (0..1)', '0.9')
    .option('--highest-wasted-bytes <size>', 'CI gate: most wasted bytes allowed (e.g. 20MB)')
    .option('--fail-on-baggage <severity>', 'CI gate: fail on baggage of this severity or worse (high|medium|low)')
    .action(async (ref: string, o: { format: Format; output?: string; ci?: boolean; lowestEfficiency: string; highestWastedBytes?: string; failOnBaggage?: string }) => {
      const model = await loadImageModel(await openSource(ref));
      const r = sizeReport(model);
      const leaks = findLeaks(r.tree);
      const size = dockerImageSize(model);
      const { tree: _t, ...rest } = r;
      // the HTML report renders the JSON document's fields (packages too, when the analysis has them)
      const doc: Record<string, unknown> = { image: model.name, id: model.id, size, ...rest, leaks };
      if (o.format === 'json') emit(`${JSON.stringify(doc, null, 2)}\n`, o.output);
      else if (o.format === 'html') emit(analysisHtml({ name: model.name, size, report: r, leaks, layers: model.layers, packages: doc.packages }), o.output);
      else emit(renderAnalysis(model.name, r, leaks, size), o.output);
      if (o.ci) {
        const failures: string[] = [];
        const minEff = Number(o.lowestEfficiency);
        if (!(minEff >= 0 && minEff <= 1)) throw new UserError(`--lowest-efficiency must be between 0 and 1, got ${o.lowestEfficiency}`);
        if (r.efficiency < minEff) failures.push(`efficiency ${(r.efficiency * 100).toFixed(1)}% is below ${(minEff * 100).toFixed(1)}%`);
        if (o.highestWastedBytes !== undefined && r.wastedBytes > bytesArg(o.highestWastedBytes)) failures.push(`wasted bytes ${r.wastedBytes} exceed ${o.highestWastedBytes}`);
        if (o.failOnBaggage) {
          const order = ['high', 'medium', 'low'];
          const lim = order.indexOf(o.failOnBaggage);
          if (lim < 0) throw new UserError(`--fail-on-baggage must be high, medium or low, got ${o.failOnBaggage}`);
          const bad = leaks.filter((l) => order.indexOf(l.severity) <= lim);
          if (bad.length) failures.push(`${bad.length} baggage finding(s) of severity ${o.failOnBaggage} or worse`);
        }
        for (const f of failures) process.stderr.write(`FAIL: ${f}\n`);
        process.stderr.write(failures.length ? `Result: FAIL\n` : `Result: PASS\n`);
        if (failures.length) process.exitCode = 1;
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
      const ma = await loadImageModel(await openSource(a));
      const mb = await loadImageModel(await openSource(b));
      const c = compareImages(ma, mb);
      if (o.format === 'json') emit(`${JSON.stringify(c, null, 2)}\n`, o.output);
      else if (o.format === 'html') {
        const input = (m: typeof ma, s: typeof c.a) => ({ name: s.name, size: dockerImageSize(m), report: sizeReport(m), leaks: s.leaks, layers: m.layers });
        emit(comparisonHtml(c, input(ma, c.a), input(mb, c.b)), o.output);
      }
      else emit(renderComparison(c), o.output);
    });
}
