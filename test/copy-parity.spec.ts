/**
 * COPY/ADD parity with BuildKit: the same context and the same COPY/ADD steps, once through
 * `DOCKER_BUILDKIT=1 docker build` (FROM scratch, exported with --output type=tar) and once through
 * `copyFiles` into an empty root (as root), or, in the rootless pass of .ci/run, `stagecraft build`
 * exported with --output type=tar (the CLI enters its user namespace: copyFiles needs root). The trees must agree on path, type, mode, owner, link target,
 * content, and the mtime of regular files (whole seconds: sub-second times are rounded by the
 * exporter) (BuildKit's context transfer re-creates symlinks, so
 * their mtimes are transfer times; directories' are build times). Skipped when no Docker engine answers (see
 * ../shared/lab/peer.sh). Flags the lab's BuildKit (Docker 26.1, no labs syntax) cannot parse
 * (--parents, --exclude, symbolic --chmod) are covered by the unit specs instead.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, linkSync, lstatSync, readdirSync, readFileSync, readlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readTar } from '../src/image/index.js';
import { copyFiles, patternMatcher, type CopyOptions } from '../src/worker/fileops/index.js';
import { parseDockerignore } from '../src/worker/context/index.js';
import { makeTree, tmpDir } from '../src/worker/fileops/__tests__/helpers.js';
import { isRoot, runCli } from './helpers/index.js';
import { rootlessPass } from './helpers/rootless.js';

const dockerOk = spawnSync('docker', ['info'], { timeout: 15_000 }).status === 0;

type Step = { line: string; opts: Omit<CopyOptions, 'srcRoot' | 'destRoot' | 'resetOwnership' | 'ignore'> };

const T = 978307200;
function makeContext(): string {
  const c = makeTree(tmpDir('sc-parity-'), {
    'a.txt': { file: 'a', mtime: T },
    // an ordinary user cannot give a file away: the rootless pass' b.txt is its own (COPY resets both)
    'b.txt': { file: 'b', ...(isRoot ? { uid: 1234, gid: 1234 } : {}), mtime: T + 1 },
    'exec.sh': { file: '#!/bin/sh\n', mode: 0o755, mtime: T + 2 },
    'dir/sub/x': { file: 'x', mtime: T + 3 },
    'dir/sublink': { link: 'sub' },
    'dir/.hidden': { file: 'h', mtime: T + 4 },
    dir: { dir: true, mode: 0o700, mtime: T + 5 },
    'dir/sub': { dir: true, mode: 0o750, mtime: T + 6 },
    link: { link: 'a.txt' },
    abslink: { link: '/etc/passwd' },
    shadowlink: { link: '../../../../etc/shadow' },
    'etc/passwd': { file: 'root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n', mtime: T },
    'etc/group': { file: 'root:x:0:\napp:x:1001:\nstaff:x:50:\n', mtime: T },
    'f1.log': { file: '1', mtime: T },
    'f2.log': { file: '2', mtime: T },
    'ign/secret': { file: 's', mtime: T },
    'ign/keep': { file: 'k', mtime: T },
    '.dockerignore': { file: '*.tmp\nign\n!ign/keep\n', mtime: T },
    'junk.tmp': { file: 'j', mtime: T },
    'p/q/r/f.txt': { file: 'f', mtime: T },
    'tree/lnk': { link: '/real' },
    'tree/rel': { link: '../c3/sub' },
    p: { dir: true, mtime: T },
    'p/q': { dir: true, mtime: T },
    'p/q/r': { dir: true, mtime: T },
  });
  linkSync(join(c, 'a.txt'), join(c, 'dir/hard-a'));
  execFileSync('tar', ['--owner=7', '--group=8', '--mtime=@978307200', '-czf', 'arch.tgz', 'p'], { cwd: c });
  execFileSync('tar', ['--owner=7', '--group=8', '--mtime=@978307200', '-cf', 'arch.tar', 'p'], { cwd: c });
  for (const f of ['arch.tgz', 'arch.tar']) utimesSync(join(c, f), T, T);
  return c;
}

const steps: Step[] = [
  { line: 'COPY etc/ /etc/', opts: { sources: ['etc/'], dest: '/etc/' } },
  { line: 'COPY a.txt /c1/new', opts: { sources: ['a.txt'], dest: '/c1/new' } },
  { line: 'COPY a.txt b.txt exec.sh /c2/', opts: { sources: ['a.txt', 'b.txt', 'exec.sh'], dest: '/c2/' } },
  { line: 'COPY dir /c3', opts: { sources: ['dir'], dest: '/c3' } },
  { line: 'COPY dir /c4/', opts: { sources: ['dir'], dest: '/c4/' } },
  { line: 'COPY *.log /c5/', opts: { sources: ['*.log'], dest: '/c5/' } },
  { line: 'COPY *.log /c6', opts: { sources: ['*.log'], dest: '/c6' } },
  { line: 'COPY nomatch* /c7/', opts: { sources: ['nomatch*'], dest: '/c7/' } },
  { line: 'COPY link dir/sublink /c8/', opts: { sources: ['link', 'dir/sublink'], dest: '/c8/' } },
  { line: 'COPY --chown=app dir a.txt /c9/x/y/', opts: { sources: ['dir', 'a.txt'], dest: '/c9/x/y/', chown: 'app' } },
  { line: 'COPY --chown=1000:staff a.txt /c10/', opts: { sources: ['a.txt'], dest: '/c10/', chown: '1000:staff' } },
  { line: 'COPY --chown=nosuch:app a.txt /c11/', opts: { sources: ['a.txt'], dest: '/c11/', chown: 'nosuch:app' } },
  { line: 'COPY --chmod=640 dir exec.sh /c12/', opts: { sources: ['dir', 'exec.sh'], dest: '/c12/', chmod: '640' } },
  { line: 'COPY . /c13/', opts: { sources: ['.'], dest: '/c13/' } },
  { line: 'COPY ign /c14/', opts: { sources: ['ign'], dest: '/c14/' } },
  { line: 'COPY dir/sub/../../a.txt /c15/', opts: { sources: ['dir/sub/../../a.txt'], dest: '/c15/' } },
  { line: 'COPY p/*/r /c16/', opts: { sources: ['p/*/r'], dest: '/c16/' } },
  { line: 'ADD arch.tgz /c17', opts: { sources: ['arch.tgz'], dest: '/c17', add: true } },
  { line: 'ADD arch.tar a.txt /c18/', opts: { sources: ['arch.tar', 'a.txt'], dest: '/c18/', add: true } },
  { line: 'COPY arch.tgz /c19/', opts: { sources: ['arch.tgz'], dest: '/c19/' } },
  { line: 'COPY a.txt /c20/a/\nCOPY b.txt /c20/a/', opts: { sources: ['a.txt'], dest: '/c20/a/' } },
  { line: '', opts: { sources: ['b.txt'], dest: '/c20/a/' } },
  { line: 'COPY dir /c21/\nCOPY dir/sub /c21/', opts: { sources: ['dir'], dest: '/c21/' } },
  { line: '', opts: { sources: ['dir/sub'], dest: '/c21/' } },
  { line: 'COPY [ab].txt /c22/', opts: { sources: ['[ab].txt'], dest: '/c22/' } },
  { line: 'COPY di?/s* /c23/', opts: { sources: ['di?/s*'], dest: '/c23/' } },
  // not `*`: BuildKit 0.13 then fails on tree/lnk, a dangling link INSIDE a matched directory
  // ("/real": not found, its wildcard checksum follows links below matches); we copy the link as is
  { line: 'COPY [a-p]* /c24/', opts: { sources: ['[a-p]*'], dest: '/c24/' } },
  { line: 'COPY .* /c25/', opts: { sources: ['.*'], dest: '/c25/' } },
  { line: 'COPY a.txt /c26/../c27/', opts: { sources: ['a.txt'], dest: '/c26/../c27/' } },
  { line: 'COPY a.txt /c28/.', opts: { sources: ['a.txt'], dest: '/c28/.' } },
  // symlinks already in the destination: followed for the dest path itself, scoped to the root
  { line: 'COPY tree /', opts: { sources: ['tree'], dest: '/' } },
  { line: 'COPY a.txt /lnk/', opts: { sources: ['a.txt'], dest: '/lnk/' } },
  { line: 'COPY b.txt /rel/', opts: { sources: ['b.txt'], dest: '/rel/' } },
  { line: 'COPY exec.sh /rel/x', opts: { sources: ['exec.sh'], dest: '/rel/x' } },
];

type Tree = Record<string, string>;

async function dockerTree(ctx: string, df = ['FROM scratch', ...steps.map((s) => s.line).filter(Boolean)].join('\n') + '\n'): Promise<Tree> {
  const dfPath = join(tmpDir('sc-parity-df-'), 'Dockerfile');
  writeFileSync(dfPath, df);
  const out = join(tmpDir('sc-parity-out-'), 'out.tar');
  execFileSync('docker', ['build', '-q', '--no-cache', '-f', dfPath, '--output', `type=tar,dest=${out}`, ctx], {
    env: { ...process.env, DOCKER_BUILDKIT: '1' },
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: 120_000,
  });
  return tarTree(out);
}

/**
 * The rootless pass' side: `stagecraft build` of the same Dockerfile, exported as a tar. Resolves
 * with the tree, or with the error message BuildKit-style (`failed to solve: ...`).
 */
