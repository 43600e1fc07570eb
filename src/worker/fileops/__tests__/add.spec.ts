import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../../util/errors.js';
import { copyFiles, isArchive, urlFileName } from '../index.js';
import { dumpTree, makeTree, tmpDir } from './helpers.js';

/** A context with the same small tree packed every way ADD must recognise. */
function archives(): string {
  const c = makeTree(tmpDir('sc-add-'), { 'p/q/f.txt': 'f', 'p/h.md': 'h', 'p/l': { link: 'h.md' } });
  execFileSync('tar', ['--owner=7', '--group=8', '-cf', 'a.tar', 'p'], { cwd: c });
  execFileSync('sh', ['-c', 'gzip -c a.tar > a.tgz && bzip2 -c a.tar > a.tbz && xz -c a.tar > a.txz && zstd -q -c a.tar > a.tzst'], { cwd: c });
  writeFileSync(join(c, 'fake.tar.gz'), 'not an archive at all');
  execFileSync('sh', ['-c', 'cp a.tgz renamed.bin'], { cwd: c });
  // a tar whose entries try to escape
  execFileSync('sh', ['-c', 'mkdir -p e && ln -s /etc e/etc && tar -cf evil.tar -C e etc && tar -rf evil.tar -C / etc/hostname --transform "s,^etc,etc/..,"'], { cwd: c });
  return c;
}

describe('ADD: local archives are extracted by content', () => {
  const c = archives();
  for (const name of ['a.tar', 'a.tgz', 'a.tbz', 'a.txz', 'a.tzst', 'renamed.bin']) {
    it(`${name} → extracted into dest, ownership from the archive`, async () => {
      expect(await isArchive(join(c, name))).toBe(true);
      const d = tmpDir();
      await copyFiles({ srcRoot: c, destRoot: d, sources: [name], dest: '/t', add: true, resetOwnership: true });
      const t = dumpTree(d);
      expect(t.t).toBe('dir 755 0:0');
      expect(t['t/p/q/f.txt']).toBe('file 644 7:8 "f"');
      expect(t['t/p/l']).toBe('link 777 7:8 -> h.md');
    });
  }

  it('a file that only looks like an archive by name is copied', async () => {
    expect(await isArchive(join(c, 'fake.tar.gz'))).toBe(false);
    const d = tmpDir();
    await copyFiles({ srcRoot: c, destRoot: d, sources: ['fake.tar.gz'], dest: '/t/', add: true, resetOwnership: true });
    expect(dumpTree(d)['t/fake.tar.gz']).toBe('file 644 0:0 "not an archive at all"');
  });

  it('COPY never extracts; ADD --unpack=false neither', async () => {
    const d = tmpDir();
    await copyFiles({ srcRoot: c, destRoot: d, sources: ['a.tgz'], dest: '/t/', resetOwnership: true });
    await copyFiles({ srcRoot: c, destRoot: d, sources: ['a.tar'], dest: '/t/', add: true, unpack: false, resetOwnership: true });
    expect(Object.keys(dumpTree(d)).sort()).toEqual(['t', 't/a.tar', 't/a.tgz']);
  });

  it('archive entries never land outside the destination', async () => {
    const d = tmpDir();
    const before = readFileSync('/etc/hostname', 'utf8');
    await copyFiles({ srcRoot: c, destRoot: d, sources: ['evil.tar'], dest: '/x/', add: true, resetOwnership: true }).catch((e: unknown) => {
      expect(e).toBeInstanceOf(UserError);
    });
    expect(readFileSync('/etc/hostname', 'utf8')).toBe(before);
  });

  it('globs pick archives too', async () => {
    const d = tmpDir();
    await copyFiles({ srcRoot: c, destRoot: d, sources: ['a.t?z'], dest: '/t/', add: true, resetOwnership: true });
    expect(dumpTree(d)['t/p/h.md']).toBe('file 644 7:8 "h"');
  });
});

function fakeFetch(body: string, headers: Record<string, string> = {}, status = 200): { f: typeof fetch; urls: string[] } {
  const urls: string[] = [];
  const f = (async (u: string | URL | Request) => {
    urls.push(String(u));
    return new Response(body, { status, headers });
  }) as typeof fetch;
  return { f, urls };
}

