/**
 * The command's remaining flags: `-f -` (Dockerfile on stdin) and `-f` outside the context with its
 * own `<name>.dockerignore`, several `-t`, `--iidfile`, `--label`, `--output type=oci|docker|local|tar`
 * (the OCI tarball is read back with umoci when it is installed), `--network none`, and
 * `--build-context` (a directory, a docker-image:// and an oci-layout:// source).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Store } from '../src/store/index.js';
import { MediaType } from '../src/image/index.js';
import { cli, importBusybox, isRoot, tmp } from './helpers/index.js';
import { buildCli, buildOk, context, imageConfig, imageTree } from './helpers/build.js';

const hasUmoci = (() => {
  try {
    execFileSync('umoci', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

const dockerUp = spawnSync('docker', ['info'], { stdio: 'ignore', timeout: 20_000 }).status === 0;

describe.skipIf(!isRoot)('build: command flags and exporters', () => {
  let root: string;
  beforeAll(async () => {
    root = tmp('sc-root-');
    await importBusybox(root);
  });

  it('-f - reads the Dockerfile from stdin; several -t; --iidfile; --label', async () => {
    const ctx = context({ 'f.txt': 'f\n' });
    const iid = join(tmp('sc-iid-'), 'iid');
    const r = await buildOk(root, ctx, ['-f', '-', '-t', 'out:a', '-t', 'out:b', '--iidfile', iid, '--label', 'k=v'], {
      input: 'FROM busybox\nCOPY f.txt /f.txt\n',
    });
    const id = readFileSync(iid, 'utf8');
    expect(id).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(r.stdout).toBe('');
    const q = await buildOk(root, ctx, ['-q', '-f', '-', '-t', 'out:c'], { input: 'FROM busybox\nCOPY f.txt /f.txt\n' });
    expect(q.stdout.trim()).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(q.stderr).toBe('');
    expect(r.stderr).toContain('naming to docker.io/library/out:a done');
    expect(r.stderr).toContain('naming to docker.io/library/out:b done');
    expect((await imageConfig(root, 'out:b')).config?.Labels).toEqual({ k: 'v' });
  });

  it('-f outside the context uses its own NAME.dockerignore', async () => {
    const ctx = context({ 'keep.txt': 'k\n', 'drop.txt': 'd\n', '.dockerignore': 'keep.txt\n' });
    const dfDir = tmp('sc-df-');
    writeFileSync(join(dfDir, 'app.Dockerfile'), 'FROM busybox\nCOPY . /ctx/\n');
    writeFileSync(join(dfDir, 'app.Dockerfile.dockerignore'), 'drop.txt\n');
    await buildOk(root, ctx, ['-f', join(dfDir, 'app.Dockerfile'), '-t', 'out:df']);
    const tree = await imageTree(root, 'out:df');
    expect(readdirSync(join(tree, 'ctx')).sort()).toEqual(['.dockerignore', 'keep.txt']);
  });

  it('--output type=local / tar / oci / docker', async () => {
    const ctx = context({ Dockerfile: 'FROM busybox\nRUN echo made > /made.txt\n' });
    const out = tmp('sc-out-');
    await buildOk(root, ctx, [
      '-t', 'out:exp',
      '--output', `type=local,dest=${join(out, 'local')}`,
      '--output', `type=tar,dest=${join(out, 'fs.tar')}`,
      '--output', `type=oci,dest=${join(out, 'oci.tar')}`,
      '--output', `type=docker,dest=${join(out, 'docker.tar')}`,
    ]);
    expect(readFileSync(join(out, 'local/made.txt'), 'utf8')).toBe('made\n');
    expect(existsSync(join(out, 'local/bin/busybox'))).toBe(true);
    expect(execFileSync('tar', ['tf', join(out, 'fs.tar')], { encoding: 'utf8' })).toContain('./made.txt');
    const listing = execFileSync('tar', ['tf', join(out, 'oci.tar')], { encoding: 'utf8' }).split('\n');
    expect(listing).toContain('oci-layout');
    expect(listing).toContain('index.json');
    expect(listing).toContain('manifest.json');
    const dm = JSON.parse(execFileSync('tar', ['xOf', join(out, 'docker.tar'), 'manifest.json'], { encoding: 'utf8' }));
    expect(dm[0].RepoTags).toEqual(['out:exp']);
    expect(dm[0].Layers).toHaveLength(2);
    if (hasUmoci) {
      const layout = join(out, 'layout');
      mkdirSync(layout);
      execFileSync('tar', ['xf', join(out, 'oci.tar'), '-C', layout]);
      execFileSync('umoci', ['unpack', '--image', `${layout}:exp`, join(out, 'bundle')]);
      expect(readFileSync(join(out, 'bundle/rootfs/made.txt'), 'utf8')).toBe('made\n');
    }
    // an image exporter was not requested: the tag does not exist
    const none = await buildCli(root, ctx, ['-t', 'out:notstored', '--output', `type=local,dest=${join(out, 'l2')}`]);
    expect(none.code).toBe(0);
    expect(await (await Store.open(root)).resolveImage('out:notstored')).toBeUndefined();
  });

  it('--network none cuts RUN off the network', async () => {
    const ctx = context({ Dockerfile: 'FROM busybox\nRUN ls /sys/class/net > /nets\n' });
    await buildOk(root, ctx, ['-t', 'out:net', '--network', 'none']);
    const tree = await imageTree(root, 'out:net');
    expect(readFileSync(join(tree, 'nets'), 'utf8').trim().split('\n')).toEqual(['lo']);
  });

  it('--build-context: a directory, docker-image:// and oci-layout:// sources', async () => {
    const extra = context({ 'data.txt': 'from named dir\n' });
    // an OCI layout made by our own exporter
    const layoutCtx = context({ Dockerfile: 'FROM busybox\nRUN echo in-layout > /layout.txt\n' });
    const out = tmp('sc-layout-');
    await buildOk(root, layoutCtx, ['--output', `type=oci,dest=${join(out, 'l.tar')}`, '-t', 'lay:out']);
    mkdirSync(join(out, 'layout'));
    execFileSync('tar', ['xf', join(out, 'l.tar'), '-C', join(out, 'layout')]);

    const df = `FROM base-alias
COPY --from=extra /data.txt /data.txt
COPY --from=laid /layout.txt /layout.txt
`;
    await buildOk(root, context({ Dockerfile: df }), [
      '-t', 'out:named',
      '--build-context', `extra=${extra}`,
      '--build-context', 'base-alias=docker-image://busybox:latest',
      '--build-context', `laid=oci-layout://${join(out, 'layout')}`,
    ]);
    const tree = await imageTree(root, 'out:named');
    expect(readFileSync(join(tree, 'data.txt'), 'utf8')).toBe('from named dir\n');
    expect(readFileSync(join(tree, 'layout.txt'), 'utf8')).toBe('in-layout\n');
    expect(existsSync(join(tree, 'bin/busybox'))).toBe(true);
  });

  it.runIf(dockerUp)('the docker tarball loads and runs in a real Docker engine (peer lab)', async () => {
    const ctx = context({ Dockerfile: 'FROM busybox\nRUN echo from-stagecraft > /m\nCMD ["cat", "/m"]\n' });
    const tar = join(tmp('sc-docker-'), 'img.tar');
    await buildOk(root, ctx, ['-t', 'stagecraft-interop:t', '--output', `type=docker,dest=${tar}`]);
    try {
      execFileSync('docker', ['load', '-i', tar], { stdio: 'ignore' });
      expect(execFileSync('docker', ['run', '--rm', 'stagecraft-interop:t'], { encoding: 'utf8' })).toBe('from-stagecraft\n');
    } finally {
      spawnSync('docker', ['rmi', '-f', 'stagecraft-interop:t'], { stdio: 'ignore' });
    }
  });
  it('--output type=docker|oci: compression=, force-compression= and oci-mediatypes= as BuildKit\'s exporters; layer types match the bytes', async () => {
    const ctx = context({ Dockerfile: 'FROM busybox\nRUN echo packed > /p\n' });
    const out = tmp('sc-comp-');
    const G = MediaType.DockerLayerGzip;
    const T = MediaType.DockerLayerTar;
    const OG = MediaType.OciLayerGzip;
    const OZ = MediaType.OciLayerZstd;
    const OT = MediaType.OciLayerTar;
    // [output, manifest type, layer types] — the base's layer is gzip, the RUN's is made here;
    // without force-compression the base layer keeps its compression; zstd has no Docker layer
    // type, so the docker exporter forcibly turns on OCI media types (BuildKit's opts.go)
    const cases: Array<[string, string, string[]]> = [
      ['type=docker', MediaType.DockerManifest, [G, G]],
      ['type=docker,compression=gzip', MediaType.DockerManifest, [G, G]],
      ['type=docker,compression=uncompressed', MediaType.DockerManifest, [G, T]],
      ['type=docker,compression=uncompressed,force-compression=true', MediaType.DockerManifest, [T, T]],
      ['type=docker,compression=zstd', MediaType.OciManifest, [OG, OZ]],
      ['type=docker,compression=zstd,force-compression=true', MediaType.OciManifest, [OZ, OZ]],
      ['type=oci,compression=uncompressed', MediaType.OciManifest, [OG, OT]],
      ['type=oci,compression=zstd,force-compression=true', MediaType.OciManifest, [OZ, OZ]],
      // oci-mediatypes= overrides each exporter's default
      ['type=docker,oci-mediatypes=true', MediaType.OciManifest, [OG, OG]],
      ['type=oci,oci-mediatypes=false,compression=uncompressed', MediaType.DockerManifest, [G, T]],
    ];
    const magic = (b: Buffer): string => (b[0] === 0x1f && b[1] === 0x8b ? 'gzip' : b.readUInt32LE(0) === 0xfd2fb528 ? 'zstd' : 'tar');
    const kindOf: Record<string, string> = { [G]: 'gzip', [OG]: 'gzip', [T]: 'tar', [OT]: 'tar', [OZ]: 'zstd' };
    for (const [i, [o, mt, layers]] of cases.entries()) {
      const tar = join(out, `${i}.tar`);
      await buildOk(root, ctx, ['-t', `comp:${i}`, '--output', `${o},dest=${tar}`]);
      const d = join(out, `${i}.d`);
      mkdirSync(d);
      execFileSync('tar', ['xf', tar, '-C', d]);
      const index = JSON.parse(readFileSync(join(d, 'index.json'), 'utf8'));
      expect(index.manifests[0].mediaType, o).toBe(mt);
      const m = JSON.parse(readFileSync(join(d, 'blobs', ...index.manifests[0].digest.split(':')), 'utf8'));
      expect(m.mediaType, o).toBe(mt);
      expect(m.config.mediaType, o).toBe(mt === MediaType.DockerManifest ? MediaType.DockerConfig : MediaType.OciConfig);
      expect(m.layers.map((l: { mediaType: string }) => l.mediaType), o).toEqual(layers);
      for (const l of m.layers as Array<{ mediaType: string; digest: string }>) {
        expect(magic(readFileSync(join(d, 'blobs', ...l.digest.split(':')))), `${o} ${l.mediaType}`).toBe(kindOf[l.mediaType]);
      }
      // docker load's manifest.json names the same blobs
      const dm = JSON.parse(readFileSync(join(d, 'manifest.json'), 'utf8'));
      expect(dm[0].Layers, o).toEqual(m.layers.map((l: { digest: string }) => `blobs/sha256/${l.digest.slice(7)}`));
      // and stagecraft loads it back to the same image
      const r = await cli(['load', '-i', tar], { root: tmp('sc-comp-load-') });
      expect(r.stdout, o).toContain(`Loaded image: comp:${i}`);
    }
  });

  it('OCI outputs use OCI layer media types on a Docker schema2 base; index names as BuildKit', async () => {
    // a base with Docker schema2 media types (as pulled from a registry that serves them)
    const store = await Store.open(root);
    const bb = await store.resolveImage('busybox:latest');
    if (!bb) throw new Error('no busybox');
    expect(bb.manifest.layers.every((l) => l.mediaType === MediaType.OciLayerGzip)).toBe(true);
    await store.putImage(
      {
        schemaVersion: 2,
        mediaType: MediaType.DockerManifest,
        config: { ...bb.manifest.config, mediaType: MediaType.DockerConfig },
        layers: bb.manifest.layers.map((l) => ({ ...l, mediaType: MediaType.DockerLayerGzip })),
      },
      bb.config,
      ['dockerbase:1'],
    );
    await store.release();
    const out = tmp('sc-ocimt-');
    await buildOk(root, context({ Dockerfile: 'FROM dockerbase:1\nRUN echo made > /made.txt\n' }), ['-t', 'um:1', '--output', `type=oci,dest=${join(out, 'b.tar')}`, '--output', 'type=image']);
    await cli(['save', '--format', 'oci', 'um:1', '-o', join(out, 's.tar')], { root });
    for (const tar of ['b.tar', 's.tar']) {
      const layout = join(out, `${tar}.d`);
      mkdirSync(layout);
      execFileSync('tar', ['xf', join(out, tar), '-C', layout]);
      const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'));
      expect(index.manifests[0].annotations).toEqual({ 'io.containerd.image.name': 'docker.io/library/um:1', 'org.opencontainers.image.ref.name': '1' });
      const m = JSON.parse(readFileSync(join(layout, 'blobs', ...index.manifests[0].digest.split(':')), 'utf8'));
      expect(m.mediaType).toBe(MediaType.OciManifest);
      expect(m.config.mediaType).toBe(MediaType.OciConfig);
      expect(m.layers.map((l: { mediaType: string }) => l.mediaType)).toEqual([MediaType.OciLayerGzip, MediaType.OciLayerGzip]);
      if (hasUmoci) {
        execFileSync('umoci', ['unpack', '--image', `${layout}:1`, join(out, `${tar}.bundle`)]);
        expect(readFileSync(join(out, `${tar}.bundle/rootfs/made.txt`), 'utf8')).toBe('made\n');
      }
    }
  });
});
