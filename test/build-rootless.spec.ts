/**
 * Rootless build: the same Dockerfile built by root and by an ordinary user (the CLI re-runs itself
 * as root of a user namespace mapped from /etc/subuid and /etc/subgid) gives the same image: every
 * layer has the same files, owners, modes and contents, and the config is the same; only times
 * differ. Then the single-ID mapping of a user without subordinate ranges: a warning, a build that
 * stays within uid/gid 0 works, one that needs another ID fails naming /etc/subuid. Needs root (to
 * switch users) and the users .ci/run creates (see test/helpers/rootless.ts).
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLI, REPO, busyboxRootfsTar, cli, importBusybox, tmp } from './helpers/index.js';
import { bookwormTar, hasDebootstrap } from './helpers/bases.js';
import { buildOk, context, imageConfig, layerLines } from './helpers/build.js';
import { RANGED_USER, SINGLE_USER, chownTo, cliAs, execAs, runCliAs, userReady, userTmp } from './helpers/rootless.js';

const BUSYBOX_DF = `FROM busybox
ENV GREETING=hi
RUN mkdir -p /home/app/data && chown app:app /home/app/data && echo made > /home/app/data/f && chown 1000:1000 /home/app/data/f
RUN rm -rf /tmp && mkdir -m 1777 /tmp && rm /etc/group && echo 'root:x:0:' > /etc/group && echo 'app:x:1000:' >> /etc/group
COPY --chown=app:app --chmod=640 hello.txt /home/app/
COPY run.sh /usr/local/bin/
USER app
RUN touch /home/app/data/by-app && id -u > /home/app/data/uid
WORKDIR /home/app
CMD ["sh", "-c", "cat hello.txt"]
`;

/** Builds `ctxFiles` (or dir `ctxDir`) as root and as the ranged user; returns both store roots. */
async function buildBoth(tag: string, ctx: string, args: string[], prepare: (root: string, asUser: boolean) => Promise<void>): Promise<{ rootStore: string; userStore: string }> {
  const rootStore = tmp('sc-rl-root-');
  const userStore = userTmp(RANGED_USER, 'sc-rl-user-');
  await prepare(rootStore, false);
  await prepare(userStore, true);
  await buildOk(rootStore, ctx, ['-t', tag, ...args]);
  const r = await cliAs(RANGED_USER, ['build', '--progress', 'plain', '-t', tag, ...args, ctx], { root: userStore });
  expect(r.stderr).not.toMatch(/warning: rootless/);
  return { rootStore, userStore };
}

async function expectSameImage(rootStore: string, userStore: string, tag: string, skipContent?: RegExp): Promise<void> {
  const a = await layerLines(rootStore, tag, skipContent);
  const b = await layerLines(userStore, tag, skipContent);
  expect(b.length).toBe(a.length);
  for (let i = 0; i < a.length; i++) expect(b[i], `layer ${i}`).toEqual(a[i]);
  const ca = await imageConfig(rootStore, tag);
  const cb = await imageConfig(userStore, tag);
  expect(cb.config).toEqual(ca.config);
  expect(cb.history?.map((h) => [h.created_by, !!h.empty_layer])).toEqual(ca.history?.map((h) => [h.created_by, !!h.empty_layer]));
  expect([cb.os, cb.architecture]).toEqual([ca.os, ca.architecture]);
}

