/**
 * `stagecraft build` runs BuildKit's build checks as `docker build` does: warnings summarised after
 * the progress output, `--check` reports without building (exit 1 when a check fires, as buildx),
 * `# check=error=true` fails the build before anything runs. FROM scratch: no base image needed.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isRoot, runCli, tmp } from './helpers/index.js';

const ctx = tmp('sc-checks-');
writeFileSync(join(ctx, 'a.txt'), 'a\n');
const df = (name: string, text: string) => {
  writeFileSync(join(ctx, name), text);
  return join(ctx, name);
};

describe('build checks', () => {
  it('--check reports without building and exits 1 when a check fires', async () => {
    const root = tmp('sc-checks-root-');
    const f = df('Dockerfile.warn', 'FROM scratch AS Base\nCOPY a.txt /\nCMD echo hi\n');
    const r = await runCli(['build', '--check', '-f', f, ctx], { root });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('WARNING: StageNameCasing - https://docs.docker.com/go/dockerfile/rule/stage-name-casing/\nStage name \'Base\' should be lowercase');
    expect(r.stderr).toContain('WARNING: JSONArgsRecommended - https://docs.docker.com/go/dockerfile/rule/json-args-recommended/');
    expect(r.stderr).toContain('   3 | >>> CMD echo hi');
    expect(r.stderr).toContain('Check complete, 2 warnings have been found!');
    expect(r.stderr).not.toContain('DL3025'); // only BuildKit's checks, as docker build
    const images = await runCli(['images', '--format', '{{.ID}}'], { root });
    expect(images.stdout.trim()).toBe('');
    const clean = await runCli(['build', '--check', '-f', df('Dockerfile.clean', 'FROM scratch\nCOPY a.txt /\nCMD ["/a"]\n'), ctx], { root });
    expect(clean.code).toBe(0);
    expect(clean.stderr).toContain('Check complete, no warnings found.');
    const skipped = await runCli(['build', '--check', '--build-arg', 'BUILDKIT_DOCKERFILE_CHECK=skip=all', '-f', f, ctx], { root });
    expect(skipped.code).toBe(0);
  });
  it('check=error=true fails the build before it runs', async () => {
    const root = tmp('sc-checks-root-');
    const f = df('Dockerfile.err', '# check=error=true\nFROM scratch\nCOPY a.txt /\nCMD echo hi\n');
    const r = await runCli(['build', '-f', f, ctx], { root });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe('failed to solve: lint violation found for rules: JSONArgsRecommended');
  });
  it.skipIf(!isRoot)('a build prints the warnings summary after the progress output', async () => {
    const root = tmp('sc-checks-root-');
    const f = df('Dockerfile.build', 'FROM scratch\nCOPY a.txt /\nCMD echo hi\n');
    const r = await runCli(['build', '--progress', 'plain', '-t', 'chk:1', '-f', f, ctx], { root });
    expect(r.code).toBe(0);
    expect(r.stderr.trimEnd().split('\n').slice(-2)).toEqual([' 1 warning found (use docker --debug to expand):', ' - JSONArgsRecommended: JSON arguments recommended for CMD to prevent unintended behavior related to OS signals (line 3)']);
    const q = await runCli(['build', '-q', '-t', 'chk:2', '-f', f, ctx], { root });
    expect(q.code).toBe(0);
    expect(q.stderr).toBe(''); // -q: no progress, no summary (as buildx in quiet mode)
  });
  it.skipIf(!isRoot)('UndefinedVar sees the Env of base images in the store (lint and build --check)', async () => {
    const root = tmp('sc-checks-root-');
    const base = df('Dockerfile.base', 'FROM scratch\nENV APP_HOME=/app\nCOPY a.txt /\n');
    expect((await runCli(['build', '-q', '-t', 'envbase:1', '-f', base, ctx], { root })).code).toBe(0);
    const f = df('Dockerfile.env', 'FROM envbase:1\nCOPY a.txt $APP_HOME/\nCOPY a.txt $APP_HOM/\n');
    const lint = await runCli(['lint', '--format', 'json', f], { root });
    const uv = (JSON.parse(lint.stdout) as Array<{ code: string; line: number; message: string }>).filter((x) => x.code === 'UndefinedVar');
    expect(uv.map((x) => `${x.line} ${x.message}`)).toEqual(["3 Usage of undefined variable '$APP_HOM' (did you mean $APP_HOME?)"]);
    const chk = await runCli(['build', '--check', '-f', f, ctx], { root });
    expect(chk.stderr).toContain("WARNING: UndefinedVar - https://docs.docker.com/go/dockerfile/rule/undefined-var/\nUsage of undefined variable '$APP_HOM' (did you mean $APP_HOME?)");
    // an image lint has never seen: no guessing
    const unknown = await runCli(['lint', '--format', 'json', df('Dockerfile.unknown', 'FROM nothere:1\nCOPY a.txt $WHATEVER/\n')], { root });
    expect(unknown.stdout).not.toContain('UndefinedVar');
  });
});
