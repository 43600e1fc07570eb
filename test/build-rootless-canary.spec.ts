/**
 * A rootless build cannot reach past the user's own files: root-owned canaries (a 0600 file, a
 * 0700 dir, and a 0755 dir with a 0644 file the user may read but not write) stay untouched
 * (same content, mode, owner, mtime, ctime) and unread (their secret appears in no output and no
 * layer) whatever a Dockerfile or the command line tries: context symlinks to them, a root-owned
 * file inside the context, --build-context, a rw bind mount of it, --secret src=, `run -v`.
 * The namespace's root is the user to the kernel: it has no power over files it does not own.
 */
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busyboxRootfsTar, tmp } from './helpers/index.js';
import { context, layerLines, layerEntries } from './helpers/build.js';
import { RANGED_USER, chownTo, cliAs, runCliAs, userReady, userTmp } from './helpers/rootless.js';

const SECRET = `canary-${createHash('sha256').update(String(process.pid)).digest('hex').slice(0, 16)}`;

function fingerprint(p: string): string {
  const st = statSync(p);
  const data = st.isFile() ? createHash('sha256').update(readFileSync(p)).digest('hex') : 'dir';
  return `${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.mtimeMs} ${st.ctimeMs} ${data}`;
}

describe.skipIf(!userReady(RANGED_USER, true))('rootless build: root-owned canaries stay untouched and unread', () => {
  let canary: string;
  let paths: string[];
  let before: string[];
  let store: string;
  const outputs: string[] = [];
  const attempt = async (args: string[]) => {
    const r = await runCliAs(RANGED_USER, args, { root: store });
    outputs.push(r.stdout, r.stderr);
    return r;
  };

  beforeAll(async () => {
    // a root-owned tree outside the user's files, traversable to its leaves
    canary = tmp('sc-canary-');
    chmodSync(canary, 0o755);
    mkdirSync(join(canary, 'closed'), { mode: 0o700 });
    writeFileSync(join(canary, 'closed/inner'), `${SECRET}\n`, { mode: 0o644 });
    writeFileSync(join(canary, 'secret'), `${SECRET}\n`, { mode: 0o600 });
    mkdirSync(join(canary, 'open'), { mode: 0o755 });
    writeFileSync(join(canary, 'open/pub'), 'public\n', { mode: 0o644 });
    paths = ['secret', 'closed', 'closed/inner', 'open', 'open/pub', '.'].map((p) => join(canary, p));
    before = paths.map(fingerprint);
    store = userTmp(RANGED_USER, 'sc-canary-store-');
    await cliAs(RANGED_USER, ['import', busyboxRootfsTar(), 'busybox:latest', '--change', 'CMD ["sh"]'], { root: store });
  });

  afterAll(() => {
    // runs even when a test failed: the canary must be intact after every attempt
    expect(paths.map(fingerprint)).toEqual(before);
  });

  it('context symlinks to the canary are copied as links, never followed', async () => {
    const ctx = context({ Dockerfile: 'FROM busybox\nCOPY . /ctx/\nRUN cat /ctx/link /ctx/dirlink/secret 2>&1; ls -la /ctx/ 2>&1; true\n' });
    symlinkSync(join(canary, 'secret'), join(ctx, 'link'));
    symlinkSync(canary, join(ctx, 'dirlink'));
    chownTo(RANGED_USER, ctx);
    const r = await attempt(['build', '--progress', 'plain', '-t', 'canary:links', ctx]);
    expect(r.code, r.stderr).toBe(0);
    const entries = (await layerEntries(store, 'canary:links')).flat();
    expect(entries.find((e) => e.path === 'ctx/link')?.type).toBe('symlink');
    // COPY through a link to the canary dir: not inside the context
    const via = context({ Dockerfile: 'FROM busybox\nCOPY dirlink/secret /stolen\n' });
    symlinkSync(canary, join(via, 'dirlink'));
    chownTo(RANGED_USER, via);
    const v = await attempt(['build', '--progress', 'plain', via]);
    expect(v.code).not.toBe(0);
  });

  it('a root-owned 0600 file inside the context fails the COPY with a clear error', async () => {
    const ctx = context({ Dockerfile: 'FROM busybox\nCOPY . /ctx/\n', 'ok.txt': 'ok\n' });
    chownTo(RANGED_USER, ctx);
    writeFileSync(join(ctx, 'rootonly'), `${SECRET}\n`, { mode: 0o600 }); // owned by root
    const r = await attempt(['build', '--progress', 'plain', ctx]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/permission denied/i);
    expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
  });

  it('--build-context, --secret src= and RUN bind mounts of the canary read nothing and write nothing', async () => {
    const ctx = context({
      Dockerfile: `FROM busybox
RUN --mount=type=bind,from=canary,target=/c,rw cat /c/secret /c/closed/inner 2>&1; echo pwned > /c/open/pub; rm -f /c/open/pub; touch /c/new; true
`,
    });
    chownTo(RANGED_USER, ctx);
    const r = await attempt(['build', '--progress', 'plain', '--build-context', `canary=${canary}`, '-t', 'canary:ctx', ctx]);
    // either refused up front (the context holds unreadable files) or built without them
    if (r.code === 0) expect((await layerLines(store, 'canary:ctx')).flat().join('\n')).not.toContain('new');
    else expect(r.stderr).toMatch(/permission denied/i);

    const s = context({ Dockerfile: 'FROM busybox\nRUN --mount=type=secret,id=s cat /run/secrets/s\n' });
    chownTo(RANGED_USER, s);
    const sec = await attempt(['build', '--progress', 'plain', '--secret', `id=s,src=${join(canary, 'secret')}`, s]);
    expect(sec.code).not.toBe(0);
    expect(sec.stderr).toMatch(/failed to read secret s/);
  });

  it('run -v of the canary: the container cannot read the 0600 file or write the 0644 one', async () => {
    const r = await attempt(['run', '--rm', '-v', `${canary}:/c`, 'busybox', 'sh', '-c', 'cat /c/secret; cat /c/closed/inner; echo pwned > /c/open/pub; touch /c/new; cat /c/open/pub']);
    expect(r.stdout).toBe('public\n');
    expect(r.stderr).toMatch(/Permission denied/);
  });

  it('the secret appears in no output and no layer of the user\'s store', async () => {
    expect(outputs.join('\n')).not.toContain(SECRET);
    for (const tag of ['canary:links']) {
      const all = (await layerEntries(store, tag)).flat();
      expect(all.some((e) => e.content?.includes(SECRET))).toBe(false);
    }
  });
});
