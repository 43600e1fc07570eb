/**
 * `save` / `load` round trips checked with real tools: skopeo inspect/copy of docker archives and OCI
 * layouts, `umoci unpack` giving the same tree as stagecraft's own extraction, loading what skopeo
 * writes (legacy docker-archive, OCI layout), and Docker 25+ archives (OCI layout + manifest.json).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, writeFileSync, chownSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Store } from '../src/store/index.js';
import { applyLayer, writeLayer, MediaType, type ImageConfig, type ImageManifest } from '../src/image/index.js';
import { cli, importBusybox, isRoot, runCli, tmp } from './helpers/index.js';

const sh = (cmd: string, args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 28 });

/** a tree listing that two extractions of the same image must agree on */
function treeOf(dir: string): string {
  const out = sh('sh', ['-c', `cd '${dir}' && find . -mindepth 1 -printf '%P|%y|%m|%U|%G|%s|%l\\n' | LC_ALL=C sort`]);
  const lines = out
    .trimEnd()
    .split('\n')
    .map((l) => {
      const [p, y, m, u, g, s, link] = l.split('|');
      const size = y === 'd' ? '-' : s;
      const sum = y === 'f' ? sh('sha256sum', [join(dir, p as string)]).slice(0, 16) : '';
      return [p, y, m, u, g, size, link, sum].join('|');
    });
  return lines.join('\n');
}

let root: string;
let config: ImageConfig;

