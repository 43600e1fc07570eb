/**
 * WORKDIR as BuildKit does it: an absolute path is kept verbatim in the image config (only a
 * relative one is joined to the current dir and cleaned); the directories it creates belong to the
 * USER when the image's passwd knows it, to a numeric USER's uid/gid when it does not, and to 0:0
 * for an unknown user name (no error).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { importBusybox, isRoot, tmp } from './helpers/index.js';
import { buildOk, context, imageConfig, layerEntries } from './helpers/build.js';

describe.skipIf(!isRoot)('build: WORKDIR', () => {
  let root: string;
  beforeAll(async () => {
    root = tmp('sc-root-');
    await importBusybox(root);
  });

  it('keeps an absolute path verbatim in the config; joins and cleans a relative one', async () => {
    await buildOk(root, context({ Dockerfile: 'FROM busybox\nWORKDIR /a//b/./c/\n' }), ['-t', 'wd:abs']);
    expect((await imageConfig(root, 'wd:abs')).config?.WorkingDir).toBe('/a//b/./c/');
    await buildOk(root, context({ Dockerfile: 'FROM busybox\nWORKDIR /a//b/./c/\nWORKDIR d//e/\n' }), ['-t', 'wd:rel']);
    const c = await imageConfig(root, 'wd:rel');
    expect(c.config?.WorkingDir).toBe('/a/b/c/d/e');
    expect(c.history?.map((h) => h.created_by)).toContain('WORKDIR /a//b/./c/');
  });

  it('an unknown USER name gives 0:0 directories; a numeric USER without passwd entry its own ids', async () => {
    const df = 'FROM busybox\nUSER nosuchuser\nWORKDIR /w1/sub\nUSER 66\nWORKDIR /w2\nUSER app\nWORKDIR /w3\n';
    await buildOk(root, context({ Dockerfile: df }), ['-t', 'wd:user']);
    const layers = await layerEntries(root, 'wd:user');
    const own = (p: string): string => {
      const e = layers.flat().find((x) => x.path.replace(/\/$/, '') === p);
      return e ? `${e.uid}:${e.gid}` : 'missing';
    };
    expect(own('w1')).toBe('0:0');
    expect(own('w1/sub')).toBe('0:0');
    expect(own('w2')).toBe('66:66');
    expect(own('w3')).toBe('1000:1000');
  });
});
