/**
 * ARG and ENV: global ARGs in FROM, re-declaration inside a stage, --build-arg overrides,
 * predefined platform ARGs, ARG values in the RUN environment but not in the image config,
 * inheritance through FROM <stage>, ENV expansion at each step, and BuildKit's `RUN |N K=V ...`
 * history text.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { hostPlatform } from '../src/image/types.js';
import { importBusybox, isRoot, tmp } from './helpers/index.js';
import { buildCli, buildOk, context, imageConfig, imageTree } from './helpers/build.js';

const DOCKERFILE = `ARG BASE=busybox
ARG GLOBAL=g1
ARG UNUSED_GLOBAL=u
FROM \${BASE} AS first
ARG GLOBAL
ARG LOCAL=l1
ARG TARGETARCH
ARG NOTGIVEN
ENV FROM_ARG=$LOCAL PATHX=/opt/$LOCAL
WORKDIR /w/$LOCAL
RUN echo "$GLOBAL $LOCAL $TARGETARCH [$NOTGIVEN] [$UNUSED_GLOBAL]" > /args.txt && pwd > /pwd.txt
ENV LOCAL=overridden-by-env
RUN echo "$LOCAL" > /env-wins.txt

FROM first
RUN echo "inherited $GLOBAL $FROM_ARG" > /inherit.txt
`;

describe.skipIf(!isRoot)('build: ARG and ENV', () => {
  let root: string;
  let ctx: string;
  const arch = hostPlatform().architecture;
  beforeAll(async () => {
    root = tmp('sc-root-');
    await importBusybox(root);
    ctx = context({ Dockerfile: DOCKERFILE });
  });

  it('expands ARG/ENV at each step with BuildKit scoping', async () => {
    await buildOk(root, ctx, ['-t', 'args:t']);
    const tree = await imageTree(root, 'args:t');
    expect(readFileSync(join(tree, 'args.txt'), 'utf8')).toBe(`g1 l1 ${arch} [] []\n`);
    expect(readFileSync(join(tree, 'pwd.txt'), 'utf8')).toBe('/w/l1\n');
    expect(readFileSync(join(tree, 'env-wins.txt'), 'utf8')).toBe('overridden-by-env\n');
    expect(readFileSync(join(tree, 'inherit.txt'), 'utf8')).toBe('inherited g1 l1\n');
    const cfg = await imageConfig(root, 'args:t');
    expect(cfg.config?.Env).toEqual([
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      'FROM_ARG=l1',
      'PATHX=/opt/l1',
      'LOCAL=overridden-by-env',
    ]);
    const runs = (cfg.history ?? []).map((h) => h.created_by ?? '').filter((c) => c.startsWith('RUN'));
    expect(runs[0]).toBe(
      `RUN |4 GLOBAL=g1 LOCAL=l1 TARGETARCH=${arch} NOTGIVEN= /bin/sh -c echo "$GLOBAL $LOCAL $TARGETARCH [$NOTGIVEN] [$UNUSED_GLOBAL]" > /args.txt && pwd > /pwd.txt # buildkit`,
    );
    expect(runs[1]).toBe(`RUN |4 GLOBAL=g1 LOCAL=overridden-by-env TARGETARCH=${arch} NOTGIVEN= /bin/sh -c echo "$LOCAL" > /env-wins.txt # buildkit`);
    const hist = (cfg.history ?? []).map((h) => h.created_by);
    // as Docker 26's BuildKit writes them: the ARG as declared, not the value it got
    expect(hist).toContain(`ARG GLOBAL`);
    expect(hist).toContain(`ARG LOCAL=l1`);
    expect(hist).toContain(`ARG NOTGIVEN`);
    // FROM <stage>: the parent's ARG values are in the environment but not in the RUN history
    expect(runs[2]).toBe('RUN /bin/sh -c echo "inherited $GLOBAL $FROM_ARG" > /inherit.txt # buildkit');
  });

  it('--build-arg overrides defaults, including global ARGs used in FROM', async () => {
    await buildOk(root, ctx, ['-t', 'args:cli', '--build-arg', 'LOCAL=cli', '--build-arg', 'GLOBAL=g2', '--build-arg', 'NOTGIVEN=given', '--build-arg', 'BASE=busybox:latest']);
    const tree = await imageTree(root, 'args:cli');
    expect(readFileSync(join(tree, 'args.txt'), 'utf8')).toBe(`g2 cli ${arch} [given] []\n`);
    expect(readFileSync(join(tree, 'pwd.txt'), 'utf8')).toBe('/w/cli\n');
    const cfg = await imageConfig(root, 'args:cli');
    expect(cfg.config?.Env).toContain('FROM_ARG=cli');
    expect((cfg.config?.Env ?? []).some((e) => e.startsWith('GLOBAL=') || e.startsWith('NOTGIVEN='))).toBe(false);
    expect((cfg.history ?? []).map((h) => h.created_by)).toContain('ARG LOCAL=l1');
  });

  it('FROM --platform accepts the build platform (predefined ARGs expand) and refuses others', async () => {
    const ok = context({ Dockerfile: 'FROM --platform=$BUILDPLATFORM busybox\nARG TARGETPLATFORM\nRUN echo "$TARGETPLATFORM" > /tp\n' });
    await buildOk(root, ok, ['-t', 'args:plat']);
    const tree = await imageTree(root, 'args:plat');
    expect(readFileSync(join(tree, 'tp'), 'utf8')).toBe(`linux/${arch}${hostPlatform().variant ? `/${hostPlatform().variant}` : ''}\n`);
    const other = arch === 's390x' ? 'linux/ppc64le' : 'linux/s390x';
    const bad = await buildCli(root, context({ Dockerfile: `FROM --platform=${other} busybox\n` }), []);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr.trim().split('\n').pop()).toMatch(/^Dockerfile:1:1: FROM --platform=linux\/s390x: only linux\/\w+ can be built here/);
  });

  it('proxy build args reach RUN without an ARG line, and stay out of the history', async () => {
    const ctx2 = context({ Dockerfile: 'FROM busybox\nRUN echo "[$HTTP_PROXY] [$OTHER]" > /p\n' });
    await buildOk(root, ctx2, ['-t', 'args:proxy', '--build-arg', 'HTTP_PROXY=http://proxy.invalid:3128', '--build-arg', 'OTHER=x']);
    const tree = await imageTree(root, 'args:proxy');
    expect(readFileSync(join(tree, 'p'), 'utf8')).toBe('[http://proxy.invalid:3128] []\n');
    const cfg = await imageConfig(root, 'args:proxy');
    expect(JSON.stringify(cfg)).not.toContain('proxy.invalid');
  });
});
