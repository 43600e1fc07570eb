/**
 * Start-up cost of the CLI (issue 14): a command loads only the code it needs, `build` through the
 * bin starts ONE node (the bin's sh half enters the private mount namespace), and a rebuild that
 * changes nothing writes nothing to the store. The loaded modules are read from a module loader
 * hook; esbuild marks each source module in the bundle with a `// src/...` line, which names them.
 */
import { spawn } from 'node:child_process';
import { readFileSync, readlinkSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CLI, REPO, busyboxRootfsTar, cli, isRoot, runCollect, tmp } from './helpers/index.js';

/** Source modules (src/...) that `node dist/stagecraft.js ARGS` loads. */
async function loadedSources(args: string[], root: string): Promise<{ code: number; stderr: string; sources: Set<string>; files: string[] }> {
  const dir = tmp('sc-loads-');
  const log = join(dir, 'loads.txt');
  writeFileSync(log, '');
  const hooks = join(dir, 'hooks.mjs');
  writeFileSync(
    hooks,
    `import { appendFileSync } from 'node:fs';\nexport async function load(url, context, next) {\n  if (url.startsWith('file:')) appendFileSync(${JSON.stringify(log)}, url + '\\n');\n  return next(url, context);\n}\n`,
  );
  const reg = join(dir, 'register.mjs');
  writeFileSync(reg, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
  const r = await runCollect(process.execPath, ['--import', pathToFileURL(reg).href, CLI, ...args], {
    env: { ...process.env, STAGECRAFT_ROOT: root, STAGECRAFT_NO_PRIVATE_NS: '1' },
  });
  const files = [...new Set(readFileSync(log, 'utf8').split('\n').filter(Boolean))].map((u) => fileURLToPath(u));
  const sources = new Set<string>();
  for (const f of files) for (const m of readFileSync(f, 'utf8').matchAll(/^\/\/ (src\/\S+\.ts)$/gm)) sources.add(m[1] as string);
  return { code: r.code, stderr: r.stderr, sources, files };
}

describe('CLI start-up', () => {
  it('build loads the builder but no analyzer, report, converter or container-management code', async () => {
    const root = tmp('sc-store-');
    const ctx = tmp('sc-ctx-');
    writeFileSync(join(ctx, 'Dockerfile'), 'FROM scratch\nCOPY a /a\n');
    writeFileSync(join(ctx, 'a'), 'a\n');
    const r = await loadedSources(['build', '-q', '-t', 'lazy:1', ctx], root);
    expect(r.code, r.stderr).toBe(0);
    // the hook sees the bundle's own files (else the checks below prove nothing)
    expect(r.files.every((f) => f.startsWith(join(REPO, 'dist')))).toBe(true);
    expect(r.sources).toContain('src/solver/engine.ts');
    expect(r.sources).toContain('src/cli/commands/build.ts');
    const foreign = [...r.sources].filter((s) => /^src\/(analyze|report|convert|containers)\/|^src\/cli\/commands\/(?!build|index)/.test(s));
    expect(foreign).toEqual([]);
  });

  it('--version loads no command module', async () => {
    const r = await loadedSources(['--version'], tmp('sc-store-'));
    expect(r.code).toBe(0);
    expect([...r.sources].filter((s) => s.startsWith('src/cli/commands/') && s !== 'src/cli/commands/index.ts')).toEqual([]);
    expect([...r.sources].some((s) => s.startsWith('src/solver/') || s.startsWith('src/store/'))).toBe(false);
  });

  it('a rebuild that changes nothing writes nothing to the store', async () => {
    const root = tmp('sc-store-');
    const ctx = tmp('sc-ctx-');
    writeFileSync(join(ctx, 'Dockerfile'), 'FROM scratch\nCOPY a /a\nLABEL x=1\n');
    writeFileSync(join(ctx, 'a'), 'a\n');
    const first = (await cli(['build', '-q', '-t', 'noop:1', ctx], { root })).stdout;
    const index = statSync(join(root, 'index.json'));
    const blobs = readdirSync(join(root, 'blobs', 'sha256')).sort();
    // docker's CLI prints the time.Time as Go's Time.String(): `2026-12-06 03:23:31.004409915 +0000 UTC`
    const tagTime = async () => {
      const t = (await cli(['inspect', '-f', '{{.Metadata.LastTagTime}}', 'noop:1'], { root })).stdout.trim();
      expect(t).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d*[1-9])? \+0000 UTC$/);
      return Date.parse(t.replace(' ', 'T').replace(' +0000 UTC', 'Z'));
    };
    const tagged = await tagTime();
    await new Promise((r) => setTimeout(r, 20));
    const again = (await cli(['build', '-q', '-t', 'noop:1', ctx], { root })).stdout;
    expect(again).toBe(first);
    const after = statSync(join(root, 'index.json'));
    // index.json is replaced by rename on every write: same inode and mtime = not written
    expect([after.ino, after.mtimeMs]).toEqual([index.ino, index.mtimeMs]);
    expect(readdirSync(join(root, 'blobs', 'sha256')).sort()).toEqual(blobs);
    // but the image was named again: Docker 26.1 (BuildKit) moves LastTagTime on a fully cached rebuild
    const retagged = await tagTime();
    expect(retagged).toBeGreaterThan(tagged);
    // ... and gc keeps that record while the image is there
    await cli(['image', 'prune', '-f'], { root });
    expect(await tagTime()).toBe(retagged);
    // a second tag is a change: written
    await cli(['build', '-q', '-t', 'noop:1', '-t', 'noop:2', ctx], { root });
    expect(statSync(join(root, 'index.json')).ino).not.toBe(index.ino);
    expect((await cli(['images', '--format', '{{.Tag}}', 'noop'], { root })).stdout.split('\n').filter(Boolean).sort()).toEqual(['1', '2']);
  });

  it.runIf(isRoot)('the bin runs build as root in a private mount namespace with one node process', async () => {
    const root = tmp('sc-store-');
    await cli(['import', busyboxRootfsTar(), 'busybox:latest'], { root });
    const ctx = tmp('sc-ctx-');
    writeFileSync(join(ctx, 'Dockerfile'), 'FROM busybox\nRUN sleep 2\n');
    const env: NodeJS.ProcessEnv = { ...process.env, STAGECRAFT_ROOT: root };
    delete env.STAGECRAFT_NO_PRIVATE_NS;
    delete env.STAGECRAFT_PRIVATE_NS;
    const p = spawn(CLI, ['build', '-q', '--no-cache', ctx], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const done = new Promise<number>((res) => p.on('close', (c) => res(c ?? 1)));
    // the builder: the node process whose argv names this context
    const builders = (): Array<{ pid: number; ppid: number; mnt: string }> => {
      const out = [];
      for (const d of readdirSync('/proc')) {
        if (!/^\d+$/.test(d)) continue;
        try {
          const argv = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
          if (!argv.includes(ctx) || !/(^|\/)node$/.test(readlinkSync(`/proc/${d}/exe`))) continue;
          const ppid = Number(/^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${d}/status`, 'utf8'))?.[1]);
          out.push({ pid: Number(d), ppid, mnt: readlinkSync(`/proc/${d}/ns/mnt`) });
        } catch {
          /* gone */
        }
      }
      return out;
    };
    let seen: ReturnType<typeof builders> = [];
    for (let i = 0; i < 100 && seen.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      seen = builders();
    }
    expect(await done, err).toBe(0);
    expect(seen).toHaveLength(1);
    const [b] = seen;
    // sh exec'd unshare, which exec'd node: the process this test spawned, in its own mount namespace
    expect(b?.pid).toBe(p.pid);
    expect(b?.ppid).toBe(process.pid);
    expect(b?.mnt).not.toBe(readlinkSync('/proc/self/ns/mnt'));
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(root);
  }, 120_000);
});
