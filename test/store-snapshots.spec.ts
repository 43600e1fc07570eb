/**
 * Snapshot durability: a committed snapshot (a RUN's upper dir, a layer unpacked from its blob) is
 * synced to disk (syncfs of the store's filesystem) BEFORE it is renamed into snapshots/, so a power
 * cut leaves it complete or absent; and `system fsck --snapshots` re-reads every snapshot against
 * its diffID: a truncated file is found (plain `fsck` does not read snapshots: it stays cheap),
 * named, and removed with --repair, after which the build and the image are right again.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLI, cli, importBusybox, isRoot, runCli, tmp } from './helpers/index.js';
import { buildOk, context } from './helpers/build.js';

const hasStrace = spawnSync('strace', ['-V']).status === 0;

const DOCKERFILE = `FROM busybox AS tool
RUN mkdir /out && echo made-by-a-stage-that-is-not-exported > /out/tool.txt && rm /etc/group

FROM busybox
RUN mkdir /data && echo the-content-of-a-committed-snapshot > /data/file.txt
COPY --from=tool /out/tool.txt /tool.txt
`;

/** The snapshot dir (under ROOT/snapshots) holding `rel`. */
function snapshotWith(root: string, rel: string): string {
  const dirs = readdirSync(join(root, 'snapshots')).filter((n) => existsSync(join(root, 'snapshots', n, rel)));
  expect(dirs, rel).toHaveLength(1);
  return dirs[0] as string;
}

