/**
 * Rootless build with the store on an overlayfs (issue #13: CI inside a container whose root is an
 * overlay). The kernel refuses our overlay mount nested on it in the user namespace, so the CLI
 * falls back to fuse-overlayfs (said once), and a user namespace may not mknod the char 0/0
 * whiteouts there either: snapshots then hold `.wh.NAME` files (worker/snapshot/upper.ts). A base
 * image with a whiteout and an opaque dir in a layer (unpacked into snapshots by the user), a RUN
 * that deletes a file and replaces a dir, and a RUN reading through those snapshots as lowers give
 * the same layers, entry for entry in tar order, as the build by root on an ordinary store. Needs
 * root (the overlay mount, switching users), the ranged user of .ci/run, fuse-overlayfs and /dev/fuse.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, chmodSync, constants, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, importBusybox, tmp } from './helpers/index.js';
import { buildOk, context, layerEntries } from './helpers/build.js';
import { RANGED_USER, chownTo, cliAs, runCliAs, userReady, userTmp } from './helpers/rootless.js';

const BASE_DF = `FROM busybox
RUN mkdir -p /etc/conf.d /srv/data && echo a > /etc/conf.d/a && echo b > /srv/data/b && echo s > /etc/shadow
RUN rm /etc/shadow && rm -rf /srv/data && mkdir /srv/data && echo c > /srv/data/c
`;

const DF = `FROM base:1
RUN echo hi > /x && rm /etc/group && rm -rf /etc/conf.d && mkdir /etc/conf.d && echo z > /etc/conf.d/z
RUN ls -a /etc /etc/conf.d /srv/data > /listing && echo g > /etc/group
`;

const hasFuse = (() => {
  try {
    execFileSync('sh', ['-c', 'command -v fuse-overlayfs'], { stdio: 'ignore' });
    accessSync('/dev/fuse', constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
})();

let mnt: string | undefined;
afterAll(() => {
  if (!mnt) return;
  try {
    execFileSync('umount', [mnt], { stdio: 'ignore' });
  } catch {
    execFileSync('umount', ['-l', mnt], { stdio: 'ignore' });
  }
});

describe.skipIf(!userReady(RANGED_USER, true) || !hasFuse)(`rootless build as ${RANGED_USER} with the store on an overlayfs`, () => {
  it('falls back to fuse-overlayfs once and gives the layers of the root build (deleted file, opaque dir, base image whiteout)', async () => {
    // the base image, built by root and saved: its third layer has a whiteout and an opaque dir
    const baseStore = tmp('sc-nest-base-');
    await importBusybox(baseStore);
    await buildOk(baseStore, context({ Dockerfile: BASE_DF }), ['-t', 'base:1']);
    const shared = userTmp(RANGED_USER, 'sc-nest-tar-');
    const baseTar = join(shared, 'base.tar');
    await cli(['save', '-o', baseTar, 'base:1'], { root: baseStore });
    chownTo(RANGED_USER, shared);

    // root: an ordinary store
    const rootStore = tmp('sc-nest-root-');
    await cli(['load', '-i', baseTar], { root: rootStore });
    const ctx = context({ Dockerfile: DF });
    chownTo(RANGED_USER, ctx);
    await buildOk(rootStore, ctx, ['-t', 'nested:1']);

    // the user: a store on an overlay mount
    const d = tmp('sc-nest-ovl-');
    chmodSync(d, 0o755); // the user reaches the mount point
    for (const s of ['l', 'u', 'w', 'm']) mkdirSync(join(d, s));
    execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${d}/l,upperdir=${d}/u,workdir=${d}/w`, join(d, 'm')]);
    mnt = join(d, 'm');
    const userStore = join(mnt, 'store');
    mkdirSync(userStore);
    chownTo(RANGED_USER, mnt);
    await cliAs(RANGED_USER, ['load', '-i', baseTar], { root: userStore });
    const r = await cliAs(RANGED_USER, ['build', '--progress', 'plain', '-t', 'nested:1', ctx], { root: userStore });
    expect(r.stderr.match(/stagecraft: overlayfs is not usable in this user namespace \(.*\): using fuse-overlayfs/g)?.length).toBe(1);
    const info = (await cliAs(RANGED_USER, ['system', 'info'], { root: userStore })).stdout;
    expect(info).toMatch(/^Storage Driver: fuse-overlayfs$/m);

    const want = await layerEntries(rootStore, 'nested:1');
    const got = await layerEntries(userStore, 'nested:1');
    // the layers are what they should be: the base's whiteout and opaque dir, the RUN's
    const names = want.map((l) => l.map((e) => e.path));
    expect(names[2]).toEqual(expect.arrayContaining(['etc/.wh.shadow', 'srv/data/.wh..wh..opq', 'srv/data/c']));
    expect(names[3]).toEqual(expect.arrayContaining(['etc/.wh.group', 'etc/conf.d/.wh..wh..opq', 'etc/conf.d/z', 'x']));
    const listing = want[4]!.find((e) => e.path === 'listing')!.content!.toString();
    expect(listing).not.toMatch(/\bshadow\b|\bgroup\b|^a$|^b$/m);
    expect(got.length).toBe(want.length);
    for (let i = 0; i < want.length; i++) expect(got[i], `layer ${i}`).toEqual(want[i]);
    expect(existsSync(join(d, 'u', 'store'))).toBe(true); // the store really sat on the overlay
    // the whiteouts there are `.wh.NAME` files: unpacked from the base (shadow), made by a RUN (group)
    const whFiles = execFileSync('find', [join(userStore, 'snapshots'), '-type', 'f', '-name', '.wh.*'], { encoding: 'utf8' });
    expect(whFiles).toMatch(/\/etc\/\.wh\.shadow$/m);
    expect(whFiles).toMatch(/\/etc\/\.wh\.group$/m);
    // and `system fsck --snapshots` takes them (base layers compared with their blobs, RUN ones re-packed)
    const fsck = await runCliAs(RANGED_USER, ['system', 'fsck', '--snapshots'], { root: userStore });
    expect(fsck.code, fsck.stdout + fsck.stderr).toBe(0);
  });
});
