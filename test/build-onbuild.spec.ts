/**
 * ONBUILD: triggers are stored in the image config (no history entry of their own), run first
 * when a stage is built FROM that image (or FROM a stage that declared them), are shown as
 * `ONBUILD ...` in the progress, and are not inherited by the child image.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { importBusybox, isRoot, tmp } from './helpers/index.js';
import { buildOk, context, imageConfig, imageManifest, imageTree } from './helpers/build.js';

describe.skipIf(!isRoot)('build: ONBUILD', () => {
  let root: string;
  beforeAll(async () => {
    root = tmp('sc-root-');
    await importBusybox(root);
    const parent = `FROM busybox
ONBUILD COPY trigger.txt /from-trigger.txt
ONBUILD RUN echo ran > /onbuild-ran
RUN echo parent > /parent.txt
`;
    await buildOk(root, context({ Dockerfile: parent, 'trigger.txt': 'parent ctx\n' }), ['-t', 'onb:parent']);
  });

  it('stores triggers in the parent config without history entries', async () => {
    const cfg = await imageConfig(root, 'onb:parent');
    expect(cfg.config?.OnBuild).toEqual(['COPY trigger.txt /from-trigger.txt', 'RUN echo ran > /onbuild-ran']);
    expect((cfg.history ?? []).some((h) => (h.created_by ?? '').includes('ONBUILD'))).toBe(false);
  });

  it('runs the triggers first in a child built FROM the image', async () => {
    const child = 'FROM onb:parent\nRUN cat /onbuild-ran /from-trigger.txt > /child.txt\n';
    const r = await buildOk(root, context({ Dockerfile: child, 'trigger.txt': 'child ctx\n' }), ['-t', 'onb:child']);
    expect(r.stderr).toContain('[2/4] ONBUILD COPY trigger.txt /from-trigger.txt');
    expect(r.stderr).toContain('[3/4] ONBUILD RUN echo ran > /onbuild-ran');
    expect(r.stderr).toContain('[4/4] RUN cat /onbuild-ran /from-trigger.txt > /child.txt');
    const tree = await imageTree(root, 'onb:child');
    expect(readFileSync(join(tree, 'child.txt'), 'utf8')).toBe('ran\nchild ctx\n');
    const cfg = await imageConfig(root, 'onb:child');
    expect(cfg.config?.OnBuild ?? []).toEqual([]);
    const runs = (cfg.history ?? []).map((h) => h.created_by);
    expect(runs).toContain('COPY trigger.txt /from-trigger.txt # buildkit');
    const m = await imageManifest(root, 'onb:child');
    const instr = m.layers.map((l) => l.annotations?.['dev.stagecraft.instruction']).filter(Boolean);
    expect(instr).toContain('ONBUILD RUN echo ran > /onbuild-ran');
  });

  it('runs the triggers of an earlier stage in a stage built FROM it', async () => {
    const df = `FROM busybox AS base
ONBUILD RUN echo stage-trigger > /st.txt
FROM base
RUN cat /st.txt > /seen.txt
`;
    await buildOk(root, context({ Dockerfile: df }), ['-t', 'onb:stage']);
    const tree = await imageTree(root, 'onb:stage');
    expect(readFileSync(join(tree, 'seen.txt'), 'utf8')).toBe('stage-trigger\n');
  });
});
