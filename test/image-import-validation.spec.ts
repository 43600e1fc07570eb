/**
 * `import` and `load` check a tarball with the extraction rules before anything is stored: a name
 * climbing out of the root (`../`), a hard link to a file the archive does not hold (`/etc/shadow`),
 * a 0-byte or non-tar file are refused with one line, and no image is created.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, runCli, tmp } from './helpers/index.js';

/** Writes a tar with python's tarfile: entries [name, type ('file'|'link'), linkname?]. */
function tarOf(file: string, entries: [string, 'file' | 'link', string?][]): string {
  const py = `
import sys, json, tarfile, io
t = tarfile.open(sys.argv[1], 'w', format=tarfile.PAX_FORMAT)
for name, kind, link in json.loads(sys.argv[2]):
    i = tarfile.TarInfo(name)
    if kind == 'link':
        i.type = tarfile.LNKTYPE; i.linkname = link; t.addfile(i)
    else:
        i.size = 3; t.addfile(i, io.BytesIO(b'hi\\n'))
t.close()`;
  execFileSync('python3', ['-c', py, file, JSON.stringify(entries.map(([n, k, l]) => [n, k, l ?? '']))]);
  return file;
}

describe('import and load refuse unsafe or invalid tarballs', () => {
  const dir = tmp('sc-impval-');
  const cases: [string, () => string, RegExp][] = [
    ['a ../ entry', () => tarOf(join(dir, 'up.tar'), [['etc/x', 'file'], ['../../escape', 'file']]), /up\.tar: invalid layer: entry "\.\.\/\.\.\/escape" points outside the root/],
    ['a hard link to /etc/shadow', () => tarOf(join(dir, 'hl.tar'), [['etc/passwd', 'link', '/etc/shadow']]), /hl\.tar: invalid layer: hard link "etc\/passwd" to "\/etc\/shadow", which is not in the archive/],
    ['a 0-byte file', () => (writeFileSync(join(dir, 'empty.tar'), ''), join(dir, 'empty.tar')), /empty\.tar: not a valid tar archive/],
    ['a text file', () => (writeFileSync(join(dir, 'text.tar'), 'hello\n'.repeat(200)), join(dir, 'text.tar')), /text\.tar: not a valid tar archive/],
  ];
  it.each(cases)('import refuses %s', async (_what, make, msg) => {
    const root = tmp();
    const r = await runCli(['import', make(), 'bad:1'], { root });
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(msg);
    expect((await cli(['images', '-q'], { root })).stdout).toBe('');
  });

  it('a hard link to an earlier entry of the same archive is fine', async () => {
    const root = tmp();
    const f = tarOf(join(dir, 'ok.tar'), [['etc/shadow', 'file'], ['etc/shadow-', 'link', 'etc/shadow']]);
    expect((await runCli(['import', f, 'ok:1'], { root })).code).toBe(0);
  });

  it('load -i DIR says it is a directory', async () => {
    const r = await runCli(['load', '-i', dir], { root: tmp() });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`${dir} is a directory: load reads an image archive (a docker-archive or OCI layout tarball)\n`);
  });
});
