/**
 * --cache-to / --cache-from type=registry against a real registry (Debian's docker-registry on
 * 127.0.0.1): a build pushes its cache records and layer blobs as one OCI artifact; a second
 * machine (a fresh store holding only the same base image) rebuilds with every step CACHED,
 * nothing executed and the same image ID (the RUNs write timestamps, so a re-run would differ).
 * The registry's credentials come from docker's config (`stagecraft login`). A missing tag, an
 * image that is not a cache, a corrupt record blob or a corrupt layer blob are warnings and a
 * normal build.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, importBusybox, isRoot, tmp } from './helpers/index.js';
import { buildOk, cachedVertices, context, doneVertices, imageId, TIMESTAMPED_DOCKERFILE } from './helpers/build.js';
import { REGISTRY_BIN, startRegistry, type RegistryInstance } from './helpers/registry.js';
import { parseCacheFrom, parseCacheTo } from '../src/solver/index.js';

const DOCKERFILE = TIMESTAMPED_DOCKERFILE;
const STEPS = 5; // RUN (deps), RUN, COPY --from, COPY, RUN (mode=max exports the deps stage's too)
const steps = (names: string[]): string[] => names.filter((n) => /RUN|COPY/.test(n));

describe('--cache-to / --cache-from type=registry flag values', () => {
  it('parses registry refs like buildx (a bare --cache-from value is a ref) and says why inline is not taken', () => {
    expect(parseCacheTo('type=registry,ref=127.0.0.1:5000/app:cache')).toEqual({ type: 'registry', ref: '127.0.0.1:5000/app:cache', mode: 'min' });
    expect(parseCacheTo('type=registry,ref=r/x:c,mode=max,registry.insecure=true')).toEqual({ type: 'registry', ref: 'r/x:c', mode: 'max', insecure: true });
    expect(parseCacheFrom('type=registry,ref=r/x:c')).toEqual({ type: 'registry', ref: 'r/x:c' });
    expect(parseCacheFrom('user/app:cache')).toEqual({ type: 'registry', ref: 'user/app:cache' });
    expect(() => parseCacheTo('type=registry')).toThrow('invalid --cache-to "type=registry": type=registry needs ref=NAME[:TAG]');
    expect(() => parseCacheTo('type=inline')).toThrow(/^--cache-to type=inline is not supported by the local engine: BuildKit's inline cache lives in the image config/);
    expect(() => parseCacheFrom('type=gha')).toThrow('--cache-from type=gha is not supported (type=local, type=registry)');
  });
});

describe.skipIf(!isRoot || !existsSync(REGISTRY_BIN))('build: --cache-to / --cache-from type=registry', () => {
  let reg: RegistryInstance;
  let root1: string;
  let baseTar: string;
  let ctx: string;
  let id1: string;
  let cacheRef: string;
  const env = { DOCKER_CONFIG: tmp('sc-cfg-') };

  async function freshRoot(): Promise<string> {
    const r = tmp('sc-root-');
    await cli(['load', '-i', baseTar, '-q'], { root: r });
    return r;
  }

  beforeAll(async () => {
    reg = await startRegistry({ htpasswd: { alice: 'pw' } });
    cacheRef = `${reg.host}/team/app:buildcache`;
    await cli(['login', reg.host, '-u', 'alice', '--password-stdin'], { env, input: 'pw\n' });
    root1 = tmp('sc-root-');
    await importBusybox(root1);
    baseTar = join(tmp('sc-base-'), 'busybox.tar');
    await cli(['save', 'busybox:latest', '-o', baseTar], { root: root1 });
    ctx = context({ Dockerfile: DOCKERFILE, 'src.txt': 'v1\n' });
    await buildOk(root1, ctx, ['-t', 'rc:1', '--cache-to', `type=registry,ref=${cacheRef},mode=max`], { env });
    id1 = await imageId(root1, 'rc:1');
  }, 300_000);
  afterAll(async () => {
    await reg?.stop();
  });

  it('stores the cache as an OCI artifact: config = the record blob, layers = the layer blobs', () => {
    const m = JSON.parse(rawManifest(cacheRef)) as { mediaType: string; artifactType: string; config: { mediaType: string }; layers: Array<{ mediaType: string }> };
    expect(m.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(m.artifactType).toBe('application/vnd.stagecraft.buildcache.v1+json');
    expect(m.config.mediaType).toBe('application/vnd.stagecraft.buildcache.v1+json');
    expect(m.layers.length).toBe(STEPS);
    for (const l of m.layers) expect(l.mediaType).toMatch(/^application\/vnd\.oci\.image\.layer\.v1\.tar/);
  });

  it('a fresh store rebuilds from the registry cache: every step CACHED, the same image ID', async () => {
    const root2 = await freshRoot();
    const r = await buildOk(root2, ctx, ['-t', 'rc:2', '--cache-from', `type=registry,ref=${cacheRef}`], { env });
    expect(steps(doneVertices(r.stderr))).toEqual([]);
    expect(cachedVertices(r.stderr).length).toBe(STEPS);
    expect(r.stderr).not.toMatch(/WARNING/);
    expect(await imageId(root2, 'rc:2')).toBe(id1);
  }, 120_000);

  it('without credentials the import is a warning and the build runs normally', async () => {
    const root2 = await freshRoot();
    const r = await buildOk(root2, ctx, ['-t', 'rc:3', '--cache-from', cacheRef], { env: { DOCKER_CONFIG: tmp('sc-cfg-') } });
    expect(r.stderr).toContain(`WARNING: registry cache import from ${cacheRef} failed: ${reg.host}: access to team/app denied (HTTP 401): authentication required`);
    expect(steps(doneVertices(r.stderr)).length).toBe(STEPS);
    expect(await imageId(root2, 'rc:3')).not.toBe(id1);
  }, 120_000);

  it('a missing tag or an image that is not a cache is a warning and a normal build', async () => {
    await cli(['push', 'busybox:latest', `${reg.host}/team/busybox:latest`], { root: root1, env });
    for (const [ref, why] of [
      [`${reg.host}/team/app:nothing`, `manifest for ${reg.host}/team/app:nothing not found: manifest unknown`],
      [`${reg.host}/team/busybox:latest`, `${reg.host}/team/busybox:latest is not a stagecraft build cache (config application/vnd.oci.image.config.v1+json)`],
    ] as const) {
      const root2 = await freshRoot();
      const r = await buildOk(root2, ctx, ['-t', 'rc:4', '--cache-from', `type=registry,ref=${ref}`], { env });
      expect(r.stderr).toContain(`WARNING: registry cache import from ${ref} failed: ${why}`);
      expect(steps(doneVertices(r.stderr)).length).toBe(STEPS);
    }
  }, 180_000);

  it('a corrupt layer blob in the registry is never stored: a warning, and that step runs', async () => {
    // flip bytes of the last RUN's layer blob in the registry's storage
    const m = JSON.parse(rawManifest(cacheRef)) as { layers: Array<{ digest: string; size: number }> };
    const victim = [...m.layers].sort((a, b) => b.size - a.size)[0]!;
    const data = registryBlobFile(victim.digest);
    const b = readFileSync(data);
    b[Math.floor(b.length / 2)] ^= 0xff;
    writeFileSync(data, b);
    const root2 = await freshRoot();
    const r = await buildOk(root2, ctx, ['-t', 'rc:5', '--cache-from', `type=registry,ref=${cacheRef}`], { env });
    expect(r.stderr).toMatch(new RegExp(`WARNING: registry cache import from ${cacheRef.replace(/[.]/g, '\\.')}: ignoring record sha256:[0-9a-f]{64}: .*digest mismatch`));
    expect(steps(doneVertices(r.stderr)).length).toBeGreaterThan(0);
    expect(r.stderr).not.toMatch(/ERROR/);
    // the store holds no blob whose content does not match its name
    const blobs = join(root2, 'blobs', 'sha256');
    expect(readdirSync(blobs)).not.toContain(victim.digest.slice(7));
  }, 180_000);

  it('a corrupt record blob is a warning and a normal build', async () => {
    const m = JSON.parse(rawManifest(cacheRef)) as { config: { digest: string } };
    const data = registryBlobFile(m.config.digest);
    writeFileSync(data, Buffer.from(readFileSync(data, 'utf8').replace('sha256:', 'sha256:0')));
    const root2 = await freshRoot();
    const r = await buildOk(root2, ctx, ['-t', 'rc:6', '--cache-from', `type=registry,ref=${cacheRef}`], { env });
    expect(r.stderr).toMatch(new RegExp(`WARNING: registry cache import from ${cacheRef.replace(/[.]/g, '\\.')} failed: .*(digest mismatch|body is larger)`));
    expect(steps(doneVertices(r.stderr)).length).toBe(STEPS);
  }, 120_000);

  function registryBlobFile(digest: string): string {
    const hex = digest.slice(7);
    return join(reg.dir, 'storage', 'docker', 'registry', 'v2', 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
  }
});

/** The manifest at `ref` as the registry stores it (skopeo, with the test user's credentials). */
function rawManifest(ref: string): string {
  return execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', '--creds', 'alice:pw', `docker://${ref}`], { encoding: 'utf8' });
}
