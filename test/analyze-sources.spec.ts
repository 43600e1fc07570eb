/**
 * Image sources: analyze (and history, inspect) read an image from the store, a docker-archive, an
 * OCI-layout tarball, an OCI layout directory, a registry (docker:// and a plain reference the store
 * lacks) and a Docker Engine (docker-daemon:, against the peer lab's engine) without importing it,
 * and every source gives the same numbers as the store. Bad names are one-line errors.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildOk, context } from './helpers/build.js';
import { cli, importBusybox, runCli, tmp } from './helpers/index.js';
import { startRegistry, type RegistryInstance } from './helpers/registry.js';

const dockerUp = spawnSync('docker', ['info'], { stdio: 'ignore', timeout: 20_000 }).status === 0;
const root = tmp('sc-sources-');
const dir = tmp('sc-sources-files-');
let registry: RegistryInstance | undefined;

interface Doc {
  image: string;
  size: number;
  totalBytes: number;
  finalBytes: number;
  wastedBytes: number;
  efficiency: number;
  layers: Array<{ stage: string; line?: number; bytes: number; files: number; visibleBytes: number }>;
  byStage: Array<{ key: string; bytes: number }>;
  leaks: Array<{ what: string; layer: number }>;
}

const analyze = async (spec: string, env?: Record<string, string>): Promise<Doc> => JSON.parse((await cli(['analyze', spec, '--format', 'json'], { root, env })).stdout) as Doc;
/** what must not depend on where the image was read from */
const numbers = (d: Doc) => ({
  size: d.size,
  totalBytes: d.totalBytes,
  finalBytes: d.finalBytes,
  wastedBytes: d.wastedBytes,
  efficiency: d.efficiency,
  // not digest / compressedSize: an archive may hold a layer uncompressed
  layers: d.layers.map((l) => ({ stage: l.stage, line: l.line, bytes: l.bytes, files: l.files, visibleBytes: l.visibleBytes })),
  byStage: d.byStage,
  leaks: d.leaks,
});
const imageCount = async () => (await cli(['images', '-q'], { root })).stdout.trim().split('\n').filter(Boolean).length;

beforeAll(async () => {
  await importBusybox(root);
  const ctx = context({
    'a.txt': 'apple 10\n',
    Dockerfile: `FROM busybox:latest AS build
RUN mkdir -p /out /root/.npm/_cacache && dd if=/dev/urandom of=/root/.npm/_cacache/blob bs=1k count=64 2>/dev/null && echo built > /out/app.txt
FROM busybox:latest
COPY --from=build /out /app
COPY a.txt /app/
RUN rm /app/a.txt && ln -s /app/app.txt /app/link
`,
  });
  await buildOk(root, ctx, ['-t', 'src-app:1']);
  await cli(['save', '-o', join(dir, 'docker.tar'), 'src-app:1'], { root });
  await cli(['save', '--format', 'oci', '-o', join(dir, 'oci.tar'), 'src-app:1'], { root });
  mkdirSync(join(dir, 'layout'));
  execFileSync('tar', ['-xf', join(dir, 'oci.tar'), '-C', join(dir, 'layout')]);
  execFileSync('gzip', ['-k', join(dir, 'docker.tar')]);
  writeFileSync(join(dir, 'notes.txt'), 'not an archive at all, just some words\n'.repeat(40));
}, 300_000);

afterAll(async () => {
  await registry?.stop();
});

