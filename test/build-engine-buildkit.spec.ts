/**
 * `build --engine buildkit|auto`: the example app (examples/fruit-cost, Dockerfile.multi) built by
 * the peer lab's BuildKit (Docker 26, `docker buildx`, the docker driver) lands in the store; its
 * file tree equals the locally built image's (`compare`: same size, no directory differs; and
 * every path, mode, owner and content hash), and `analyze` charges its layers to the same stages
 * and Dockerfile lines. The base image (node-base, made by scripts/make-node-base.sh) reaches
 * BuildKit through the lab's registry and `--build-context node-base:bookworm=docker-image://...`.
 * Engine choice and its errors are one line. Needs `docker info` to answer: skipped otherwise.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadImageModel, mergeLayers } from '../src/analyze/index.js';
import { Store } from '../src/store/index.js';
import { CLI, cli, isRoot, REPO, runCli, tmp } from './helpers/index.js';
import { context } from './helpers/build.js';

const dockerUp = spawnSync('docker', ['info'], { stdio: 'ignore', timeout: 20_000 }).status === 0;
const labRegistry = dockerUp && spawnSync('curl', ['-fsS', 'http://127.0.0.1:5000/v2/'], { stdio: 'ignore', timeout: 10_000 }).status === 0;
const EX = join(REPO, 'examples/fruit-cost');
const CA = ['--secret', 'id=ca,src=/etc/ssl/certs/ca-certificates.crt'];
const BASE_IN_LAB = 'localhost:5000/stagecraft-test/node-base:bookworm';

async function tree(root: string, ref: string): Promise<string[]> {
  const store = await Store.open(root);
  const t = mergeLayers((await loadImageModel(store, ref)).layers);
  return [...t.nodes.entries()]
    .map(([p, n]) => {
      const e = n.entry;
      return `${p} ${e.type} ${(e.mode & 0o7777).toString(8)} ${e.uid}:${e.gid} ${e.type === 'file' ? `${e.size} ${e.sha256}` : ''}${e.linkname ? ` -> ${e.linkname}` : ''}`;
    })
    .sort();
}

interface AnalyzedLayer {
  stage?: string;
  line?: number;
  createdBy?: string;
}

async function analyzedLayers(root: string, ref: string): Promise<AnalyzedLayer[]> {
  const r = await cli(['analyze', ref, '--format', 'json'], { root });
  const j = JSON.parse(r.stdout) as { layers: AnalyzedLayer[] };
  return j.layers.map((l) => ({ stage: l.stage, line: l.line, createdBy: l.createdBy }));
}

describe('build --engine: choice and one-line errors', () => {
  it('auto without a named builder takes the local engine and says so; --builder needs buildkit/auto', async () => {
    const root = tmp('sc-root-');
    const ctx = context({ Dockerfile: 'FROM scratch\nCOPY a /a\n', a: 'x\n' });
    const r = await runCli(['build', '--engine', 'auto', '-t', 'e:1', '--progress', 'plain', ctx], { root, env: { STAGECRAFT_BUILDER: '' } });
    expect(r.code).toBe(0);
    expect(r.stderr.split('\n')[0]).toBe('--engine auto: local engine (no builder named: set STAGECRAFT_BUILDER or --builder)');
    const bad = await runCli(['build', '--builder', 'x', ctx], { root });
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim()).toBe('--builder needs --engine buildkit or --engine auto');
    const eng = await runCli(['build', '--engine', 'kaniko', ctx], { root });
    expect(eng.stderr.trim()).toBe('invalid --engine "kaniko" (local, buildkit, auto)');
  });

  it.runIf(dockerUp)('an unknown builder: buildkit fails in one line, auto falls back to local and says why', async () => {
    const root = tmp('sc-root-');
    const ctx = context({ Dockerfile: 'FROM scratch\nCOPY a /a\n', a: 'x\n' });
    const r = await runCli(['build', '--engine', 'buildkit', '--builder', 'no-such-builder', ctx], { root });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^--engine buildkit: builder "no-such-builder": .*no-such-builder/);
    const a = await runCli(['build', '--engine', 'auto', '-t', 'e:2', '--progress', 'plain', ctx], { root, env: { STAGECRAFT_BUILDER: 'no-such-builder' } });
    expect(a.code).toBe(0);
    expect(a.stderr.split('\n')[0]).toMatch(/^--engine auto: local engine \(builder "no-such-builder": /);
    const p = await runCli(['build', '--platform', 'linux/s390x', ctx], { root });
    expect(p.stderr.trim()).toMatch(/^--platform linux\/s390x: the local engine builds only linux\/\w+ \(no emulation\); use --engine buildkit$/);
  }, 60_000);

  it.runIf(dockerUp)('--engine auto with a reachable builder takes BuildKit; attribution matches the local build line for line', async () => {
    const root = tmp('sc-root-');
    const ctx = context({ Dockerfile: 'FROM scratch AS one\nARG A=1\nCOPY a /x/\nWORKDIR /app\nENV B=2\nFROM one\nCOPY --from=one /x/a /y\nLABEL k=v\n', a: 'x\n' });
    const r = await runCli(['build', '--engine', 'auto', '--builder', 'default', '-t', 'e:bk', '--progress', 'plain', ctx], { root });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr.split('\n')[0]).toBe('--engine auto: BuildKit builder "default" (docker driver)');
    expect(r.stderr).toContain('attributed 3 of 3 layers to Dockerfile lines (0 from the base image)');
    await cli(['build', '-t', 'e:local', ctx], { root });
    expect(await analyzedLayers(root, 'e:bk')).toEqual(await analyzedLayers(root, 'e:local'));
    expect(execFileSync('docker', ['images', '-q', '--filter', 'reference=stagecraft-buildkit-*'], { encoding: 'utf8' }).trim()).toBe('');
  }, 120_000);

  it.runIf(dockerUp)('--network slirp4netns is the local engine\'s: a BuildKit builder gets a one-line error, not buildx\'s', async () => {
    const r = await runCli(['build', '--engine', 'buildkit', '--builder', 'default', '--network', 'slirp4netns', context({ Dockerfile: 'FROM scratch\n' })], { root: tmp('sc-root-') });
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n').at(-1)).toBe('--network slirp4netns is a mode of the local engine; a BuildKit builder takes default, host or none');
    expect(r.stderr).not.toMatch(/ERROR: |buildx/);
  }, 60_000);
});

describe.runIf(dockerUp && labRegistry && isRoot && existsSync(CLI))('build --engine buildkit: the example app on the lab\'s BuildKit', () => {
  const root = tmp('sc-root-');
  let bk: { code: number; stderr: string; stdout: string };

  beforeAll(async () => {
    // the offline base image, made the example's way, into this store and the lab's registry
    execFileSync('bash', [join(REPO, 'scripts/make-node-base.sh'), process.execPath, CLI], { env: { ...process.env, STAGECRAFT_ROOT: root }, stdio: 'ignore' });
    await cli(['push', 'node-base:bookworm', BASE_IN_LAB], { root });
    await cli(['build', '-t', 'fruit:local', '-f', join(EX, 'Dockerfile.multi'), ...CA, EX], { root, timeoutMs: 900_000 });
    bk = await runCli(
      ['build', '--engine', 'buildkit', '-t', 'fruit:bk', '-f', join(EX, 'Dockerfile.multi'), ...CA, '--build-context', `node-base:bookworm=docker-image://${BASE_IN_LAB}`, '--progress', 'plain', EX],
      { root, timeoutMs: 900_000 },
    );
  }, 1_800_000);

  it('builds, shows BuildKit\'s progress, and the image is in the store', async () => {
    expect(bk.code, bk.stderr).toBe(0);
    expect(bk.stderr).toMatch(/#\d+ \[stagecraft\] building on BuildKit builder "default" \(docker driver/);
    expect(bk.stderr).toMatch(/#\d+ \[build \d\/\d\] RUN --mount=type=secret,id=ca NODE_EXTRA_CA_CERTS=\/run\/secrets\/ca npm ci/);
    expect(bk.stderr).toContain('attributed 3 of 3 layers to Dockerfile lines (1 from the base image)');
    const images = await cli(['images', '--format', '{{.Repository}}:{{.Tag}}'], { root });
    expect(images.stdout.split('\n')).toContain('fruit:bk');
    const run = await cli(['inspect', '--format', '{{json .Config.Cmd}}', 'fruit:bk'], { root });
    expect(run.stdout.trim()).toBe('["node","dist/app.js"]');
  });

  it('compare: the BuildKit-built and the locally built images have equal file trees', async () => {
    const c = JSON.parse((await cli(['compare', 'fruit:local', 'fruit:bk', '--format', 'json'], { root })).stdout) as { delta: number; dirDiff: unknown[] };
    expect(c.delta).toBe(0);
    expect(c.dirDiff).toEqual([]);
    const a = await tree(root, 'fruit:local');
    expect(a.length).toBeGreaterThan(1000);
    expect(await tree(root, 'fruit:bk')).toEqual(a);
  }, 300_000);

  it('analyze attributes the layers to the same stages and Dockerfile lines', async () => {
    const bkLayers = await analyzedLayers(root, 'fruit:bk');
    expect(bkLayers.filter((l) => l.line !== undefined).map((l) => l.line)).toEqual([12, 13, 14]);
    expect(bkLayers).toEqual(await analyzedLayers(root, 'fruit:local'));
  }, 120_000);
});
