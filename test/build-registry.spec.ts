/**
 * Builds and a registry (Debian's docker-registry on a loopback port): `--push` sends the built
 * image with its attribution annotations; a FROM image that is not in the store is pulled; `--pull`
 * fetches a newer image under the same tag even when an old one is stored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { importBusybox, isRoot, tmp, cli } from './helpers/index.js';
import { REGISTRY_BIN, startRegistry, type RegistryInstance } from './helpers/registry.js';
import { buildOk, context, imageManifest, imageTree } from './helpers/build.js';

describe.skipIf(!isRoot || !existsSync(REGISTRY_BIN))('build: --push, pulling bases, --pull', () => {
  let reg: RegistryInstance;
  let root: string;
  const env = { DOCKER_CONFIG: tmp('sc-dockercfg-'), STAGECRAFT_REGISTRY_BACKOFF_MS: '20' };
  beforeAll(async () => {
    reg = await startRegistry();
    root = tmp('sc-root-');
    await importBusybox(root);
  });
  afterAll(async () => {
    await reg?.stop();
  });

  it('pushes the built image, and another store builds FROM it by pulling', async () => {
    const ref = `${reg.host}/build/base:v1`;
    const r = await buildOk(root, context({ Dockerfile: 'FROM busybox\nRUN echo v1 > /version\n' }), ['-t', ref, '--push'], { env });
    expect(r.stderr).toMatch(new RegExp(`#\\d+ pushing ${reg.host.replace(/\./g, '\\.')}/build/base:v1\\n#\\d+ DONE`));

    const other = tmp('sc-root-');
    const r2 = await buildOk(other, context({ Dockerfile: `FROM ${ref}\nRUN cat /version > /seen\n` }), ['-t', 'child:t'], { env });
    expect(r2.stderr).toContain(`[internal] load metadata for ${ref}`);
    const tree = await imageTree(other, 'child:t');
    expect(readFileSync(join(tree, 'seen'), 'utf8')).toBe('v1\n');
    // the pulled base keeps the attribution annotations it was pushed with
    const m = await imageManifest(other, ref);
    expect(m.layers[1].annotations?.['dev.stagecraft.instruction']).toBe('RUN echo v1 > /version');
    // ... but in the child they are base-image layers: only the child's own layer is attributed
    const child = await imageManifest(other, 'child:t');
    expect(child.layers.map((l) => l.annotations?.['dev.stagecraft.instruction'])).toEqual([undefined, undefined, 'RUN cat /version > /seen']);
  });

  it('--pull refreshes a stored base image', async () => {
    const ref = `${reg.host}/build/moving:latest`;
    await buildOk(root, context({ Dockerfile: 'FROM busybox\nRUN echo old > /version\n' }), ['-t', ref, '--push'], { env });
    const consumer = tmp('sc-root-');
    const ctx = context({ Dockerfile: `FROM ${ref}\nRUN cat /version > /seen\n` });
    await buildOk(consumer, ctx, ['-t', 'c:1'], { env });
    expect(readFileSync(join(await imageTree(consumer, 'c:1'), 'seen'), 'utf8')).toBe('old\n');

    await buildOk(root, context({ Dockerfile: 'FROM busybox\nRUN echo new > /version\n' }), ['-t', ref, '--push'], { env });
    await buildOk(consumer, ctx, ['-t', 'c:2'], { env }); // the stored (old) base is used
    expect(readFileSync(join(await imageTree(consumer, 'c:2'), 'seen'), 'utf8')).toBe('old\n');
    await buildOk(consumer, ctx, ['-t', 'c:3', '--pull'], { env });
    expect(readFileSync(join(await imageTree(consumer, 'c:3'), 'seen'), 'utf8')).toBe('new\n');
    await cli(['images'], { root: consumer });
  });
});
