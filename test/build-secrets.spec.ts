/**
 * RUN --mount=type=secret: the secret is readable at /run/secrets/ID (or as an env var with env=)
 * during the RUN, and appears in no layer, no history entry, no config, and no cache key (a
 * changed secret value does not invalidate the cache). A required secret that was not given fails.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { importBusybox, isRoot, tmp } from './helpers/index.js';
import { buildCli, buildOk, cachedVertices, context, imageConfig, layerEntries, imageTree } from './helpers/build.js';
import { existsSync, readFileSync } from 'node:fs';

const SECRET = 'tok-5f1c9a-very-secret';
const ENV_SECRET = 'env-secret-77aa';

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');
// the Dockerfile names only the secrets' hashes: their values must appear nowhere in the image
const DOCKERFILE = `FROM busybox
RUN --mount=type=secret,id=tok sh -c 'test "$(sha256sum < /run/secrets/tok | cut -d" " -f1)" = "${sha(SECRET)}" && wc -c < /run/secrets/tok > /secret-length'
RUN --mount=type=secret,id=api,env=API_TOKEN sh -c 'test "$(printf %s "$API_TOKEN" | sha256sum | cut -d" " -f1)" = "${sha(ENV_SECRET)}" && echo ok > /env-ok'
RUN --mount=type=secret,id=tok,target=/custom/place sh -c 'test -s /custom/place && echo ok > /custom-ok'
`;

describe.skipIf(!isRoot)('build: secrets', () => {
  let root: string;
  let ctx: string;
  let secretFile: string;
  beforeAll(async () => {
    root = tmp('sc-root-');
    await importBusybox(root);
    ctx = context({ Dockerfile: DOCKERFILE });
    secretFile = join(tmp('sc-secret-'), 'tok.txt');
    writeFileSync(secretFile, SECRET);
    await buildOk(root, ctx, ['-t', 'sec:t', '--secret', `id=tok,src=${secretFile}`, '--secret', 'id=api,env=MY_API'], {
      env: { MY_API: ENV_SECRET },
    });
  });

  it('makes the secret readable during RUN', async () => {
    const tree = await imageTree(root, 'sec:t');
    expect(readFileSync(join(tree, 'secret-length'), 'utf8').trim()).toBe(String(SECRET.length));
    expect(readFileSync(join(tree, 'env-ok'), 'utf8')).toBe('ok\n');
    expect(readFileSync(join(tree, 'custom-ok'), 'utf8')).toBe('ok\n');
    expect(existsSync(join(tree, 'run/secrets/tok'))).toBe(false);
    expect(existsSync(join(tree, 'custom/place'))).toBe(false);
  });

  it('keeps the secret out of every layer, the history and the config', async () => {
    const layers = await layerEntries(root, 'sec:t');
    for (const l of layers) {
      for (const e of l) {
        expect(e.path).not.toMatch(/run\/secrets\/tok$/);
        if (e.content) {
          expect(e.content.includes(SECRET)).toBe(false);
          expect(e.content.includes(ENV_SECRET)).toBe(false);
        }
      }
    }
    const cfg = JSON.stringify(await imageConfig(root, 'sec:t'));
    expect(cfg).not.toContain(SECRET);
    expect(cfg).not.toContain(ENV_SECRET);
  });

  it('does not put the secret in the cache key', async () => {
    writeFileSync(secretFile, `${SECRET}`); // same content, rewritten (new mtime)
    const r = await buildOk(root, ctx, ['-t', 'sec:t2', '--secret', `id=tok,src=${secretFile}`, '--secret', 'id=api,env=MY_API'], {
      env: { MY_API: ENV_SECRET },
    });
    expect(cachedVertices(r.stderr).filter((n) => n.includes('RUN'))).toHaveLength(3);
    // a different value: still cached (BuildKit never hashes secrets)
    const other = join(tmp('sc-secret-'), 'other');
    writeFileSync(other, 'different');
    const r2 = await buildOk(root, ctx, ['-t', 'sec:t3', '--secret', `id=tok,src=${other}`, '--secret', 'id=api,env=MY_API'], {
      env: { MY_API: ENV_SECRET },
    });
    expect(cachedVertices(r2.stderr).filter((n) => n.includes('RUN'))).toHaveLength(3);
  });

  it('fails when a required secret is missing', async () => {
    const c = context({ Dockerfile: 'FROM busybox\nRUN --mount=type=secret,id=nope,required=true true\n' });
    const r = await buildCli(root, c, []);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('secret nope: not found');
  });
});