/** busybox + a second layer made from an overlay upper dir: whiteout, opaque dir, hard link, xattr, owners */
async function buildStack(storeRoot: string): Promise<void> {
  await importBusybox(storeRoot);
  const store = await Store.open(storeRoot);
  const base = await store.resolveImage('busybox');
  if (!base) throw new Error('no busybox');
  const up = tmp('sc-upper-');
  mkdirSync(join(up, 'bin'));
  mkdirSync(join(up, 'etc'));
  mkdirSync(join(up, 'srv/app/data'), { recursive: true });
  execFileSync('mknod', [join(up, 'bin/ls'), 'c', '0', '0']); // whiteout: ls is gone
  execFileSync('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', join(up, 'etc')]); // etc replaced wholesale
  writeFileSync(join(up, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  writeFileSync(join(up, 'srv/app/data/one'), 'payload\n'.repeat(1000));
  linkSync(join(up, 'srv/app/data/one'), join(up, 'srv/app/data/two'));
  writeFileSync(join(up, 'srv/app/suid'), '#!/bin/sh\n');
  chmodSync(join(up, 'srv/app/suid'), 0o4755);
  chownSync(join(up, 'srv/app/data'), 1000, 1000);
  execFileSync('setfattr', ['-n', 'user.origin', '-v', 'stagecraft', join(up, 'srv/app/data/one')]);
  writeFileSync(join(up, 'srv', `${'n'.repeat(200)}.txt`), 'long name');
  const l = await writeLayer(store, up, { overlayUpper: true });
  config = {
    ...base.config,
    created: new Date().toISOString(),
    rootfs: { type: 'layers', diff_ids: [...base.config.rootfs.diff_ids, l.diffId] },
    history: [...(base.config.history ?? []), { created: new Date().toISOString(), created_by: 'RUN rm /bin/ls && …' }],
  };
  const cdesc = await store.putJson(config, MediaType.OciConfig);
  const manifest: ImageManifest = { schemaVersion: 2, mediaType: MediaType.OciManifest, config: cdesc, layers: [...base.manifest.layers, l.descriptor] };
  await store.putImage(manifest, config, ['stack:latest']);
  await store.release();
}

describe.skipIf(!isRoot)('save and load with real tools', () => {
  beforeAll(async () => {
    root = tmp();
    await buildStack(root);
  });

  it('docker format: skopeo reads it, it is a Docker 25+ archive, and it loads back', async () => {
    const out = join(tmp(), 'stack.tar');
    await cli(['save', 'stack', '-o', out], { root });
    const names = sh('tar', ['tf', out]).split('\n');
    expect(names).toEqual(expect.arrayContaining(['manifest.json', 'repositories', 'index.json', 'oci-layout']));
    const mj = JSON.parse(sh('tar', ['xOf', out, 'manifest.json'])) as { RepoTags: string[]; Layers: string[] }[];
    expect(mj[0]!.RepoTags).toEqual(['stack:latest']);
    const si = JSON.parse(sh('skopeo', ['inspect', `docker-archive:${out}`])) as { Layers: string[]; Architecture: string };
    expect(si.Layers).toEqual(config.rootfs.diff_ids); // uncompressed layers: digest = diffID
    // skopeo copies it to an OCI layout and to a (legacy-format) docker archive
    const dir = tmp();
    sh('skopeo', ['copy', '-q', `docker-archive:${out}`, `oci:${dir}/layout:copied`]);
    sh('skopeo', ['copy', '-q', `docker-archive:${out}`, `docker-archive:${dir}/legacy.tar:legacy/stack:v1`]);
    // load our own archive, skopeo's legacy archive, and skopeo's OCI layout (tarred) into a fresh store
    const root2 = tmp();
    expect((await cli(['load', '-i', out], { root: root2 })).stdout).toBe('Loaded image: stack:latest\n');
    expect((await cli(['load', '-i', `${dir}/legacy.tar`], { root: root2 })).stdout).toBe('Loaded image: legacy/stack:v1\n');
    execFileSync('tar', ['-C', `${dir}/layout`, '-cf', `${dir}/layout.tar`, '.']);
    const lo = await cli(['load', '-i', `${dir}/layout.tar`], { root: root2 });
    expect(lo.stdout).toMatch(/^Loaded image ID: sha256:[0-9a-f]{64}\n$/); // ref.name "copied" is a bare tag: no repository
    // skopeo re-serializes the config when converting to OCI (Go time format): a new image ID, same layers
    const loadedId = lo.stdout.trim().split(' ').pop() as string;
    for (const name of ['stack:latest', 'legacy/stack:v1', loadedId]) {
      const ins = JSON.parse((await cli(['inspect', name], { root: root2 })).stdout) as { RootFS: { Layers: string[] } }[];
      expect(ins[0]!.RootFS.Layers).toEqual(config.rootfs.diff_ids);
    }
    expect((await cli(['system', 'fsck'], { root: root2 })).code).toBe(0);
  });

  it('oci format: skopeo inspects and copies it with the manifest digest intact', async () => {
    const out = join(tmp(), 'stack-oci.tar');
    await cli(['save', '--format', 'oci', 'stack:latest', '-o', out], { root });
    const digest = JSON.parse((await cli(['images', '--format', 'json', 'stack'], { root })).stdout).Digest as string;
    const si = JSON.parse(sh('skopeo', ['inspect', `oci-archive:${out}:latest`])) as { Digest: string; Layers: string[] };
    expect(si.Digest).toBe(digest);
    expect(si.Layers).toHaveLength(2);
    const dir = tmp();
    sh('skopeo', ['copy', '-q', `oci-archive:${out}:latest`, `docker-archive:${dir}/d.tar:from/oci:1`]);
    sh('skopeo', ['copy', '-q', `oci-archive:${out}:latest`, `oci:${dir}/copy:stack:latest`]);
    const root2 = tmp();
    await cli(['load', '-i', out], { root: root2 });
    await cli(['load', '-i', `${dir}/d.tar`], { root: root2 });
    const rows = (await cli(['images', '--digests'], { root: root2 })).stdout;
    expect(rows).toMatch(new RegExp(`^stack +latest +${digest} `, 'm'));
    expect(rows).toMatch(/^from\/oci +1 /m);
  });

  it('umoci unpack gives the same tree as our own extraction', async () => {
    const out = join(tmp(), 'u.tar');
    await cli(['save', '--format', 'oci', 'stack', '-o', out], { root });
    const dir = tmp();
    mkdirSync(join(dir, 'layout'));
    execFileSync('tar', ['-xf', out, '-C', join(dir, 'layout')]);
    execFileSync('umoci', ['unpack', '--image', `${join(dir, 'layout')}:latest`, join(dir, 'bundle')]);
    // our extraction: apply every layer in order
    const store = await Store.open(root);
    const img = await store.resolveImage('stack');
    const mine = join(dir, 'mine');
    mkdirSync(mine);
    for (const l of img!.manifest.layers) await applyLayer(store.blobStream(l.digest), mine, { whiteouts: 'apply' });
    const theirs = treeOf(join(dir, 'bundle/rootfs'));
    expect(treeOf(mine)).toBe(theirs);
    expect(theirs).not.toMatch(/^bin\/ls\|/m);
    expect(theirs).toMatch(/^srv\/app\/data\|d\|755\|1000\|1000\|/m);
    expect(theirs).toMatch(/^srv\/app\/suid\|f\|4755\|/m);
    expect(theirs.split('\n').filter((l) => l.startsWith('etc/'))).toEqual([expect.stringMatching(/^etc\/passwd\|f\|/)]);
    expect(sh('getfattr', ['-n', 'user.origin', '--only-values', join(mine, 'srv/app/data/one')])).toBe('stagecraft');
    expect(sh('getfattr', ['-n', 'user.origin', '--only-values', join(dir, 'bundle/rootfs/srv/app/data/one')])).toBe('stagecraft');
    // and the layer snapshots stacked by overlayfs show the same tree
    const snaps = await store.layerSnapshots(img!);
    const mnt = join(dir, 'mnt');
    mkdirSync(mnt);
    try {
      execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${[...snaps].reverse().join(':')}`, mnt]);
    } catch {
      return;
    }
    try {
      expect(treeOf(mnt)).toBe(theirs);
    } finally {
      execFileSync('umount', [mnt]);
    }
  });

  it('loads an OCI layout whose index.json points to a multi-platform index', async () => {
    const out = join(tmp(), 'multi.tar');
    await cli(['save', '--format', 'oci', 'stack', '-o', out], { root });
    const d = tmp();
    execFileSync('tar', ['-xf', out, '-C', d]);
    const idx = JSON.parse(readFileSync(join(d, 'index.json'), 'utf8')) as { manifests: { digest: string; size: number; mediaType: string }[] };
    const m = idx.manifests[0]!;
    const arch = process.arch === 'arm64' ? 'arm64' : 'amd64';
    const other = arch === 'amd64' ? 's390x' : 'amd64';
    const nested = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciIndex,
      manifests: [
        { mediaType: m.mediaType, digest: `sha256:${'0'.repeat(64)}`, size: 10, platform: { os: 'linux', architecture: other } },
        { mediaType: m.mediaType, digest: m.digest, size: m.size, platform: { os: 'linux', architecture: arch } },
      ],
    }));
    const nd = `sha256:${createHash('sha256').update(nested).digest('hex')}`;
    writeFileSync(join(d, 'blobs/sha256', nd.slice(7)), nested);
    writeFileSync(join(d, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: MediaType.OciIndex, digest: nd, size: nested.length, annotations: { 'org.opencontainers.image.ref.name': 'multi/arch:1' } }] }));
    execFileSync('tar', ['-C', d, '-cf', `${d}.tar`, '.']);
    const root2 = tmp();
    expect((await cli(['load', '-i', `${d}.tar`], { root: root2 })).stdout).toBe('Loaded image: multi/arch:1\n');
    expect(JSON.parse((await cli(['images', '--format', 'json'], { root: root2 })).stdout).Digest).toBe(m.digest);
  });

  it('rejects garbage and tampered archives without storing anything', async () => {
    const root2 = tmp();
    const junk = join(tmp(), 'junk.tar');
    writeFileSync(junk, 'nope'.repeat(1000));
    let r = await runCli(['load', '-i', junk], { root: root2 });
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    // flip bytes in the config blob of an OCI archive
    const out = join(tmp(), 'tamper.tar');
    await cli(['save', '--format', 'oci', 'stack', '-o', out], { root });
    const d = tmp();
    execFileSync('tar', ['-xf', out, '-C', d]);
    const store = await Store.open(root);
    const img = await store.resolveImage('stack');
    const cfgPath = join(d, 'blobs/sha256', img!.configDigest.slice(7));
    writeFileSync(cfgPath, readFileSync(cfgPath, 'utf8').replace('"os":"linux"', '"os":"linuz"'));
    execFileSync('tar', ['-C', d, '-cf', `${d}.tar`, '.']);
    r = await runCli(['load', '-i', `${d}.tar`], { root: root2 });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/hashes to/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect((await cli(['images', '-q'], { root: root2 })).stdout).toBe('');
    r = await runCli(['load', '-i', '/nonexistent.tar'], { root: root2 });
    expect(r.code).not.toBe(0);
  });
});

describe('archives written by Docker', () => {
  it('loads a Docker 26 `docker save` archive (OCI layout beside manifest.json) with docker\'s ID and size', async () => {
    const root2 = tmp();
    const fixture = join(import.meta.dirname, '../src/image/__tests__/fixtures/docker26-save-tiny.tar');
    expect((await cli(['load', '-i', fixture], { root: root2 })).stdout).toBe('Loaded image: stagecraft-fixture/tiny:1\n');
    const row = JSON.parse((await cli(['images', '--format', 'json'], { root: root2 })).stdout) as Record<string, string>;
    expect(row).toMatchObject({ Repository: 'stagecraft-fixture/tiny', Tag: '1', ID: '5b728cce9db7', Size: '21B' });
    // and from stdin
    const root3 = tmp();
    expect((await cli(['load'], { root: root3, input: readFileSync(fixture) })).stdout).toBe('Loaded image: stagecraft-fixture/tiny:1\n');
    // our own extraction of it
    const store = await Store.open(root2);
    const img = await store.resolveImage('stagecraft-fixture/tiny:1');
    const out = tmp();
    for (const l of img!.manifest.layers) await applyLayer(store.blobStream(l.digest), out, { whiteouts: 'apply' });
    expect(readFileSync(join(out, 'bin/link'), 'utf8')).toBe('hello\n');
  });
});