describe('analyze reads every source kind without importing', () => {
  it('docker-archive, oci-archive and oci:DIR give the store numbers (attribution kept)', async () => {
    const store = await analyze('src-app:1');
    expect(store.layers.map((l) => l.stage)).toEqual(['base image', 'build', 'stage-1', 'stage-1']);
    expect(store.byStage.map((b) => b.key).sort()).toEqual(['base image', 'build']);
    const before = await imageCount();
    for (const spec of [`docker-archive:${dir}/docker.tar`, `docker-archive:${dir}/docker.tar.gz`, `oci-archive:${dir}/oci.tar`, `oci:${dir}/layout`, `oci:${dir}/layout:src-app:1`]) {
      const d = await analyze(spec);
      expect(numbers(d), spec).toEqual(numbers(store));
      expect(d.image, spec).toBe('src-app:1');
    }
    expect(await imageCount()).toBe(before);
  });

  it('a registry: docker://REF and a plain reference the store lacks, streamed and never stored', async () => {
    registry = await startRegistry();
    const remote = `${registry.host}/sources/app:1`;
    await cli(['push', 'src-app:1', remote], { root });
    const store = await analyze('src-app:1');
    const before = await imageCount();
    for (const spec of [`docker://${remote}`, remote]) {
      const d = await analyze(spec);
      expect(numbers(d), spec).toEqual(numbers(store));
      expect(d.image).toBe(remote);
    }
    expect(await imageCount()).toBe(before);
  });

  it('history and inspect read sources too, with the store sizes', async () => {
    const hist = async (name: string) => (await cli(['history', '--no-trunc', '--format', '{{.ID}} {{.CreatedAt}} {{.Size}} {{.CreatedBy}}', name], { root })).stdout;
    const h = await hist('src-app:1');
    expect(h.split('\n')[0]).toMatch(/^sha256:[0-9a-f]{64} \S+ 12B RUN /);
    expect(await hist(`docker-archive:${dir}/docker.tar`)).toBe(h);
    expect(await hist(`oci:${dir}/layout`)).toBe(h);
    const fmt = '{{.Id}} {{.Size}} {{.Os}}/{{.Architecture}}';
    const i = (await cli(['inspect', '-f', fmt, 'src-app:1'], { root })).stdout;
    expect((await cli(['inspect', '-f', fmt, `oci-archive:${dir}/oci.tar`], { root })).stdout).toBe(i);
    const images = (await cli(['images', '--format', '{{.Size}}', 'src-app'], { root })).stdout.trim();
    const size = Number(i.split(' ')[1]);
    expect((await analyze(`oci-archive:${dir}/oci.tar`)).size).toBe(size);
    expect(images).toMatch(/^\d/);
  });

  it('bad names are one-line errors', async () => {
    const cases: Array<[string, RegExp, Record<string, string>?]> = [
      [`docker-archive:${dir}/missing.tar`, /^docker-archive:.*missing\.tar: no such file$/],
      [`docker-archive:${dir}/notes.txt`, /^docker-archive:.*notes\.txt: not an image archive \(.+\)$/],
      [`oci-archive:${dir}/layout`, /^oci-archive:.*layout: is a directory \(an OCI layout directory is oci:DIR\)$/],
      [`oci:${dir}/notes.txt`, /^oci:.*notes\.txt: not a directory/],
      [`oci:${dir}/layout:nope`, /^oci:.*: no image nope in the archive \(it has: src-app:1\)$/],
      ['docker-daemon:busybox:latest', /^Cannot connect to the Docker daemon at unix:\/\/\/nonexistent\/docker\.sock\. Is the docker daemon running\?$/, { DOCKER_HOST: 'unix:///nonexistent/docker.sock' }],
    ];
    for (const [spec, want, env] of cases) {
      const r = await runCli(['analyze', spec], { root, env });
      expect(r.code, spec).toBe(1);
      expect(r.stderr.trim(), spec).toMatch(want);
      expect(r.stderr.trim().split('\n'), spec).toHaveLength(1);
    }
  });
});

describe.runIf(dockerUp)("docker-daemon: the peer lab's Docker Engine over its API socket", () => {
  it('gives the numbers of the same image read from the lab registry', async () => {
    const daemon = await analyze('docker-daemon:busybox:latest');
    const reg = await analyze('docker://localhost:5000/busybox:latest');
    expect(daemon.image).toBe('busybox:latest');
    expect(numbers(daemon)).toEqual(numbers(reg));
    expect(daemon.size).toBeGreaterThan(1_000_000);
    const r = await runCli(['analyze', 'docker-daemon:no-such-image:0'], { root });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(/^Error response from daemon: /);
  }, 120_000);
});
