/**
 * rpm packages and pre-1.18 Go binaries, end to end: an image whose layer carries a real rpm 4.18
 * sqlite database (test/fixtures/rpm, made by make.sh) with the files of two of its packages, and
 * an ELF laid out as Go 1.16 laid out its build info (test/helpers/go-elf.ts). `analyze` must list
 * the rpm packages with version-release, arch, size and the COPY that installed them, and the old
 * binary's modules; `compare` against the bare base must list them as added.
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildOk, context } from './helpers/build.js';
import { oldGoElf } from './helpers/go-elf.js';
import { cli, importBusybox, tmp } from './helpers/index.js';

const root = tmp('sc-rpm-');
const FIX = join(import.meta.dirname, 'fixtures/rpm');

interface Pkg { ecosystem: string; name: string; version: string; arch?: string; bytes: number; files: number; layer: number; instruction: string; tool?: string; binary?: string }

beforeAll(async () => {
  await importBusybox(root);
  const ctx = context({
    Dockerfile: 'FROM busybox:latest\nCOPY rootfs/ /\nCOPY oldapp /usr/local/bin/oldapp\n',
    'rootfs/usr/bin/sc-hello': '#!/bin/sh\necho hello\n',
    'rootfs/usr/share/sc-hello/data.txt': 'a'.repeat(3000),
    'rootfs/usr/libexec/gcc/cc1': '\0'.repeat(12345),
    'rootfs/var/lib/rpm/': '',
  });
  writeFileSync(join(ctx, 'rootfs/var/lib/rpm/rpmdb.sqlite'), gunzipSync(readFileSync(join(FIX, 'rpmdb.sqlite.gz'))));
  const mod = 'path\texample.com/old/cmd/oldapp\nmod\texample.com/old\tv0.9.0\th1:abc=\ndep\tgithub.com/pkg/errors\tv0.9.1\th1:def=\n';
  writeFileSync(join(ctx, 'oldapp'), oldGoElf({ is64: true, bigEndian: false, version: 'go1.16.15', mod }));
  chmodSync(join(ctx, 'oldapp'), 0o755);
  await buildOk(root, ctx, ['-t', 'rpm-img:latest']);
}, 300_000);

describe('analyze: rpm database and an old Go binary', () => {
  it('lists rpm packages with version-release, arch, size and the installing layer; the Go 1.16 binary\'s modules', async () => {
    const j = JSON.parse((await cli(['analyze', 'rpm-img', '--format', 'json', '--packages', 'all'], { root })).stdout) as { packages: Pkg[]; packageNotes: string[] };
    const rpm = j.packages.filter((p) => p.ecosystem === 'rpm');
    expect(rpm).toHaveLength(15);
    expect(rpm.find((p) => p.name === 'sc-hello')).toMatchObject({ version: '1.2.3-4.fc40', arch: 'x86_64', bytes: 3021, files: 2, layer: 1 }); // rpm's SIZE for it is 3021 too
    expect(rpm.find((p) => p.name === 'sc-hello')?.instruction).toMatch(/^COPY rootfs\/ \//);
    expect(rpm.find((p) => p.name === 'gcc')).toMatchObject({ version: '13.2.1-1.el9', arch: 'noarch', bytes: 12345, tool: 'compiler' });
    expect(j.packageNotes).toEqual([]);
    const go = j.packages.filter((p) => p.ecosystem === 'go');
    expect(go.map((p) => `${p.name} ${p.version}`).sort()).toEqual(['example.com/old v0.9.0', 'github.com/pkg/errors v0.9.1', 'stdlib go1.16.15']);
    expect(go.every((p) => p.binary === '/usr/local/bin/oldapp' && p.layer === 2)).toBe(true);
    const text = (await cli(['analyze', 'rpm-img'], { root })).stdout;
    expect(text).toMatch(/^rpm\s+gcc\s+13\.2\.1-1\.el9\s+noarch\s+12\.35?kB\s+1\s+/m);
    expect(text).toMatch(/^rpm\s+sc-hello\s+1\.2\.3-4\.fc40\s+x86_64\s+3\.0\d*kB\s+1\s+/m);
  });

  it('compare lists the rpm packages the image adds', async () => {
    const c = JSON.parse((await cli(['compare', 'busybox:latest', 'rpm-img', '--format', 'json'], { root })).stdout) as { packages: Array<{ change: string; ecosystem: string; name: string; b?: string }> };
    const added = c.packages.filter((p) => p.ecosystem === 'rpm' && p.change === 'added');
    expect(added).toHaveLength(15);
    expect(added.find((p) => p.name === 'sc-hello')?.b).toBe('1.2.3-4.fc40');
  });
});
