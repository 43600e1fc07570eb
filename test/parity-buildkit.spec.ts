/**
 * Parity with BuildKit: build the same Dockerfiles with `docker build` (BuildKit, from the peer lab
 * `../shared/lab/peer.sh`) and with stagecraft, from the same busybox base, and compare the final
 * file trees (path, type, mode, owner, size, content hash, link target) and the image configs.
 * Needs a running Docker engine; where there is none (CI) the suite is skipped, not passed.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadImageModel, mergeLayers } from '../src/analyze/index.js';
import { Store } from '../src/store/index.js';
import { buildOk } from './helpers/build.js';
import { cli, isRoot, REPO, tmp } from './helpers/index.js';

const dockerUp = spawnSync('docker', ['info'], { stdio: 'ignore', timeout: 20_000 }).status === 0
  && spawnSync('docker', ['image', 'inspect', 'busybox:latest'], { stdio: 'ignore' }).status === 0;
const FIX = join(REPO, 'test/fixtures/parity');
const cases = readdirSync(FIX);

/**
 * A store whose layers this process can read: a build keeps its layers as snapshots, and a rootless
 * store's snapshots are packed in its user namespace, so in the rootless pass the image goes through
 * a `save` and a `load` (both run by the CLI) into a store with the blobs (see test/helpers/build.ts layerBlobs).
 */
async function readable(root: string, ref: string): Promise<string> {
  if (isRoot) return root;
  const file = join(tmp('sc-parity-save-'), 'sc.tar');
  await cli(['save', '-o', file, ref], { root });
  const copy = tmp('sc-parity-loaded-');
  await cli(['load', '-i', file], { root: copy });
  return copy;
}

async function tree(root: string, ref: string): Promise<string[]> {
  const store = await Store.open(await readable(root, ref));
  const m = await loadImageModel(store, ref);
  const t = mergeLayers(m.layers);
  return [...t.nodes.entries()]
    .map(([p, n]) => {
      const e = n.entry;
      return `${p} ${e.type} ${(e.mode & 0o7777).toString(8)} ${e.uid}:${e.gid} ${e.type === 'file' ? `${e.size} ${e.sha256}` : ''}${e.linkname ? ` -> ${e.linkname}` : ''}`;
    })
    .sort();
}

const CONFIG_KEYS = ['Env', 'Cmd', 'Entrypoint', 'WorkingDir', 'User', 'ExposedPorts', 'Volumes', 'Labels', 'StopSignal', 'Healthcheck', 'OnBuild', 'Shell'] as const;

async function config(root: string, ref: string): Promise<Record<string, unknown>> {
  const store = await Store.open(root);
  const img = await store.resolveImage(ref);
  const c = (img?.config.config ?? {}) as Record<string, unknown>;
  return Object.fromEntries(CONFIG_KEYS.map((k) => [k, c[k] ?? null]).map(([k, v]) => [k, Array.isArray(v) && v.length === 0 ? null : v]));
}

describe.runIf(dockerUp)('parity with BuildKit (docker build)', () => {
  const sc = tmp('sc-parity-');
  const bk = tmp('sc-parity-bk-');
  beforeAll(async () => {
    const base = join(tmp('sc-parity-base-'), 'busybox.tar');
    execFileSync('docker', ['save', 'busybox:latest', '-o', base]);
    await cli(['load', '-i', base], { root: sc });
  }, 120_000);

  for (const c of cases) {
    it(`${c}: same file tree and config`, async () => {
      const ctx = join(FIX, c);
      const tag = `stagecraft-parity-${c}:latest`;
      execFileSync('docker', ['build', '-q', '-t', tag, ctx], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, DOCKER_BUILDKIT: '1' } });
      const out = join(tmp('sc-parity-save-'), 'img.tar');
      execFileSync('docker', ['save', tag, '-o', out]);
      await cli(['load', '-i', out], { root: bk });
      await buildOk(sc, ctx, ['-t', tag]);
      expect(await tree(sc, tag)).toEqual(await tree(bk, tag));
      expect(await config(sc, tag)).toEqual(await config(bk, tag));
    }, 180_000);
  }
});