async function stagecraftBuild(ctx: string, df: string): Promise<{ tree?: Tree; error?: string }> {
  const dfPath = join(tmpDir('sc-parity-df-'), 'Dockerfile');
  writeFileSync(dfPath, df);
  const out = join(tmpDir('sc-parity-out-'), 'out.tar');
  const r = await runCli(['build', '--progress', 'plain', '--no-cache', '-f', dfPath, '--output', `type=tar,dest=${out}`, ctx], { root: tmpDir('sc-parity-store-'), timeoutMs: 120_000 });
  if (r.code !== 0) return { error: (/failed to solve: (.*)/.exec(r.stderr) ?? [])[1] ?? r.stderr };
  return { tree: await tarTree(out) };
}

/** path → "type mode uid:gid [content @mtime | -> target]" of a tar's entries. */
async function tarTree(out: string): Promise<Tree> {
  const tree: Tree = {};
  const links = new Map<string, string>();
  for await (const e of readTar(createReadStream(out) as AsyncIterable<Buffer>)) {
    const name = e.name.replace(/^\.?\//, '').replace(/\/$/, '');
    if (name === '' || name === '.') continue; // the root itself: stagecraft's tar exporter writes `./`, BuildKit's does not
    const mode = (e.mode & 0o7777).toString(8);
    let v: string;
    if (e.type === 'dir') v = `dir ${mode} ${e.uid}:${e.gid}`;
    else if (e.type === 'symlink') v = `link ${e.uid}:${e.gid} -> ${e.linkname}`;
    else if (e.type === 'file' || e.type === 'link') {
      let content: string;
      if (e.type === 'link') content = links.get((e.linkname ?? '').replace(/^\.?\//, '')) ?? '?';
      else {
        const h = createHash('sha256');
        for await (const c of e.body) h.update(c);
        content = h.digest('hex').slice(0, 12);
        links.set(name, content);
      }
      v = `file ${mode} ${e.uid}:${e.gid} ${content} @${e.mtime}`;
    } else v = e.type;
    tree[name] = v;
  }
  return tree;
}

function hostTree(root: string): Tree {
  const out: Tree = {};
  const walk = (dir: string, rel: string): void => {
    for (const n of readdirSync(dir)) {
      const h = join(dir, n);
      const r = rel ? `${rel}/${n}` : n;
      const s = lstatSync(h);
      const mode = (s.mode & 0o7777).toString(8);
      if (s.isDirectory()) {
        out[r] = `dir ${mode} ${s.uid}:${s.gid}`;
        walk(h, r);
      } else if (s.isSymbolicLink()) out[r] = `link ${s.uid}:${s.gid} -> ${readlinkSync(h)}`;
      else out[r] = `file ${mode} ${s.uid}:${s.gid} ${createHash('sha256').update(readFileSync(h)).digest('hex').slice(0, 12)} @${Math.floor(s.mtimeMs / 1000)}`;
    }
  };
  walk(root, '');
  return out;
}

function expectSameTree(got: Tree, want: Tree): void {
  expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
  for (const k of Object.keys(want)) expect(`${k}: ${got[k]}`).toBe(`${k}: ${want[k]}`);
}

describe.skipIf(!dockerOk || !(isRoot || rootlessPass))('COPY/ADD parity with BuildKit (docker build)', () => {
  it('produces the same trees for the same steps', async () => {
    const ctx = makeContext();
    const want = await dockerTree(ctx);
    if (rootlessPass) {
      const df = ['FROM scratch', ...steps.map((s) => s.line).filter(Boolean)].join('\n') + '\n';
      const r = await stagecraftBuild(ctx, df);
      expect(r.error).toBeUndefined();
      return expectSameTree(r.tree!, want);
    }
    const root = tmpDir('sc-parity-root-');
    const ignore = patternMatcher(parseDockerignore(readFileSync(join(ctx, '.dockerignore'), 'utf8')));
    for (const s of steps) await copyFiles({ srcRoot: ctx, destRoot: root, resetOwnership: true, ignore, ...s.opts });
    expectSameTree(hostTree(root), want);
  });

  // stage-to-stage: the source is another root (ownership kept, links scoped to that root)
  const stageSteps: Step[] = [
    { line: 'COPY --chown=5:6 dir /src/d', opts: { sources: ['dir'], dest: '/src/d', chown: '5:6' } },
    { line: 'COPY --chown=7:8 a.txt link abslink /src/', opts: { sources: ['a.txt', 'link', 'abslink'], dest: '/src/', chown: '7:8' } },
    { line: 'COPY b.txt etc /src/', opts: { sources: ['b.txt', 'etc'], dest: '/src/' } },
  ];
  const finalSteps: Step[] = [
    { line: 'COPY --from=s /src /t1/', opts: { sources: ['/src'], dest: '/t1/' } },
    { line: 'COPY --from=s /src/d/sublink /t2/', opts: { sources: ['/src/d/sublink'], dest: '/t2/' } },
    { line: 'COPY --from=s /src/link /t3', opts: { sources: ['/src/link'], dest: '/t3' } },
    { line: 'COPY --from=s /src/d/sub/* /src/*.txt /t4/', opts: { sources: ['/src/d/sub/*', '/src/*.txt'], dest: '/t4/' } },
    { line: 'COPY --from=s --chown=9 /src/d /t5/', opts: { sources: ['/src/d'], dest: '/t5/', chown: '9' } },
    { line: 'COPY --from=s --chmod=600 /src/d/ /t6', opts: { sources: ['/src/d/'], dest: '/t6', chmod: '600' } },
  ];

  it('stage-to-stage copies keep ownership and follow links inside the stage root', async () => {
    const ctx = makeContext();
    const df = [
      'FROM scratch AS s',
      ...stageSteps.map((s) => s.line),
      'FROM scratch',
      ...finalSteps.map((s) => s.line),
    ].join('\n');
    const want = await dockerTree(ctx, `${df}\n`);
    if (rootlessPass) {
      const r = await stagecraftBuild(ctx, `${df}\n`);
      expect(r.error).toBeUndefined();
      return expectSameTree(r.tree!, want);
    }
    const ignore = patternMatcher(parseDockerignore(readFileSync(join(ctx, '.dockerignore'), 'utf8')));
    const stage = tmpDir('sc-parity-stage-');
    for (const s of stageSteps) await copyFiles({ srcRoot: ctx, destRoot: stage, resetOwnership: true, ignore, ...s.opts });
    const root = tmpDir('sc-parity-root-');
    for (const s of finalSteps) await copyFiles({ srcRoot: stage, destRoot: root, ...s.opts });
    expectSameTree(hostTree(root), want);
  });

  // failures: BuildKit's message must end with ours (it prefixes ref ids and host mount paths)
  const failures: { name: string; df: string[]; steps: Step['opts'][]; msg: RegExp }[] = [
    { name: 'missing source', df: ['COPY missing /t/'], steps: [{ sources: ['missing'], dest: '/t/' }], msg: /"\/missing": not found$/ },
    { name: 'link escaping the context', df: ['COPY shadowlink /t/'], steps: [{ sources: ['shadowlink'], dest: '/t/' }], msg: /"\/etc\/shadow": not found$/ },
    { name: 'dir onto a file', df: ['COPY a.txt /t/f', 'COPY dir /t/f'], steps: [{ sources: ['a.txt'], dest: '/t/f' }, { sources: ['dir'], dest: '/t/f' }], msg: /cannot copy to non-directory: .*\/t\/f$/ },
    { name: 'file onto a dir', df: ['COPY dir /t/a.txt/', 'COPY a.txt /t/'], steps: [{ sources: ['dir'], dest: '/t/a.txt/' }, { sources: ['a.txt'], dest: '/t/' }], msg: /cannot replace to directory .*\/t\/a\.txt with file$/ },
    { name: 'missing directory before a wildcard', df: ['COPY nodir/* /t/'], steps: [{ sources: ['nodir/*'], dest: '/t/' }], msg: /lstat .*\/nodir: no such file or directory$/ },
    { name: 'parent is a file', df: ['COPY a.txt /t/a', 'COPY b.txt /t/a/'], steps: [{ sources: ['a.txt'], dest: '/t/a' }, { sources: ['b.txt'], dest: '/t/a/' }], msg: /mkdir .*\/t\/a: not a directory$/ },
  ];
  for (const f of failures) {
    it(`fails like BuildKit: ${f.name}`, async () => {
      const ctx = makeContext();
      const dfPath = join(tmpDir('sc-parity-df-'), 'Dockerfile');
      writeFileSync(dfPath, ['FROM scratch', ...f.df].join('\n') + '\n');
      const r = spawnSync('docker', ['build', '--no-cache', '--progress=plain', '-f', dfPath, '--output', 'type=tar,dest=/dev/null', ctx], {
        env: { ...process.env, DOCKER_BUILDKIT: '1' },
        encoding: 'utf8',
        timeout: 120_000,
      });
      expect(r.status).not.toBe(0);
      const theirs = (/ERROR: failed to solve: (.*)/.exec(r.stderr) ?? [])[1] ?? r.stderr;
      const root = tmpDir('sc-parity-root-');
      const ignore = patternMatcher(parseDockerignore(readFileSync(join(ctx, '.dockerignore'), 'utf8')));
      let ours = '';
      if (rootlessPass) ours = (await stagecraftBuild(ctx, ['FROM scratch', ...f.df].join('\n') + '\n')).error ?? '';
      else {
        try {
          for (const s of f.steps) await copyFiles({ srcRoot: ctx, destRoot: root, resetOwnership: true, ignore, ...s });
        } catch (e) {
          ours = (e as Error).message;
        }
      }
      expect(theirs).toMatch(f.msg);
      expect(ours).toMatch(f.msg);
      // theirs names host paths (…/overlay2/ID/merged/t/f) and ref ids; compare what the user can act on
      const norm = (m: string): string => m.replace(/\/\S*\/(merged|buildkit-mount\d+)(?=\/)/g, '').replace(/ref [^:]+::[^:]+:/, 'ref:');
      expect(norm(ours)).toBe(norm(theirs));
    });
  }
});