describe.skipIf(!userReady(RANGED_USER, true))(`rootless build as ${RANGED_USER} (subordinate ID ranges)`, () => {
  it('busybox: RUN chown, an opaque dir, a whiteout, COPY --chown/--chmod, USER app: same layers and config as root', async () => {
    const ctx = context({ Dockerfile: BUSYBOX_DF, 'hello.txt': 'hello\n', 'run.sh': '#!/bin/sh\necho run\n' });
    chownTo(RANGED_USER, ctx);
    const tag = 'rootless-bb:1';
    const { rootStore, userStore } = await buildBoth(tag, ctx, [], async (root, asUser) => {
      if (asUser) await cliAs(RANGED_USER, ['import', busyboxRootfsTar(), 'busybox:latest', '--change', 'CMD ["sh"]'], { root });
      else await importBusybox(root);
    });
    await expectSameImage(rootStore, userStore, tag);
    const lines = (await layerLines(userStore, tag)).flat();
    // in-image owners, not the invoking user's or the subordinate IDs
    expect(lines.some((l) => /^home\/app\/data\/f file 644 1000:1000 5 /.test(l))).toBe(true);
    expect(lines.some((l) => /^home\/app\/data\/by-app file 644 1000:1000 /.test(l))).toBe(true);
    expect(lines.some((l) => /^tmp\/\.wh\.\.wh\.\.opq /.test(l))).toBe(true);
    // a run of the image as the user prints what root's run prints
    const run = await cliAs(RANGED_USER, ['run', '--rm', tag], { root: userStore });
    expect(run.stdout).toBe('hello\n');
    const info = (await cliAs(RANGED_USER, ['system', 'info'], { root: userStore })).stdout;
    expect(info).toMatch(/^Rootless: true\n User Namespace: \d{3,} uids, \d{3,} gids mapped\n/);
    expect(info).toMatch(/^Storage Driver: overlayfs \(userxattr\)$/m);
  });

  it.skipIf(!hasDebootstrap)('Debian: apt-get (its _apt sandbox user) and useradd give the same layers and config as root', async () => {
    const df = `FROM debian:bookworm-slim
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends jq >/dev/null && rm -rf /var/lib/apt/lists/*
RUN useradd -u 1234 -m builder && install -d -o builder -g builder /data
USER builder
RUN jq -n '{"who": "builder"}' > /data/out.json
`;
    const ctx = context({ Dockerfile: df });
    chownTo(RANGED_USER, ctx);
    const tag = 'rootless-apt:1';
    const tar = bookwormTar();
    const { rootStore, userStore } = await buildBoth(tag, ctx, [], async (root, asUser) => {
      const args = ['import', tar, 'debian:bookworm-slim', '--change', 'CMD ["bash"]'];
      if (asUser) await cliAs(RANGED_USER, args, { root });
      else await cli(args, { root, timeoutMs: 600_000 });
    });
    // apt and dpkg logs, caches and useradd's shadow files hold dates: compared without content
    await expectSameImage(rootStore, userStore, tag, /^var\/(log|cache)\/|^etc\/(shadow|gshadow)-?$|^var\/lib\/dpkg\/.*-old$/);
    const lines = (await layerLines(userStore, tag)).flat();
    expect(lines.some((l) => /^usr\/bin\/jq file 755 0:0 /.test(l))).toBe(true);
    expect(lines.some((l) => /^data\/out\.json file 644 1234:1234 /.test(l))).toBe(true);
  }, 900_000);

  it.skipIf(!hasDebootstrap)('the example app (examples/fruit-cost, multi-stage, npm ci with a secret): same image as root', async () => {
    const ex = join(REPO, 'examples/fruit-cost');
    const tag = 'fruit-cost-multi:rootless';
    const args = ['-f', join(ex, 'Dockerfile.multi'), '--secret', 'id=ca,src=/etc/ssl/certs/ca-certificates.crt'];
    const script = join(REPO, 'scripts/make-node-base.sh');
    const { rootStore, userStore } = await buildBoth(tag, ex, args, async (root, asUser) => {
      if (asUser) execAs(RANGED_USER, ['bash', script, process.execPath, CLI], { STAGECRAFT_ROOT: root });
      else execFileSync('bash', [script, process.execPath, CLI], { env: { ...process.env, STAGECRAFT_ROOT: root }, stdio: 'ignore', timeout: 1_200_000 });
    });
    await expectSameImage(rootStore, userStore, tag);
    const run = await cliAs(RANGED_USER, ['run', '--rm', tag], { root: userStore });
    expect(run.stdout).toMatch(/apple/);
  }, 900_000);
});

// whiteouts (a file, a dir), opaque dirs (a dir re-created, /tmp replaced), setuid/sticky modes,
// owners set by chown and COPY --chown, a symlink, a hard link, a USER step
const SNAPSHOT_DF = `FROM busybox
RUN mkdir -p /home/app/data /opt/keep && chown app:app /home/app/data && chmod 4755 /home/app/data && echo made > /home/app/data/f && chown 1000:1000 /home/app/data/f && touch /opt/keep/a /opt/keep/b
RUN rm -rf /tmp && mkdir -m 1777 /tmp && touch /tmp/new && rm /bin/vi && rm -rf /home/app/data /opt/keep/a && mkdir /home/app/data && ln -s /etc/passwd /home/app/link && ln /opt/keep/b /opt/keep/c
COPY --chown=app:app --chmod=640 hello.txt /home/app/
USER app
RUN touch /home/app/by-app && rm /home/app/hello.txt
`;

