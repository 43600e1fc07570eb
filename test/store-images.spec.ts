/**
 * `import`, `images`, `tag`, `rmi`, `inspect`, `history`, `system df|prune|fsck` through the CLI,
 * with the busybox rootfs from Debian's busybox-static.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { busyboxRootfsTar, cli, importBusybox, runCli, tmp } from './helpers/index.js';

const oneLineError = (r: { code: number; stderr: string }): void => {
  expect(r.code).not.toBe(0);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).not.toMatch(/\n\s+at |internal error/);
};

describe('import and images', () => {
  it('imports busybox and lists it like docker images', async () => {
    const root = tmp();
    await importBusybox(root);
    const r = await cli(['images'], { root });
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^REPOSITORY {3}TAG {7}IMAGE ID {7}CREATED {2,}SIZE$/);
    expect(lines[1]).toMatch(/^busybox {6}latest {4}[0-9a-f]{12} {3}(Less than a second|\d+ seconds?) ago {3,}\d(\.\d+)?MB$/);
    // columns line up
    expect(lines[1]!.indexOf('latest')).toBe(lines[0]!.indexOf('TAG'));
    expect(lines[1]!.search(/[0-9a-f]{12}/)).toBe(lines[0]!.indexOf('IMAGE ID'));
    expect(lines[1]!.search(/\d(\.\d+)?MB$/)).toBe(lines[0]!.indexOf('SIZE'));

    const q = await cli(['images', '-q'], { root });
    expect(q.stdout).toMatch(/^[0-9a-f]{12}\n$/);
    const id = q.stdout.trim();

    const j = await cli(['images', '--format', 'json'], { root });
    const o = JSON.parse(j.stdout.trim()) as Record<string, string>;
    expect(o).toMatchObject({ Repository: 'busybox', Tag: 'latest', ID: id, Containers: 'N/A' });
    expect(o.Size).toMatch(/^\d(\.\d+)?MB$/);
    expect(o.Digest).toMatch(/^sha256:[0-9a-f]{64}$/);

    const d = await cli(['images', '--digests'], { root });
    expect(d.stdout.split('\n')[0]).toMatch(/^REPOSITORY {3}TAG {7}DIGEST {2,}IMAGE ID/);
    expect(d.stdout).toContain(o.Digest);

    // the store itself is an OCI image layout that other tools read
    const sk = JSON.parse(execFileSync('skopeo', ['inspect', `oci:${root}:busybox:latest`], { encoding: 'utf8' })) as { Digest: string };
    expect(sk.Digest).toBe(o.Digest);
    expect(execFileSync('umoci', ['ls', '--layout', root], { encoding: 'utf8' })).toBe('busybox:latest\n');

    const ins = JSON.parse((await cli(['inspect', 'busybox'], { root })).stdout) as Record<string, any>[];
    expect(ins).toHaveLength(1);
    expect(ins[0]!.Id).toMatch(new RegExp(`^sha256:${id}`));
    expect(ins[0]!.RepoTags).toEqual(['busybox:latest']);
    expect(ins[0]!.Config.Cmd).toEqual(['sh']);
    expect(ins[0]!.RootFS.Layers).toHaveLength(1);
    expect(ins[0]!.Size).toBeGreaterThan(1_000_000);
    expect((await cli(['inspect', '--format', '{{json .Config.Cmd}} {{.Os}}', id], { root })).stdout).toBe('["sh"] linux\n');

    const h = await cli(['history', 'busybox'], { root });
    const hl = h.stdout.trimEnd().split('\n');
    expect(hl[0]).toMatch(/^IMAGE {10}CREATED {2,}CREATED BY {2,}SIZE {2,}COMMENT$/);
    expect(hl[1]).toMatch(new RegExp(`^${id} `));
    expect(hl[1]).toMatch(/\dMB +Imported from /);
  });

  it('applies --change instructions like docker import', async () => {
    const root = tmp();
    await cli(['import', busyboxRootfsTar(), 'bb:changes', '-c', 'ENV A=1 B="two words"', '--change', 'WORKDIR /srv', '--change', 'EXPOSE 8080', '--change', 'ENTRYPOINT ["/bin/sh","-c"]', '--change', 'LABEL x=y', '--change', 'USER app', '--change', 'CMD echo hi'], { root });
    const c = JSON.parse((await cli(['inspect', '--format', '{{json .Config}}', 'bb:changes'], { root })).stdout) as Record<string, unknown>;
    expect(c).toMatchObject({
      Env: ['A=1', 'B=two words'],
      WorkingDir: '/srv',
      ExposedPorts: { '8080/tcp': {} },
      Entrypoint: ['/bin/sh', '-c'],
      Labels: { x: 'y' },
      User: 'app',
      Cmd: ['/bin/sh', '-c', 'echo hi'],
    });
    oneLineError(await runCli(['import', busyboxRootfsTar(), 'bb:x', '--change', 'RUN echo'], { root }));
    const fromStdin = await cli(['import', '-', 'piped:1'], { root, input: readFileSync(busyboxRootfsTar()) });
    expect(fromStdin.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    expect((await cli(['history', 'piped:1'], { root })).stdout).toMatch(/Imported from -$/m);
  });

  it('tags, untags and removes images and their blobs', async () => {
    const root = tmp();
    await importBusybox(root);
    await cli(['tag', 'busybox', 'example.com/team/app:v1'], { root });
    await cli(['tag', 'busybox:latest', 'other'], { root });
    let r = await cli(['images'], { root });
    expect(r.stdout).toMatch(/^example\.com\/team\/app +v1 /m);
    expect(r.stdout).toMatch(/^other +latest /m);
    const id = (await cli(['images', '-q', 'busybox'], { root })).stdout.trim();
    expect(id).toMatch(/^[0-9a-f]{12}$/);
    // an ID with several tags needs -f
    oneLineError(await runCli(['rmi', id], { root }));
    r = await cli(['rmi', 'other'], { root });
    expect(r.stdout).toBe('Untagged: other:latest\n');
    r = await cli(['rmi', '-f', id.slice(0, 6)], { root });
    expect(r.stdout).toContain('Untagged: busybox:latest');
    expect(r.stdout).toContain('Untagged: example.com/team/app:v1');
    expect(r.stdout).toMatch(/Deleted: sha256:[0-9a-f]{64}/);
    expect((await cli(['images', '-q'], { root })).stdout).toBe('');
    expect(readdirSync(join(root, 'blobs/sha256'))).toEqual([]);
    oneLineError(await runCli(['rmi', 'busybox'], { root }));
    oneLineError(await runCli(['inspect', 'nope:1'], { root }));
    oneLineError(await runCli(['tag', 'busybox', 'Bad/Name'], { root }));
  });

  it('keeps images used by containers unless forced, and their blobs even then', async () => {
    const root = tmp();
    await importBusybox(root);
    const digest = (JSON.parse((await cli(['images', '--format', 'json'], { root })).stdout) as { Digest: string }).Digest;
    const id = 'c'.repeat(64);
    mkdirSync(join(root, 'containers', id), { recursive: true });
    writeFileSync(join(root, 'containers', id, 'config.json'), JSON.stringify({ id, name: 'web', config: { manifestDigest: digest } }));
    const r = await runCli(['rmi', 'busybox'], { root });
    oneLineError(r);
    // docker's wording: the container's short ID, not its name
    expect(r.stderr).toMatch(/^conflict: unable to remove repository reference "busybox" \(must force\) - container c{12} is using its referenced image [0-9a-f]{12}\n$/);
    await cli(['rmi', '-f', 'busybox'], { root });
    await cli(['system', 'prune'], { root });
    expect(readdirSync(join(root, 'blobs/sha256'))).toContain(digest.slice(7));
    expect((await cli(['system', 'fsck'], { root })).stdout).toMatch(/is clean/);
  });

  it('reports usage, prunes unreferenced data and checks the store', async () => {
    const root = tmp();
    await importBusybox(root);
    await importBusybox(root, 'busybox:two'); // same content, new config (different created time)
    const df = await cli(['system', 'df'], { root });
    expect(df.stdout.split('\n')[0]).toMatch(/^TYPE {2,}TOTAL {2,}ACTIVE {2,}SIZE {2,}RECLAIMABLE$/);
    expect(df.stdout).toMatch(/^Images +2 +2 +\d/m);
    await cli(['rmi', 'busybox:two'], { root });
    await cli(['import', busyboxRootfsTar()], { root }); // dangling
    expect((await cli(['images'], { root })).stdout).toMatch(/^<none> +<none> +[0-9a-f]{12}/m);
    const p = await cli(['system', 'prune', '-f'], { root });
    expect(p.stdout).toMatch(/deleted: sha256:/);
    expect(p.stdout).toMatch(/Total reclaimed space: /);
    expect((await cli(['images', '-q'], { root })).stdout.trim().split('\n')).toHaveLength(1);
    const f = await cli(['system', 'fsck'], { root });
    expect(f.stdout).toMatch(/is clean: 3 blobs, 1 images/);
    // corrupt a blob: fsck must say so and exit non-zero
    const blobs = readdirSync(join(root, 'blobs/sha256'));
    writeFileSync(join(root, 'blobs/sha256', blobs[0]!), 'garbage');
    const bad = await runCli(['system', 'fsck'], { root });
    expect(bad.code).not.toBe(0);
    expect(bad.stdout).toMatch(/problem: corrupt blob/);
  });

  it('rejects bad input with one-line errors and leaves no image behind', async () => {
    const root = tmp();
    const junk = join(tmp(), 'junk.tar');
    writeFileSync(junk, 'this is not a tarball\n'.repeat(100));
    oneLineError(await runCli(['import', junk, 'junk:1'], { root }));
    oneLineError(await runCli(['import', '/nonexistent.tar', 'x:1'], { root }));
    const piped = await runCli(['import', '-', 'x:1'], { root, input: 'garbage\n' });
    oneLineError(piped);
    expect(piped.stderr).toMatch(/^-: not a valid tar archive/);
    oneLineError(await runCli(['import', busyboxRootfsTar(), 'UPPER:case'], { root }));
    // (a format without actions is a valid template for docker: `--format yaml` prints "yaml" per image)
    oneLineError(await runCli(['images', '--format', '{{.ID'], { root }));
    expect((await cli(['images', '-q'], { root })).stdout).toBe('');
    expect((await cli(['system', 'fsck'], { root })).code).toBe(0);
  });
});
