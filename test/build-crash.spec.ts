/**
 * A build killed with SIGKILL leaves nothing behind: builds are killed at random points of a RUN
 * (with a secret mounted), a COPY of a large file, and the export (at least 20 kills). Then: no
 * process of any of those builds is alive, no mount of the store or the context is in the host's
 * mount table, the secret's bytes are nowhere on disk under the store and TMPDIR, nothing was left
 * in TMPDIR, `system fsck --snapshots` exits 0, and a rebuild gives the correct image. A second case puts what
 * an older version left (an overlay mounted in the host namespace under a dead process's temp dir)
 * in the store: `fsck` and `prune -f` detach and remove it instead of failing with EBUSY.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, lstatSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, REPO, cli, importBusybox, isRoot, runCli, tmp } from './helpers/index.js';

/** Pids (not zombies) whose environment names this store or whose command line holds `marker`. */
function survivors(root: string, marker: string): string[] {
  const out: string[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8').replace(/\0/g, ' ');
      const env = readFileSync(`/proc/${d}/environ`, 'utf8');
      if (cmd.includes(marker) || env.includes(`STAGECRAFT_ROOT=${root}\0`)) out.push(`${d}: ${cmd.slice(0, 120)}`);
    } catch {
      /* gone */
    }
  }
  return out;
}

const storeMounts = (...dirs: string[]) =>
  readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => dirs.some((d) => l.includes(d)));

