/**
 * `stagecraft convert --verify` on real builds (offline Debian bases from scripts/make-node-base.sh,
 * apt over plain HTTP, npm through the CA secret): each single-stage Dockerfile is converted, both
 * are built and run, they print the same, the converted image is smaller, and `-o` is written.
 * A conversion that does not run the same exits 1 and writes nothing. Slow (apt and npm inside
 * RUN): one store and one import of the bases for the whole file.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { cpSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, cli, importBusybox, isRoot, runCli, tmp } from './helpers/index.js';
import { context } from './helpers/build.js';
import { hasDebootstrap, importDebianBases } from './helpers/bases.js';

const CA = ['--secret', 'id=ca,src=/etc/ssl/certs/ca-certificates.crt'];
const FIXTURES = join(REPO, 'test/fixtures/convert');

interface Verified {
  code: number;
  stderr: string;
  out: string;
  sizes: { original: number; converted: number };
}

describe.skipIf(!isRoot || !hasDebootstrap)('convert --verify: real builds', () => {
  let root: string;
  beforeAll(async () => {
    root = tmp('sc-root-');
    await importDebianBases(root);
    await importBusybox(root);
  }, 1_500_000);

  async function size(id: string): Promise<number> {
    return Number((await cli(['inspect', id, '--format', '{{.Size}}'], { root })).stdout.trim());
  }
  async function verify(ctx: string, extra: string[] = []): Promise<Verified> {
    const out = join(ctx, 'Dockerfile.multi');
    const r = await runCli(['convert', join(ctx, 'Dockerfile'), '--verify', '--progress', 'quiet', '-o', out, ...extra], { root, timeoutMs: 1_500_000 });
    const ids = [...r.stderr.matchAll(/^(original|converted): +([0-9a-f]{12}) /gm)].map((m) => m[2]!);
    const sizes = ids.length === 2 ? { original: await size(ids[0]!), converted: await size(ids[1]!) } : { original: NaN, converted: NaN };
    return { code: r.code, stderr: r.stderr, out: existsSync(out) ? readFileSync(out, 'utf8') : '', sizes };
  }

  it('Debian + nodejs/npm from apt (the issue\'s case): the final stage installs nodejs only and copies pruned node_modules', async () => {
    const ctx = tmp('sc-conv-');
    cpSync(join(FIXTURES, 'apt-node'), ctx, { recursive: true });
    const v = await verify(ctx, CA);
    expect(v.stderr).toMatch(/verify: OK: both exit 0 with the same output/);
    expect(v.code).toBe(0);
    expect(v.out).toMatch(/FROM debian:bookworm-slim\nRUN apt-get update && \\\n {4}apt-get install -y --no-install-recommends nodejs && \\\n/);
    expect(v.out).toContain('RUN npm prune --omit=dev');
    expect(v.out).toContain('COPY --from=build /app/node_modules /app/node_modules');
    expect(v.sizes.converted).toBeLessThan(v.sizes.original * 0.8);
  }, 1_500_000);

  it('node base image (node-base:bookworm, the fruit-cost example): TypeScript and npm\'s cache stay behind', async () => {
    const ctx = tmp('sc-conv-');
    cpSync(join(REPO, 'examples/fruit-cost'), ctx, { recursive: true });
    cpSync(join(ctx, 'Dockerfile.single'), join(ctx, 'Dockerfile'));
    const v = await verify(ctx, CA);
    expect(v.stderr).toMatch(/verify: OK/);
    expect(v.code).toBe(0);
    expect(v.out).toContain('COPY --from=build /app/dist /app/dist');
    expect(v.sizes.converted).toBeLessThan(v.sizes.original);
  }, 1_500_000);

  it('Debian python3 + pip from apt, a local package: a venv is built and copied, pip stays behind', async () => {
    const ctx = tmp('sc-conv-');
    cpSync(join(FIXTURES, 'apt-python'), ctx, { recursive: true });
    const v = await verify(ctx);
    expect(v.stderr).toMatch(/verify: OK/);
    expect(v.code).toBe(0);
    expect(v.out).toContain('COPY --from=build /opt/venv /opt/venv');
    expect(v.out).toMatch(/\n {4}apt-get install -y --no-install-recommends python3 && \\\n/);
    expect(v.sizes.converted).toBeLessThan(v.sizes.original);
  }, 1_500_000);

  it('Debian golang-go from apt: a static binary on scratch', async () => {
    const ctx = tmp('sc-conv-');
    cpSync(join(FIXTURES, 'apt-go'), ctx, { recursive: true });
    const v = await verify(ctx);
    expect(v.stderr).toMatch(/verify: OK/);
    expect(v.code).toBe(0);
    expect(v.out).toMatch(/\nFROM scratch\n/);
    expect(v.sizes.converted).toBeLessThan(v.sizes.original / 10);
  }, 1_500_000);

  it('a conversion that does not run the same fails verification, exits 1, and writes no -o', async () => {
    // the app reads a file the build made outside its working directory: the generic fallback
    // copies only /app, so the converted image cannot find it
    const ctx = context({
      Dockerfile: 'FROM busybox:latest\nRUN echo "hello from the build" > /greeting\nWORKDIR /app\nCOPY run.sh ./\nCMD ["sh", "run.sh"]\n',
      'run.sh': 'cat /greeting\n',
    });
    const v = await verify(ctx);
    expect(v.code).toBe(1);
    expect(v.stderr).toMatch(/verify: FAILED: the converted image does not run like the original/);
    expect(v.stderr).toMatch(/exit code: original 0, converted 1/);
    expect(v.stderr).toMatch(/note: no known language ecosystem/);
    expect(v.out).toBe('');
  }, 600_000);
});

describe('convert CLI', () => {
  it('writes the conversion (-o), notes go to stderr; a multi-stage input is one positioned error line', async () => {
    const ctx = tmp('sc-conv-');
    cpSync(join(FIXTURES, 'apt-node'), ctx, { recursive: true });
    const r = await runCli(['convert', join(ctx, 'Dockerfile'), '-o', join(ctx, 'out')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('note: the final stage does not install npm (build only)\n');
    expect(readFileSync(join(ctx, 'out'), 'utf8')).toMatch(/^# Converted to a multi-stage build by stagecraft convert \(node\)\./);
    const bad = await runCli(['convert', '-'], { input: 'FROM a\nRUN x\nFROM b\n' });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe('<stdin>:3:1: already has 2 stages; convert takes a single-stage Dockerfile\n');
  });
});
