/**
 * analyze / compare / lint / convert end to end: real builds on the busybox base, the seed's trap
 * (a "multi-stage" image that comes out bigger) caught by compare, baggage gates, and the HTML
 * report rendered by a real Chromium.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildOk, context } from './helpers/build.js';
import { cli, importBusybox, runCli, tmp } from './helpers/index.js';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const chromeFlags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const root = tmp('sc-analyze-');
let ctx = '';

const BUILD_STAGE = `FROM busybox:latest AS build
WORKDIR /app
COPY src/ ./src/
RUN mkdir -p /root/.npm/_cacache && dd if=/dev/urandom of=/root/.npm/_cacache/blob bs=1k count=300 2>/dev/null \\
 && mkdir -p out && cat src/*.txt > out/app.txt
`;

beforeAll(async () => {
  await importBusybox(root);
  ctx = context({
    'src/a.txt': 'apple 10\n',
    'src/b.txt': 'banana 5\n',
    'Dockerfile.single': `FROM busybox:latest
WORKDIR /app
COPY src/ ./src/
RUN mkdir -p /root/.npm/_cacache && dd if=/dev/urandom of=/root/.npm/_cacache/blob bs=1k count=300 2>/dev/null \\
 && mkdir -p out && cat src/*.txt > out/app.txt
RUN echo log > /root/.npm/_logs.txt && mkdir -p /root/.npm/_logs && echo log > /root/.npm/_logs/debug.log
CMD ["cat", "/app/out/app.txt"]
`,
    'Dockerfile.multi': `${BUILD_STAGE}
FROM busybox:latest
WORKDIR /app
COPY --from=build /app/out ./out
CMD ["cat", "/app/out/app.txt"]
`,
    // the seed's trap: the final stage copies far more than the artifacts
    'Dockerfile.naive': `${BUILD_STAGE}
FROM busybox:latest
COPY --from=build / /
WORKDIR /app
CMD ["cat", "/app/out/app.txt"]
`,
  });
  for (const v of ['single', 'multi', 'naive']) await buildOk(root, ctx, ['-t', `app-${v}:latest`, '-f', join(ctx, `Dockerfile.${v}`)]);
}, 300_000);

describe('analyze', () => {
  it('attributes bytes to stages and Dockerfile lines and finds the npm cache', async () => {
    const r = await cli(['analyze', 'app-single', '--format', 'json'], { root });
    const j = JSON.parse(r.stdout) as { layers: Array<{ stage: string; line?: number; bytes: number }>; leaks: Array<{ what: string; bytes: number; path: string }>; efficiency: number };
    const runLayer = j.layers.find((l) => l.line === 4);
    expect(runLayer?.stage).toBe('stage-0');
    expect(runLayer?.bytes).toBeGreaterThan(300_000);
    const cache = j.leaks.find((l) => l.what === 'npm cache');
    expect(cache?.bytes).toBe(300 * 1024 + 4); // the blob and a later RUN's log
    expect(cache?.path).toBe('/root/.npm');
  });
  it('--ci gates on baggage beside dive\'s rules', async () => {
    const bad = await runCli(['analyze', 'app-single', '--ci', '--fail-on-baggage', 'medium'], { root, env: { CI: '' } });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('FAIL  baggage (1 finding(s) of severity medium or worse)');
    const good = await runCli(['analyze', 'app-multi', '--ci', '--fail-on-baggage', 'medium'], { root, env: { CI: '' } });
    expect(good.stderr).toBe('');
    expect(good.stdout).toMatch(/\nPASS \[pass:2 skip:1\]\n$/);
    expect(good.code).toBe(0);
  });
  it('the npm cache is charged to the RUN that wrote it', async () => {
    const j = JSON.parse((await cli(['analyze', 'app-single', '--format', 'json'], { root })).stdout) as { leaks: Array<{ what: string; line?: number; instruction?: string }> };
    const cache = j.leaks.find((l) => l.what === 'npm cache');
    expect(cache?.line).toBe(4); // not line 6, which wrote 4 bytes of it later
    expect(cache?.instruction).toMatch(/^RUN mkdir -p \/root\/\.npm/);
  });
  it('a missing image is a one-line error', async () => {
    const r = await runCli(['analyze', 'nope:1'], { root });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe('No such image: nope:1');
  });
});

describe('compare', () => {
  it('says the real multi-stage image is smaller and carries no baggage', async () => {
    const r = await cli(['compare', 'app-single', 'app-multi'], { root });
    expect(r.stdout).toMatch(/app-multi:latest is \S+ \(\d+\.\d%\) smaller than app-single:latest\./);
    expect(r.stdout).toContain('app-multi:latest: no build-time baggage found.');
    expect(r.stdout).toMatch(/app-single:latest carries 307kB of build-time baggage \(npm cache\)/);
  });
  it("catches the seed's trap: a multi-stage image bigger than the single-stage one", async () => {
    const r = await cli(['compare', 'app-single', 'app-naive', '--format', 'json'], { root });
    const c = JSON.parse(r.stdout) as { delta: number; verdict: string[]; b: { stages: string[] } };
    expect(c.b.stages.length).toBeGreaterThan(1);
    expect(c.delta).toBeGreaterThan(0);
    expect(c.verdict[0]).toMatch(/^WARNING: the multi-stage image app-naive:latest is .* LARGER than the single-stage app-single:latest/);
  });
});

describe('html report in a real browser', () => {
  it.runIf(!!CHROMIUM)('renders the comparison with charts', async () => {
    const out = join(tmp('sc-html-'), 'report.html');
    await cli(['compare', 'app-single', 'app-naive', '--format', 'html', '-o', out], { root });
    const html = readFileSync(out, 'utf8');
    expect(html).not.toContain('<script');
    const profile = mkdtempSync(join(tmp('sc-chrome-'), 'p'));
    const dom = execFileSync(CHROMIUM as string, [...chromeFlags, `--user-data-dir=${profile}`, '--dump-dom', `file://${out}`], { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'ignore'] });
    expect(dom).toContain('WARNING: the multi-stage image');
    expect((dom.match(/<g class="layer">/g) ?? []).length).toBeGreaterThanOrEqual(4);
    expect(dom).toContain('class="chart treemap"');
    const png = join(tmp('sc-shot-'), 'shot.png');
    execFileSync(CHROMIUM as string, [...chromeFlags, `--user-data-dir=${profile}`, `--screenshot=${png}`, '--window-size=1100,1400', `file://${out}`], { timeout: 60_000, stdio: 'ignore' });
    expect(statSync(png).size).toBeGreaterThan(10_000);
  });
});

describe('lint and convert', () => {
  it('lint reports findings with file:line:col and fails; parse errors are positioned findings', async () => {
    const bad = await runCli(['lint', join(ctx, 'Dockerfile.single')], { root });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('Dockerfile.single:1:1 DL3007 warning: Using latest is prone to errors if the image will ever update. Pin the version explicitly to a release tag');
    const naive = await runCli(['lint', join(ctx, 'Dockerfile.naive')], { root });
    expect(naive.stdout).toMatch(/Dockerfile\.naive:8:1 CopyWholeStage info: COPY --from=build \/ copies the stage's whole root filesystem/);
    const parseErr = await runCli(['lint', join(ctx, 'src/a.txt')], { root });
    expect(parseErr.code).toBe(1);
    expect(parseErr.stderr).toBe('');
    expect(parseErr.stdout).toMatch(/a\.txt:1:1 InvalidDockerfile error: /);
  });
  it('convert output builds and runs the same app from a smaller image', async () => {
    const df = join(ctx, 'Dockerfile.converted');
    const conv = await cli(['convert', join(ctx, 'Dockerfile.single'), '--artifact', '/app/out'], { root });
    writeFileSync(df, conv.stdout);
    await buildOk(root, ctx, ['-t', 'app-converted:latest', '-f', df]);
    const c = JSON.parse((await cli(['compare', 'app-single', 'app-converted', '--format', 'json'], { root })).stdout) as { delta: number; b: { leaks: unknown[] } };
    expect(c.delta).toBeLessThan(-300_000);
    expect(c.b.leaks).toEqual([]);
  });
});