/** Files under `dir` whose bytes contain `needle`. */
function filesContaining(dir: string, needle: Buffer): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    let names: string[] = [];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(d, n);
      let st;
      try {
        st = lstatSync(p);
      } catch {
        continue;
      }
      if (st.isDirectory()) walk(p);
      else if (st.isFile()) {
        try {
          if (readFileSync(p).includes(needle)) out.push(p);
        } catch {
          /* unreadable */
        }
      }
    }
  };
  walk(dir);
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts a build; resolves when `ready()` (polled) is true or the build ends, then SIGKILLs it after `extraMs`. */
function killBuild(args: string[], env: Record<string, string>, ready: () => boolean, extraMs: number, maxMs: number): Promise<{ killed: boolean; code: number | null; err: string }> {
  return new Promise((res) => {
    const p = spawn(process.execPath, [CLI, ...args], { cwd: REPO, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    let killed = false;
    p.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const t0 = Date.now();
    const poll = setInterval(() => {
      if (ready() || Date.now() - t0 > maxMs) {
        clearInterval(poll);
        setTimeout(() => {
          killed = p.exitCode === null && p.signalCode === null;
          p.kill('SIGKILL');
        }, extraMs);
      }
    }, 20);
    p.on('close', (code) => {
      clearInterval(poll);
      res({ killed, code, err });
    });
  });
}

describe.runIf(isRoot)('a SIGKILLed build leaves nothing behind', () => {
  it('kills during RUN (with a secret), COPY and export: no process, mount, secret or temp file survives; fsck is clean; a rebuild is right', async () => {
    const root = tmp('sc-crash-root-');
    const tmpdir = tmp('sc-crash-tmpdir-');
    const ctx = tmp('sc-crash-ctx-');
    await importBusybox(root);
    const secret = `sc-secret-${randomBytes(12).toString('hex')}`;
    const secretFile = join(tmp('sc-crash-sec-'), 'secret');
    writeFileSync(secretFile, secret);
    // RUN: the secret stays mounted while the step sleeps (317 s: a unique marker)
    writeFileSync(join(ctx, 'Dockerfile.run'), [
      'FROM busybox',
      'ARG NAP=317',
      'RUN --mount=type=secret,id=s,target=/run/secrets/s test -s /run/secrets/s && sleep $NAP; echo ran > /ran',
    ].join('\n'));
    // COPY + export: 48 MiB of incompressible data copied, then rewritten by a RUN, then compressed
    mkdirSync(join(ctx, 'data'));
    for (let i = 0; i < 6; i++) writeFileSync(join(ctx, 'data', `f${i}`), randomBytes(8 << 20));
    writeFileSync(join(ctx, 'Dockerfile.copy'), [
      'FROM busybox',
      'COPY data /data',
      'RUN cat /data/* > /all && echo copied > /copied',
    ].join('\n'));
    const env = { STAGECRAFT_ROOT: root, TMPDIR: tmpdir };
    const runArgs = ['build', '--no-cache', '--progress', 'plain', '-f', join(ctx, 'Dockerfile.run'), '--secret', `id=s,src=${secretFile}`, '-t', 'crash:run', ctx];
    const copyArgs = ['build', '--no-cache', '--progress', 'plain', '-f', join(ctx, 'Dockerfile.copy'), '-t', 'crash:copy', ctx];
    // how long the COPY build takes here: its kills are spread over that window
    const t0 = Date.now();
    await cli(copyArgs, { root, env: { TMPDIR: tmpdir } });
    const copyMs = Date.now() - t0;
    const sleeping = () => survivors(root, 'sleep 317').some((s) => / sleep 317/.test(s) && !s.includes('stagecraft'));
    let kills = 0;
    // a COPY build that finishes before its kill does not count: go on until 22 kills landed (at most 48 tries)
    for (let i = 0; i < 48 && kills < 22; i++) {
      const r = i % 2 === 0
        ? await killBuild(runArgs, env, sleeping, Math.floor(Math.random() * 300), 30_000)
        : await killBuild(copyArgs, env, () => true, Math.floor(copyMs * (0.1 + 0.9 * Math.random())), 0);
      if (r.killed) kills++;
      else expect(r.code, r.err).toBe(0);
      expect(r.err).not.toMatch(/internal error/);
    }
    expect(kills).toBeGreaterThanOrEqual(20);
    // the kernel tears the namespaces down asynchronously: give it a moment
    let alive: string[] = [];
    for (let i = 0; i < 50; i++) {
      alive = survivors(root, 'sleep 317');
      if (!alive.length) break;
      await sleep(100);
    }
    expect(alive).toEqual([]);
    expect(storeMounts(root, ctx)).toEqual([]);
    const needle = Buffer.from(secret);
    expect(filesContaining(root, needle)).toEqual([]);
    expect(filesContaining(tmpdir, needle)).toEqual([]);
    expect(readdirSync(tmpdir)).toEqual([]);
    // --snapshots: no kill left a snapshot that does not hold its layer (they are synced before adoption)
    const f = await runCli(['system', 'fsck', '--snapshots'], { root });
    expect(f.code, f.stdout + f.stderr).toBe(0);
    // rebuilds are right
    await cli(['build', '--progress', 'plain', '-f', join(ctx, 'Dockerfile.run'), '--secret', `id=s,src=${secretFile}`, '--build-arg', 'NAP=0', '-t', 'crash:run', ctx], { root, env: { TMPDIR: tmpdir } });
    expect((await cli(['run', '--rm', 'crash:run', 'sh', '-c', 'cat /ran; ls /tmp'], { root })).stdout).toBe('ran\n');
    await cli(copyArgs, { root, env: { TMPDIR: tmpdir } });
    const sum = (await cli(['run', '--rm', 'crash:copy', 'sh', '-c', 'cat /copied; wc -c < /all'], { root })).stdout;
    expect(sum.split('\n').map((s) => s.trim())).toEqual(['copied', String(48 << 20), '']);
    expect(filesContaining(root, needle)).toEqual([]);
  }, 600_000);

  it('fsck and prune -f detach and remove overlays an older version left mounted in the host namespace', async () => {
    const root = tmp('sc-crash-old-');
    await importBusybox(root);
    // a dead pid's step dir with a live overlay mount in it, as a pre-namespace builder left it
    const dead = 999_999_999;
    for (const cmd of [['system', 'fsck'], ['system', 'prune', '-f']]) {
      const step = join(root, 'tmp', `${dead}-step-${randomBytes(3).toString('hex')}`);
      const m = join(step, 'scratch', '.sc-ovl-x', 'm');
      for (const d of ['lower', 'upper', 'work']) mkdirSync(join(step, d), { recursive: true });
      mkdirSync(m, { recursive: true });
      writeFileSync(join(step, 'lower', 'f'), 'x');
      execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${step}/lower,upperdir=${step}/upper,workdir=${step}/work`, m]);
      expect(storeMounts(step).length).toBe(1);
      const r = await runCli(cmd, { root });
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toContain(`unmounted stale mount ${m}`);
      expect(r.stderr).not.toMatch(/internal error|EBUSY/);
      expect(storeMounts(step)).toEqual([]);
      expect(existsSync(step)).toBe(false);
    }
  });
});
