import { describe, expect, it } from 'vitest';
import { findLeaks } from '../leaks.js';
import type { Attribution, ImageModel, LayerEntry, LayerModel } from '../model.js';
import { diffPackages, findPackages } from '../packages.js';
import { GoBuildInfoScanner, parseGoBuildInfo } from '../goinfo.js';
import { oldGoElf } from '../../../test/helpers/go-elf.js';
import { mergeLayers } from '../tree.js';

const f = (path: string, size: number, content?: string): LayerEntry => ({ path, type: 'file', mode: 0o644, uid: 0, gid: 0, size: content !== undefined && size < 0 ? content.length : size, content });
const t = (path: string, content: string): LayerEntry => f(path, content.length, content);
const layer = (index: number, entries: LayerEntry[], attribution?: Attribution): LayerModel => ({ index, digest: `sha256:${index}`, diffId: '', compressedSize: 0, entries, attribution, createdBy: attribution?.instruction });
const image = (layers: LayerModel[], workingDir?: string): ImageModel => ({ name: 'x', id: 'x', layers, history: [], workingDir });

const stanza = (name: string, version: string, extra = '') => `Package: ${name}\nStatus: install ok installed\nArchitecture: amd64\nVersion: ${version}\nInstalled-Size: 4\n${extra}`;