describe.skipIf(!userReady(RANGED_USER, true))('rootless snapshotters: each one, forced, gives the layers of the root build', () => {
  let ctx: string;
  let rootStore: string;
  const tag = 'rootless-snap:1';
  beforeAll(async () => {
    ctx = context({ Dockerfile: SNAPSHOT_DF, 'hello.txt': 'hello\n' });
    chownTo(RANGED_USER, ctx);
    rootStore = tmp('sc-rl-snap-root-');
    await importBusybox(rootStore);
    await buildOk(rootStore, ctx, ['-t', tag]);
  }, 300_000);

  it.each(['overlayfs', 'fuse-overlayfs', 'native'])('STAGECRAFT_SNAPSHOTTER=%s', async (kind) => {
    // a store of its own: no cache shared with another snapshotter's build
    const userStore = userTmp(RANGED_USER, `sc-rl-snap-${kind}-`);
    const env = { STAGECRAFT_SNAPSHOTTER: kind };
    await cliAs(RANGED_USER, ['import', busyboxRootfsTar(), 'busybox:latest', '--change', 'CMD ["sh"]'], { root: userStore, env });
    const r = await cliAs(RANGED_USER, ['build', '--progress', 'plain', '-t', tag, ctx], { root: userStore, env });
    expect(r.stderr).not.toMatch(/is not usable in this user namespace|warning: rootless/);
    const a = await layerLines(rootStore, tag);
    const b = await layerLines(userStore, tag);
    expect(b.length).toBe(a.length);
    for (let i = 0; i < a.length; i++) expect(b[i], `layer ${i}`).toEqual(a[i]);
    const all = b.flat();
    for (const re of [/^tmp\/\.wh\.\.wh\.\.opq /, /^bin\/\.wh\.vi /, /^opt\/keep\/\.wh\.a /, /^home\/app\/data\/\.wh\.\.wh\.\.opq /, /^home\/app\/\.wh\.hello\.txt /, /^home\/app\/by-app file 644 1000:1000 /]) {
      expect(all.some((l) => re.test(l)), String(re)).toBe(true);
    }
    // no snapshotter bookkeeping in a layer
    expect(all.filter((l) => /\.wh\.\.opq |fuseoverlayfs/.test(l) && !/\.wh\.\.wh\.\.opq /.test(l))).toEqual([]);
    const info = (await cliAs(RANGED_USER, ['system', 'info'], { root: userStore, env })).stdout;
    expect(info).toMatch(new RegExp(`^Storage Driver: ${kind}( \\(userxattr\\))?$`, 'm'));
  }, 300_000);
});

describe.skipIf(!userReady(SINGLE_USER, false))(`rootless build as ${SINGLE_USER} (no ranges: single-ID mapping)`, () => {
  let ctxDir: string;
  beforeAll(async () => {
    ctxDir = userTmp(SINGLE_USER, 'sc-rl-single-');
  });

  it('warns once, builds within uid 0 into ~/.local/share/stagecraft, and names /etc/subuid for a step that needs uid 1000', async () => {
    // no STAGECRAFT_ROOT: the store is the user's own (XDG), in a HOME of our own
    const home = join(ctxDir, 'home');
    const env = { HOME: home };
    // only root-owned files: COPY from the context makes them 0:0
    const ok = context({ Dockerfile: 'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "sh", "-c", "/bin/busybox id -u > /uid"]\n' });
    copyFileSync(['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p))!, join(ok, 'busybox'));
    chownTo(SINGLE_USER, ok);
    const r = await runCliAs(SINGLE_USER, ['build', '--progress', 'plain', '-t', 'single:1', ok], { env });
    expect(r.code, r.stderr).toBe(0);
    const warnings = r.stderr.split('\n').filter((l) => /warning: rootless with a single-ID mapping/.test(l));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/no subordinate ID range for scsingle in \/etc\/subuid and \/etc\/subgid/);
    expect(existsSync(join(home, '.local/share/stagecraft/blobs/sha256'))).toBe(true);
    const info = (await cliAs(SINGLE_USER, ['system', 'info'], { env })).stdout;
    expect(info).toMatch(/^Rootless: true\n User Namespace: 1 uids, 1 gids mapped \(single-ID mapping/);
    expect(info).toContain(`Root Dir: ${join(home, '.local/share/stagecraft')}\n`);
    const lines = (await layerLines(join(home, '.local/share/stagecraft'), 'single:1')).flat();
    expect(lines.some((l) => /^uid file 644 0:0 2 /.test(l))).toBe(true); // `id -u` said 0

    // a USER the namespace does not map
    const bad = context({ Dockerfile: 'FROM single:1\nUSER 1000\nRUN ["/bin/busybox", "true"]\n' });
    chownTo(SINGLE_USER, bad);
    const b = await runCliAs(SINGLE_USER, ['build', '--progress', 'plain', bad], { env });
    expect(b.code).not.toBe(0);
    expect(b.stderr).toMatch(/USER 1000 needs uid 1000, which is not mapped in this rootless user namespace \(1 uid mapped\): give scsingle a subordinate ID range in \/etc\/subuid/);
    expect(b.stderr).not.toMatch(/internal error|\n\s+at /);

    // an image with a file owned by uid 1000 (busybox's /home/app)
    await cliAs(SINGLE_USER, ['import', busyboxRootfsTar(), 'busybox:latest'], { env });
    const img = context({ Dockerfile: 'FROM busybox\nRUN true\n' });
    chownTo(SINGLE_USER, img);
    const c = await runCliAs(SINGLE_USER, ['build', '--progress', 'plain', img], { env });
    expect(c.code).not.toBe(0);
    expect(c.stderr).toMatch(/layer file \/home\/app needs uid 1000, which is not mapped .*\/etc\/subuid/);
  });
});