describe.runIf(isRoot)('snapshot durability', () => {
  let root: string;
  let ctx: string;
  beforeAll(async () => {
    root = tmp('sc-snap-');
    ctx = context({ Dockerfile: DOCKERFILE });
    await importBusybox(root);
  });

  it.runIf(hasStrace)('syncs each snapshot (syncfs) before it is renamed into snapshots/', () => {
    const log = join(tmp(), 'strace.log');
    execFileSync('strace', ['-f', '-qq', '-s', '4096', '-o', log, '-e', 'trace=execve,syncfs,rename,renameat,renameat2', process.execPath, CLI, 'build', '-q', '-t', 'snap:1', ctx], {
      env: { ...process.env, STAGECRAFT_ROOT: root },
      stdio: 'ignore',
      timeout: 300_000,
    });
    // pid of each `sync -f DIR` → DIR; DIR counts as synced once that pid's syncfs returned 0
    const syncing = new Map<string, string>();
    const synced = new Set<string>();
    const adopted: string[] = [];
    for (const line of readFileSync(log, 'utf8').split('\n')) {
      const pid = /^(\d+) /.exec(line)?.[1];
      if (!pid) continue;
      const ex = /execve\("[^"]*\/sync", \["[^"]*sync", "-f", "([^"]+)"\]/.exec(line);
      if (ex) syncing.set(pid, ex[1] as string);
      if (/(?:^\d+ +syncfs\(|<\.\.\. syncfs resumed>).*= 0$/.test(line) && syncing.has(pid)) synced.add(syncing.get(pid) as string);
      const rn = /rename(?:at2?)?\((?:AT_FDCWD, )?"([^"]+)", (?:AT_FDCWD, )?"([^"]+\/snapshots\/[0-9a-f]{64})"/.exec(line);
      if (rn) {
        adopted.push(rn[2] as string);
        expect(synced.has(rn[1] as string), `${rn[1]} renamed to ${rn[2]} before it was synced`).toBe(true);
      }
    }
    // the busybox layer unpacked from its blob, the two RUNs, the COPY (the cache key's snapshot)
    expect(adopted.length).toBeGreaterThanOrEqual(4);
    expect(readdirSync(join(root, 'meta', 'snapshots')).length).toBe(readdirSync(join(root, 'snapshots')).length);
  }, 300_000);

  it('gc drops the records of lazy layers once their snapshots are gone, and export variants whose blob is gone', async () => {
    const own = tmp('sc-snapgc-');
    await importBusybox(own);
    await buildOk(own, context({ Dockerfile: 'FROM busybox\nRUN echo gc-me > /gc.txt\n' }), ['-t', 'gc:1']);
    const diffIds = JSON.parse((await cli(['inspect', '--format', '{{json .RootFS.Layers}}', 'gc:1'], { root: own })).stdout) as string[];
    const runLayer = (diffIds.at(-1) as string).slice(7);
    await cli(['save', '--format', 'oci', '-o', join(tmp(), 'gc.tar'), 'gc:1'], { root: own });
    expect(readdirSync(join(own, 'meta', 'variants')).length).toBeGreaterThan(0);
    // rmi: the snapshot stays (the build cache can still use it), so does its layer record
    await cli(['rmi', 'gc:1'], { root: own });
    expect(existsSync(join(own, 'meta', 'layers', `${runLayer}.json`))).toBe(true);
    expect(readdirSync(join(own, 'meta', 'variants'))).toEqual([]);
    // prune with snapshots: nothing can make that layer any more, its record goes too
    await cli(['image', 'prune', '-a', '-f'], { root: own });
    expect(existsSync(join(own, 'meta', 'layers', `${runLayer}.json`))).toBe(false);
    for (const n of readdirSync(join(own, 'meta', 'layers'))) {
      const hex = n.replace(/\.json$/, '');
      expect(existsSync(join(own, 'blobs', 'sha256', hex)), `record ${n} without a blob`).toBe(true);
    }
  }, 300_000);

  it('fsck --snapshots finds a truncated file in a committed snapshot; plain fsck does not read them; --repair removes it', async () => {
    await buildOk(root, ctx, ['-t', 'snap:1']);
    // a build keeps layers as snapshots only (lazy blobs); an OCI save gives the image's layers gzip blobs
    await cli(['save', '--format', 'oci', '-o', join(tmp(), 'snap1.oci.tar'), 'snap:1'], { root });
    expect((await cli(['system', 'fsck', '--snapshots'], { root })).stdout).toMatch(/is clean: .* \d+ snapshots verified/);
    // one snapshot of an exported layer (it has a blob), one of the stage that is not exported (none)
    const exported = snapshotWith(root, 'data/file.txt');
    const unexported = snapshotWith(root, 'out/tool.txt');
    truncateSync(join(root, 'snapshots', exported, 'data/file.txt'), 4);
    truncateSync(join(root, 'snapshots', unexported, 'out/tool.txt'), 0);

    const plain = await runCli(['system', 'fsck'], { root });
    expect(plain.code, plain.stdout + plain.stderr).toBe(0);
    expect(plain.stdout).toMatch(/is clean/);

    const deep = await runCli(['system', 'fsck', '--snapshots'], { root });
    expect(deep.code).toBe(1);
    expect(deep.stdout).toContain(`problem: bad snapshot sha256:${exported} `);
    expect(deep.stdout).toMatch(/data\/file\.txt has 4 bytes, its layer 36/);
    expect(deep.stdout).toContain(`problem: bad snapshot sha256:${unexported} `);
    expect(deep.stdout).toMatch(/content packs to sha256:[0-9a-f]{64}, recorded diffID sha256:[0-9a-f]{64} \(no layer blob/);
    expect(deep.stderr).toMatch(/2 problem\(s\) found/);

    expect((await runCli(['system', 'fsck', '--repair'], { root })).stderr).toMatch(/--repair needs --snapshots/);
    const fixed = await cli(['system', 'fsck', '--snapshots', '--repair'], { root });
    expect(fixed.stdout).toContain(`removed bad snapshot sha256:${exported} `);
    expect(fixed.stdout).toContain(`removed bad snapshot sha256:${unexported} `);
    expect(existsSync(join(root, 'snapshots', exported))).toBe(false);
    expect(existsSync(join(root, 'meta', 'snapshots', `${exported}.json`))).toBe(false);

    // snap:1's layer lost its snapshot; its blob is made from the gzip blob the OCI save left, also after a gc
    await cli(['image', 'prune', '-f'], { root });
    const again = await runCli(['save', '-o', join(tmp(), 'snap1.tar'), 'snap:1'], { root });
    expect(again.code, again.stderr).toBe(0);

    // the next build runs the stage whose only copy was the bad snapshot again, and the image is right
    await buildOk(root, ctx, ['-t', 'snap:2']);
    const out = await cli(['run', '--rm', 'snap:2', 'cat', '/data/file.txt', '/tool.txt'], { root });
    expect(out.stdout).toBe('the-content-of-a-committed-snapshot\nmade-by-a-stage-that-is-not-exported\n');
    expect((await cli(['system', 'fsck', '--snapshots'], { root })).stdout).toMatch(/is clean/);
  }, 300_000);
});