describe('packages', () => {
  it('dpkg: the installing layer, sizes from .list files, tools and what only they need', () => {
    const base = t('var/lib/dpkg/status', `${stanza('dpkg', '1.21')}\n`);
    const after = `${stanza('dpkg', '1.21')}\n${stanza('npm', '9.2.0', 'Depends: node-semver, nodejs\n')}\n${stanza('node-semver', '7.3')}\n${stanza('nodejs', '18.19')}\n`;
    const img = image([
      layer(0, [base, t('var/lib/dpkg/info/dpkg.list', '/usr/bin/dpkg\n'), f('usr/bin/dpkg', 300)]),
      layer(1, [
        t('var/lib/dpkg/status', after),
        t('var/lib/dpkg/info/npm.list', '/usr/share/nodejs/npm\n/usr/share/nodejs/npm/cli.js\n'),
        t('var/lib/dpkg/info/node-semver.list', '/usr/share/nodejs/semver/index.js\n/usr/share/nodejs/semver/package.json\n'),
        t('var/lib/dpkg/info/nodejs.list', '/usr/bin/node\n'),
        t('var/lib/apt/extended_states', 'Package: node-semver\nArchitecture: amd64\nAuto-Installed: 1\n'),
        f('usr/share/nodejs/npm/cli.js', 5000),
        f('usr/share/nodejs/semver/index.js', 700),
        t('usr/share/nodejs/semver/package.json', JSON.stringify({ name: 'semver', devDependencies: { tap: '1' } })),
        f('usr/share/nodejs/semver/node_modules/tap/index.js', 10),
        f('usr/bin/node', 90000),
      ], { stage: 'stage-0', line: 2, instruction: 'RUN apt-get install -y nodejs npm' }),
    ]);
    const tree = mergeLayers(img.layers);
    const r = findPackages(img, tree);
    const by = Object.fromEntries(r.packages.map((p) => [p.name, p]));
    expect(by.dpkg).toMatchObject({ layer: 0, bytes: 300, stage: 'base image' });
    expect(by.npm).toMatchObject({ layer: 1, bytes: 5000, files: 1, tool: 'package-manager', instruction: 'RUN apt-get install -y nodejs npm', line: 2 });
    expect(by['node-semver'].neededBy).toBe('npm');
    expect(by['node-semver'].bytes).toBeGreaterThan(700);
    expect(by.nodejs.neededBy).toBeUndefined(); // not auto-installed: the user asked for it
    const leaks = findLeaks(tree, { img, packages: r });
    const npm = leaks.find((l) => l.package === 'npm');
    expect(npm).toMatchObject({ kind: 'package-manager', layer: 1, neededPackages: 1, bytes: by.npm.bytes + by['node-semver'].bytes });
    // Debian's vendored module is not the app's: no devDependency from /usr/share/nodejs
    expect(leaks.filter((l) => l.kind === 'dev-dependency')).toEqual([]);
  });

  it('npm: dev flags from the app lockfile (transitive too); pip from dist-info; apk', () => {
    const lock = JSON.stringify({ packages: { '': {}, 'node_modules/typescript': { dev: true }, 'node_modules/undici-types': { dev: true }, 'node_modules/left': {} } });
    const img = image([
      layer(0, [t('lib/apk/db/installed', 'P:musl\nV:1.2.4-r2\nI:600\nF:lib\nR:ld-musl.so\n\nP:gcc\nV:13.2\nI:90000\nF:usr/bin\nR:gcc\n'), f('lib/ld-musl.so', 600), f('usr/bin/gcc', 900)]),
      layer(1, [
        t('app/package.json', JSON.stringify({ devDependencies: { typescript: '5' } })),
        t('app/package-lock.json', lock),
        t('app/node_modules/typescript/package.json', '{"name":"typescript","version":"5.9.3"}'),
        f('app/node_modules/typescript/lib/tsc.js', 8000),
        t('app/node_modules/undici-types/package.json', '{"name":"undici-types","version":"6.0.0"}'),
        t('app/node_modules/left/package.json', '{"name":"left","version":"1.0.0"}'),
        t('usr/lib/python3/site-packages/requests-2.31.0.dist-info/METADATA', 'Name: requests\nVersion: 2.31.0\n'),
        t('usr/lib/python3/site-packages/requests-2.31.0.dist-info/RECORD', 'requests/api.py,sha256=x,120\n'),
        f('usr/lib/python3/site-packages/requests/api.py', 120),
      ], { stage: 'stage-0', line: 3, instruction: 'COPY . /app' }),
    ], '/app');
    const tree = mergeLayers(img.layers);
    const r = findPackages(img, tree);
    const by = Object.fromEntries(r.packages.map((p) => [`${p.ecosystem}:${p.name}`, p]));
    expect(by['npm:typescript']).toMatchObject({ dev: true, layer: 1, version: '5.9.3' });
    expect(by['npm:undici-types'].dev).toBe(true);
    expect(by['npm:left'].dev).toBeUndefined();
    expect(by['pip:requests']).toMatchObject({ version: '2.31.0', bytes: 120 });
    expect(by['apk:gcc']).toMatchObject({ tool: 'compiler', bytes: 900, layer: 0 });
    const leaks = findLeaks(tree, { img, packages: r });
    expect(leaks.filter((l) => l.kind === 'dev-dependency').map((l) => l.what).sort()).toEqual(['typescript (devDependency)', 'undici-types (devDependency)']);
    expect(leaks.find((l) => l.package === 'gcc')).toBeUndefined(); // the base image's, not the build's
    const diff = diffPackages(r.packages, r.packages.filter((p) => p.ecosystem !== 'npm'));
    expect(diff.map((c) => `${c.change} ${c.name}`).sort()).toEqual(['removed left', 'removed typescript', 'removed undici-types']);
  });

  it('Go build info: found while a binary streams by, split across chunks', () => {
    const mod = 'path\texample.com/app\nmod\texample.com/app\tv1.2.3\th1:abc=\ndep\tgolang.org/x/sys\tv0.1.0\th1:def=\n';
    const sentinel = '0123456789abcdef';
    const body = Buffer.concat([Buffer.from([0x7f]), Buffer.from('ELF'), Buffer.alloc(5004, 1), Buffer.from('\xff Go buildinf:', 'latin1'), Buffer.from([8, 2]), Buffer.alloc(16), Buffer.from([8]), Buffer.from('go1.22.1'), Buffer.from([sentinel.length * 2 + mod.length]), Buffer.from(sentinel + mod + sentinel), Buffer.alloc(3000)]);
    const s = new GoBuildInfoScanner();
    for (let i = 0; i < body.length; i += 997) s.push(body.subarray(i, i + 997));
    const bi = parseGoBuildInfo(s.result() as string);
    expect(bi).toEqual({ goVersion: 'go1.22.1', path: 'example.com/app', main: { path: 'example.com/app', version: 'v1.2.3' }, deps: [{ path: 'golang.org/x/sys', version: 'v0.1.0' }] });
    const notElf = new GoBuildInfoScanner();
    notElf.push(Buffer.from('#!/bin/sh\n\xff Go buildinf:', 'latin1'));
    expect(notElf.result()).toBeUndefined();
  });

  it('Go build info before Go 1.18: the header\'s pointers resolved through the ELF segments (64-bit LE, 32-bit BE)', () => {
    const mod = 'path\texample.com/old\nmod\texample.com/old\tv0.9.0\th1:abc=\ndep\tgithub.com/pkg/errors\tv0.9.1\th1:def=\ndep\tgolang.org/x/text\tv0.3.0\n=>\t../text\t\n';
    const want = { goVersion: 'go1.16.15', path: 'example.com/old', main: { path: 'example.com/old', version: 'v0.9.0' }, deps: [{ path: 'github.com/pkg/errors', version: 'v0.9.1' }, { path: 'golang.org/x/text', version: 'v0.3.0 => ../text' }] };
    for (const [is64, bigEndian] of [[true, false], [false, true]]) {
      const body = oldGoElf({ is64, bigEndian, version: 'go1.16.15', mod });
      for (const step of [997, 65536]) {
        const s = new GoBuildInfoScanner();
        for (let i = 0; i < body.length; i += step) s.push(body.subarray(i, i + step));
        expect(parseGoBuildInfo(s.result() as string), `${is64 ? 64 : 32}-bit ${bigEndian ? 'BE' : 'LE'}, chunks of ${step}`).toEqual(want);
      }
    }
    // without the Go note the file is not kept: the old form is recognised, not resolved
    const noNote = oldGoElf({ is64: true, bigEndian: false, version: 'go1.16.15', mod });
    noNote.write('Xx', 0x100 + 12, 'latin1');
    const s = new GoBuildInfoScanner();
    s.push(noNote);
    expect(parseGoBuildInfo(s.result() as string)).toEqual({ goVersion: 'unknown (Go < 1.18, build info not resolved)', path: '', deps: [] });
  });
});
