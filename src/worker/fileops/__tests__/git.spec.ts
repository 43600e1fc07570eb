import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFiles, parseGitRef, resolveGitCommit } from '../index.js';
import { hashPaths } from '../../context/index.js';
import { dumpTree, tmpDir } from './helpers.js';

describe('parseGitRef (BuildKit dfgitutil forms)', () => {
  it('recognises git sources and splits #ref:subdir and the query form', () => {
    expect(parseGitRef('https://github.com/moby/buildkit.git#v0.13.0:frontend')).toEqual({
      remote: 'https://github.com/moby/buildkit.git',
      ref: 'v0.13.0',
      subdir: 'frontend',
    });
    expect(parseGitRef('git@github.com:moby/buildkit.git')).toEqual({ remote: 'git@github.com:moby/buildkit.git' });
    expect(parseGitRef('ssh://git@h/r.git#main')?.ref).toBe('main');
    expect(parseGitRef('git://h/r#:sub')?.subdir).toBe('sub');
    expect(parseGitRef('https://h/r.git?tag=v1&subdir=d&keep-git-dir=true')).toEqual({
      remote: 'https://h/r.git',
      ref: 'refs/tags/v1',
      subdir: 'd',
      keepGitDir: true,
    });
    expect(parseGitRef('https://h/r.git?checksum=abc123')?.ref).toBe('abc123');
    expect(() => parseGitRef('https://h/r.git?tag=a&branch=b')).toThrow('branch conflicts with tag');
    expect(() => parseGitRef('https://h/r.git?nope=1')).toThrow('unexpected query "nope"');
    // not git: plain URLs, local paths
    expect(parseGitRef('https://h/file.tar.gz')).toBeUndefined();
    expect(parseGitRef('./repo.git')).toBeUndefined();
    expect(parseGitRef('dir/x.git')).toBeUndefined();
  });
});

describe('ADD <git repository>', () => {
  const saved = { ...process.env };
  let repo = '';
  let commit = '';
  const REMOTE = 'https://git.example.invalid/org/repo.git';

  beforeAll(() => {
    const w = tmpDir('sc-git-src-');
    const g = (...a: string[]): string => execFileSync('git', ['-c', 'user.email=t@t', '-c', 'user.name=t', ...a], { cwd: w, encoding: 'utf8' }).trim();
    g('init', '-q', '-b', 'main');
    writeFileSync(join(w, 'README'), 'readme\n');
    mkdirSync(join(w, 'sub'));
    writeFileSync(join(w, 'sub/tool.sh'), '#!/bin/sh\n', { mode: 0o755 });
    g('add', '.');
    g('commit', '-qm', 'one');
    g('tag', 'v1');
    writeFileSync(join(w, 'README'), 'readme v2\n');
    g('commit', '-qam', 'two');
    commit = g('rev-parse', 'v1');
    repo = join(tmpDir('sc-git-bare-'), 'repo.git');
    execFileSync('git', ['clone', '-q', '--bare', w, repo]);
    // route the https remote to the local bare repo (git's own env-based config)
    process.env.GIT_CONFIG_COUNT = '1';
    process.env.GIT_CONFIG_KEY_0 = `url.${repo}.insteadOf`;
    process.env.GIT_CONFIG_VALUE_0 = REMOTE;
  });
  afterAll(() => {
    for (const k of ['GIT_CONFIG_COUNT', 'GIT_CONFIG_KEY_0', 'GIT_CONFIG_VALUE_0']) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });

  it('checks out HEAD and copies its tree, root-owned, without .git', async () => {
    const d = tmpDir();
    await copyFiles({ srcRoot: tmpDir(), destRoot: d, sources: [REMOTE], dest: '/src', add: true });
    expect(dumpTree(d)).toEqual({
      src: 'dir 755 0:0',
      'src/README': 'file 644 0:0 "readme v2\\n"',
      'src/sub': 'dir 755 0:0',
      'src/sub/tool.sh': 'file 755 0:0 "#!/bin/sh\\n"',
    });
  });

  it('a tag and a subdir; --chown applies', async () => {
    const d = tmpDir();
    await copyFiles({ srcRoot: tmpDir(), destRoot: d, sources: [`${REMOTE}#v1:sub`], dest: '/opt/', add: true, chown: '7:7' });
    expect(dumpTree(d)).toEqual({ opt: 'dir 755 7:7', 'opt/tool.sh': 'file 755 7:7 "#!/bin/sh\\n"' });
  });

  it('--keep-git-dir keeps .git; --checksum must match the commit', async () => {
    const d = tmpDir();
    await copyFiles({ srcRoot: tmpDir(), destRoot: d, sources: [`${REMOTE}#v1`], dest: '/r/', add: true, keepGitDir: true, checksum: commit.slice(0, 12) });
    expect(existsSync(join(d, 'r/.git/HEAD'))).toBe(true);
    expect(dumpTree(d)['r/README']).toBe('file 644 0:0 "readme\\n"');
    await expect(copyFiles({ srcRoot: tmpDir(), destRoot: tmpDir(), sources: [`${REMOTE}#v1`], dest: '/r/', add: true, checksum: 'deadbeef' })).rejects.toThrow(
      `expected checksum to match deadbeef, got ${commit}`,
    );
  });

  it('a commit id works as the ref; COPY refuses git; a missing ref fails cleanly', async () => {
    const d = tmpDir();
    await copyFiles({ srcRoot: tmpDir(), destRoot: d, sources: [`${REMOTE}#${commit}`], dest: '/c/', add: true });
    expect(dumpTree(d)['c/README']).toBe('file 644 0:0 "readme\\n"');
    await expect(copyFiles({ srcRoot: tmpDir(), destRoot: tmpDir(), sources: [REMOTE], dest: '/c/' })).rejects.toThrow("source can't be a git ref for COPY");
    await expect(copyFiles({ srcRoot: tmpDir(), destRoot: tmpDir(), sources: [`${REMOTE}#nosuchref`], dest: '/c/', add: true })).rejects.toThrow(/git fetch failed/);
  });

  it('resolveGitCommit names the commit for cache keys; hashPaths uses it', async () => {
    expect(await resolveGitCommit(`${REMOTE}#v1`)).toBe(commit);
    expect(await resolveGitCommit(`${REMOTE}#${commit}`)).toBe(commit);
    expect(await resolveGitCommit(REMOTE)).not.toBe(commit);
    const ctx = tmpDir();
    expect(await hashPaths(ctx, [`${REMOTE}#v1`])).toBe(await hashPaths(ctx, [`${REMOTE}#v1`]));
    expect(await hashPaths(ctx, [`${REMOTE}#v1`])).not.toBe(await hashPaths(ctx, [`${REMOTE}#main`]));
    // unreachable: never the same key twice (no false cache hit)
    const bad = 'https://git.example.invalid/other/none.git';
    expect(await hashPaths(ctx, [bad])).not.toBe(await hashPaths(ctx, [bad]));
  });
});