describe('ADD: URLs', () => {
  const body = 'remote content';
  const sum = `sha256:${createHash('sha256').update(body).digest('hex')}`;

  it('downloads to dest/NAME with mode 0600, Last-Modified as mtime, root-owned', async () => {
    const { f, urls } = fakeFetch(body, { 'last-modified': 'Wed, 21 Oct 2015 07:28:00 GMT' });
    const d = tmpDir();
    await copyFiles({ srcRoot: tmpDir(), destRoot: d, sources: ['https://example.com/dl/tool.tar.gz?x=1'], dest: '/opt/', add: true, fetch: f, checksum: sum });
    expect(urls).toEqual(['https://example.com/dl/tool.tar.gz?x=1']);
    expect(dumpTree(d)['opt/tool.tar.gz']).toBe(`file 600 0:0 "${body}"`);
    expect(lstatSync(join(d, 'opt/tool.tar.gz')).mtimeMs).toBe(Date.parse('2015-10-21T07:28:00Z'));
  });

  it('a dest without slash is the file name; --chmod/--chown apply; no name → __unnamed__', async () => {
    const d = tmpDir();
    await copyFiles({ srcRoot: tmpDir(), destRoot: d, sources: ['http://h/x'], dest: '/bin/tool', add: true, fetch: fakeFetch(body).f, chmod: '755', chown: '5:6' });
    await copyFiles({ srcRoot: tmpDir(), destRoot: d, sources: ['http://h/'], dest: '/u/', add: true, fetch: fakeFetch(body).f });
    const t = dumpTree(d);
    expect(t['bin/tool']).toBe(`file 755 5:6 "${body}"`);
    expect(t['u/__unnamed__']).toBe(`file 600 0:0 "${body}"`);
  });

  it('a URL file name can never step out of the destination', async () => {
    expect(urlFileName('http://h/dl/%2e%2e')).toBe('__unnamed__');
    expect(urlFileName('http://h/a%2F..')).toBe('__unnamed__');
    expect(urlFileName('http://h/a%2Fb')).toBe('__unnamed__');
    expect(urlFileName('http://h/x%20y.tgz?q#f')).toBe('x y.tgz');
    const outer = tmpDir();
    const d = join(outer, 'root');
    makeTree(d, { keep: 'k' });
    await copyFiles({ srcRoot: tmpDir(), destRoot: d, sources: ['http://h/%2e%2e'], dest: '/', add: true, fetch: fakeFetch(body).f });
    expect(Object.keys(dumpTree(outer)).sort()).toEqual(['root', 'root/__unnamed__', 'root/keep']);
  });

  it('checksum mismatch and HTTP errors fail before writing', async () => {
    const d = tmpDir();
    const bad = `sha256:${'0'.repeat(64)}`;
    await expect(copyFiles({ srcRoot: tmpDir(), destRoot: d, sources: ['http://h/f'], dest: '/t/', add: true, fetch: fakeFetch(body).f, checksum: bad })).rejects.toThrow(
      `digest mismatch ${sum}: ${bad}`,
    );
    await expect(copyFiles({ srcRoot: tmpDir(), destRoot: d, sources: ['http://h/f'], dest: '/t/', add: true, fetch: fakeFetch('', {}, 404).f })).rejects.toThrow(
      'invalid response status 404',
    );
    expect(dumpTree(d)).toEqual({});
  });

  it('flag and source validation with BuildKit wording', async () => {
    const o = { srcRoot: tmpDir(), destRoot: tmpDir(), dest: '/t/' };
    await expect(copyFiles({ ...o, sources: ['http://h/f'] })).rejects.toThrow("source can't be a URL for COPY");
    await expect(copyFiles({ ...o, sources: ['http://h/f'], checksum: 'sha256:x' })).rejects.toThrow("checksum can't be specified for COPY");
    await expect(copyFiles({ ...o, sources: ['a', 'b'], add: true, checksum: 'sha256:x' })).rejects.toThrow("checksum can't be specified for multiple sources");
    await expect(copyFiles({ ...o, sources: ['a'], add: true, checksum: 'sha256:x' })).rejects.toThrow('checksum requires HTTP(S) or Git sources');
    await expect(copyFiles({ ...o, sources: ['http://h/f'], add: true, checksum: 'md5:x' })).rejects.toThrow('invalid checksum digest format: md5:x');
    await expect(copyFiles({ ...o, sources: ['git@github.com:moby/buildkit.git'] })).rejects.toThrow("source can't be a git ref for COPY");
  });
});

describe('extended attributes', () => {
  it('are copied with the files (capabilities survive a stage-to-stage copy)', async () => {
    const c = makeTree(tmpDir(), { 'bin/ping': 'elf', 'bin/other': 'x' });
    execFileSync('setcap', ['cap_net_raw+ep', join(c, 'bin/ping')]);
    execFileSync('setfattr', ['-n', 'user.note', '-v', 'hi', join(c, 'bin/other')]);
    const d = tmpDir();
    await copyFiles({ srcRoot: c, destRoot: d, sources: ['bin'], dest: '/usr/bin/' });
    expect(execFileSync('getcap', [join(d, 'usr/bin/ping')]).toString()).toContain('cap_net_raw');
    expect(execFileSync('getfattr', ['--only-values', '-n', 'user.note', join(d, 'usr/bin/other')]).toString()).toBe('hi');
  });
});
