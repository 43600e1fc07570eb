import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busyboxRootfsTar, isRoot, tmp } from '../../../../test/helpers/index.js';
import { RUNTIMES, hasRuntime } from '../../../../test/helpers/runtimes.js';
import { mountOverlay, type Mounted } from '../../snapshot/index.js';
import { ociConfig, runContainer, startContainer, type ExecSpec } from '../index.js';

let base: string;
let lower: string;
const mounts: Mounted[] = [];

beforeAll(() => {
  if (!isRoot) return;
  base = tmp('sc-exec-');
  lower = join(base, 'lower');
  mkdirSync(lower);
  execFileSync('tar', ['-xf', busyboxRootfsTar(), '-C', lower]);
  chmodSync(lower, 0o755);
  // an image without the usual mount points: they must not leak into the upper
  for (const d of ['proc', 'dev', 'sys']) rmSync(join(lower, d), { recursive: true });
});
afterAll(async () => {
  for (const m of mounts) await m.unmount().catch(() => {});
});

async function overlay(): Promise<Mounted> {
  const m = await mountOverlay([lower], join(tmp('sc-exec-up-'), 'upper'));
  mounts.push(m);
  return m;
}

async function run(spec: Partial<ExecSpec> & { args: string[] }, rootfs?: string) {
  let out = '';
  let err = '';
  const m = rootfs ? undefined : await overlay();
  const r = await runContainer({
    rootfs: rootfs ?? m!.root, env: [], cwd: '/', network: 'none',
    stdout: (b) => (out += b.toString()), stderr: (b) => (err += b.toString()), ...spec,
  });
  return { ...r, out, err, m };
}

/**
 * The upper holds nothing but `allowed`, plus at most an empty copied-up /etc whose metadata equals
 * the lower's (overlayfs copies a dir up when a mount point is created in it; a differ skips it).
 */
function expectNoTrace(upper: string, allowed: string[] = []) {
  const t = upperTree(upper).filter((p) => !allowed.includes(p));
  expect(t.filter((p) => p !== 'etc')).toEqual([]);
  if (t.includes('etc')) {
    const a = statSync(join(upper, 'etc'), { bigint: true });
    const b = statSync(join(lower, 'etc'), { bigint: true });
    expect([a.mtimeNs, a.mode, a.uid]).toEqual([b.mtimeNs, b.mode, b.uid]);
  }
}

function upperTree(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const n of readdirSync(join(dir, rel)).sort()) {
    const r = rel ? `${rel}/${n}` : n;
    out.push(r);
    if (lstatSync(join(dir, r)).isDirectory()) out.push(...upperTree(dir, r));
  }
  return out;
}

for (const runtime of RUNTIMES) describe.skipIf(!isRoot || !hasRuntime(runtime))(`executor (${runtime})`, () => {
  it('runs a command, streams stdout/stderr, returns its exit code', async () => {
    const r = await run({ runtime, args: ['sh', '-c', 'echo out; echo err >&2; exit 7'] });
    expect(r.exitCode).toBe(7);
    expect(r.out).toBe('out\n');
    expect(r.err).toContain('err\n');
  });

  it('127 for a missing command, 126 for a non-executable one', async () => {
    const a = await run({ runtime, args: ['no-such-cmd'] });
    expect(a.exitCode).toBe(127);
    expect(a.err).toContain('executable file not found in $PATH');
    const b = await run({ runtime, args: ['/etc/passwd'] });
    expect(b.exitCode).toBe(126);
  });

  it('env with a default PATH and HOME, cwd created when missing', async () => {
    const r = await run({ runtime, args: ['sh', '-c', 'echo "$FOO|$PATH|$HOME|$(pwd)"'], env: ['FOO=bar baz'], cwd: '/srv/app' });
    expect(r.out).toBe('bar baz|/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin|/root|/srv/app\n');
    expect(statSync(join(r.m!.upper, 'srv/app')).isDirectory()).toBe(true);
  });

  it('USER by name, uid, user:group; supplementary groups from /etc/group', async () => {
    const m = await overlay();
    writeFileSync(join(m.root, 'etc/group'), 'root:x:0:\napp:x:1000:\nstaff:x:50:app\nnogroup:x:65534:\n');
    expect((await run({ runtime, args: ['id'], user: 'app' }, m.root)).out).toBe('uid=1000(app) gid=1000(app) groups=50(staff)\n');
    // an explicit group: no supplementary groups (runc's GetExecUser)
    expect((await run({ runtime, args: ['sh', '-c', 'id -u; id -g; id -G'], user: '1000:50' }, m.root)).out).toBe('1000\n50\n50\n');
    expect((await run({ runtime, args: ['id', '-u'], user: '4242' }, m.root)).out).toBe('4242\n');
    expect((await run({ runtime, args: ['id'], user: 'nobody:app' }, m.root)).out).toContain('uid=65534(nobody) gid=1000(app)');
    await expect(run({ runtime, args: ['id'], user: 'ghost' }, m.root)).rejects.toThrow(/unable to find user ghost/);
  });

  it('proc, dev, hosts, resolv.conf, hostname; none network has only lo', async () => {
    const r = await run({
      runtime, hostname: 'box',
      args: ['sh', '-c', 'hostname; ls /dev | tr "\\n" " "; echo; cat /etc/hosts | grep box; test -e /etc/resolv.conf && echo resolv; echo x > /dev/null && head -c 4 /dev/zero | wc -c; ls /proc/1/ >/dev/null && echo proc; ls /sys/class/net | tr "\\n" " "'],
    });
    expect(r.exitCode).toBe(0);
    const lines = r.out.split('\n');
    expect(lines[0]).toBe('box');
    for (const d of ['null', 'zero', 'full', 'random', 'urandom', 'tty', 'ptmx', 'pts', 'shm']) expect(lines[1]).toContain(d);
    expect(r.out).toContain('127.0.1.1\tbox');
    expect(r.out).toContain('resolv\n');
    expect(r.out).toContain('4\n');
    expect(r.out).toContain('proc\n');
    expect(lines.at(-1)!.trim()).toBe('lo');
  });

  it('leaves no trace of mount points in the overlay upper', async () => {
    const r = await run({ runtime, args: ['sh', '-c', 'echo hi > /tmp/file; echo 1.2.3.4 x >> /etc/hosts'] });
    expect(r.exitCode).toBe(0);
    const t = upperTree(r.m!.upper);
    expect(t).toContain('tmp/file');
    for (const p of ['proc', 'dev', 'sys', 'etc/resolv.conf', 'etc/hosts']) expect(t).not.toContain(p);
    expectNoTrace(r.m!.upper, ['tmp', 'tmp/file']);
  });

  it('bind mounts (ro and rw) and tmpfs, targets cleaned up afterwards', async () => {
    const src = tmp('sc-exec-src-');
    writeFileSync(join(src, 'in'), 'input');
    const rw = tmp('sc-exec-rw-');
    const r = await run({
      runtime,
      mounts: [
        { type: 'bind', source: src, target: '/mnt/src', readonly: true },
        { type: 'bind', source: rw, target: '/out' },
        { type: 'tmpfs', target: '/scratch' },
      ],
      args: ['sh', '-c', 'cat /mnt/src/in; echo; touch /mnt/src/nope 2>/dev/null || echo ro; echo w > /out/w; echo t > /scratch/t; grep -c scratch /proc/mounts'],
    });
    expect(r.out).toBe('input\nro\n1\n');
    expect(readFileSync(join(rw, 'w'), 'utf8')).toBe('w\n');
    expect(existsSync(join(src, 'nope'))).toBe(false);
    expectNoTrace(r.m!.upper);
  });

  it('mounts under /dev land on the container /dev tmpfs', async () => {
    const src = tmp('sc-exec-devsrc-');
    writeFileSync(join(src, 'script'), 'echo from-dev');
    const r = await run({ runtime, mounts: [{ type: 'bind', source: src, target: '/dev/pipes', readonly: true }, { type: 'tmpfs', target: '/dev/scratch' }], args: ['sh', '-c', 'sh /dev/pipes/script; touch /dev/scratch/x && echo ok'] });
    expect(r.err).toBe('');
    expect(r.out).toBe('from-dev\nok\n');
    expectNoTrace(r.m!.upper);
  });

  it('leaves no lines behind in /run/mount/utab (the mounts die with the namespace)', async () => {
    const utab = '/run/mount/utab';
    const lines = () => (existsSync(utab) ? readFileSync(utab, 'utf8').split('\n').filter((l) => l.includes('sc-exec-')).length : 0);
    const before = lines();
    const src = tmp('sc-exec-utab-');
    for (let i = 0; i < 3; i++) {
      const r = await run({ runtime, mounts: [{ type: 'bind', source: src, target: '/mnt/in', readonly: true }, { type: 'tmpfs', target: '/dev/scratch' }], args: ['true'] });
      expect(r.exitCode).toBe(0);
    }
    expect(lines()).toBe(before);
  });

  it('read-only root', async () => {
    const r = await run({ runtime, readOnlyRoot: true, args: ['sh', '-c', 'touch /x 2>/dev/null && echo rw || echo ro; echo ok > /dev/shm/y && echo shm'] });
    expect(r.out).toBe('ro\nshm\n');
  });

  it('a container that traps SIGTERM exits cleanly; one that ignores it is killed after the grace', async () => {
    const m = await overlay();
    let out = '';
    const c = startContainer({ rootfs: m.root, env: [], cwd: '/', network: 'none', runtime, stdout: (b) => (out += b), args: ['sh', '-c', 'trap "echo bye; exit 0" TERM; echo ready; while :; do sleep 0.1; done'] });
    while (!out.includes('ready')) await new Promise((r) => setTimeout(r, 20));
    const r = await c.stop(5000);
    expect(r.exitCode).toBe(0);
    expect(out).toContain('bye');

    out = '';
    const t0 = Date.now();
    const c2 = startContainer({ rootfs: m.root, env: [], cwd: '/', network: 'none', runtime, stdout: (b) => (out += b), args: ['sh', '-c', 'echo ready; exec sleep 60'] });
    while (!out.includes('ready')) await new Promise((r) => setTimeout(r, 20));
    const r2 = await c2.stop(500);
    expect(r2.exitCode).toBe(137);
    expect(Date.now() - t0).toBeLessThan(10_000);
  });

  it('AbortSignal stops the container', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 300);
    const r = await run({ runtime, signal: ac.signal, killGraceMs: 100, args: ['sleep', '30'] });
    expect(r.exitCode).toBe(137);
  });
});

describe.skipIf(!isRoot)('executor: OCI bundle', () => {
  it('config.json follows the runtime spec shape', async () => {
    const m = await overlay();
    let cfg: Record<string, any> | undefined;
    // build a config through a real start so mount points are prepared the same way
    const r = await runContainer({ rootfs: m.root, env: ['A=1'], cwd: '/w', user: 'app', network: 'none', args: ['true'], runtime: 'runc' });
    expect(r.exitCode).toBe(0);
    cfg = ociConfig({
      spec: { rootfs: m.root, env: [], cwd: '/w', network: 'none', args: ['true'], readOnlyRoot: true }, id: 'x', rootfs: m.root, cwd: '/w', env: ['A=1'],
      user: { uid: 1000, gid: 1000, groups: [50], home: '/home/app' }, etc: { dir: '/e', hosts: '/e/hosts', resolv: '/e/resolv.conf' },
      paths: { proc: `${m.root}/proc`, dev: `${m.root}/dev`, sys: `${m.root}/sys`, resolv: `${m.root}/etc/resolv.conf`, hosts: `${m.root}/etc/hosts` }, mounts: [],
    });
    expect(cfg.ociVersion).toMatch(/^1\.0\./);
    expect(cfg.process.user).toEqual({ uid: 1000, gid: 1000, additionalGids: [50] });
    expect(cfg.root).toEqual({ path: m.root, readonly: true });
    expect(cfg.linux.namespaces.map((n: { type: string }) => n.type).sort()).toEqual(['ipc', 'mount', 'network', 'pid', 'uts']);
    expect(cfg.mounts.map((x: { destination: string }) => x.destination)).toContain('/etc/resolv.conf');
  });
});

describe.skipIf(!isRoot)('executor on the native (copying) snapshotter', () => {
  it('a RUN-like change lands in the upper as a diff, without mount-point traces', async () => {
    const prev = process.env.STAGECRAFT_SNAPSHOTTER;
    process.env.STAGECRAFT_SNAPSHOTTER = 'native';
    let m: Mounted;
    try {
      m = await mountOverlay([lower], join(tmp('sc-exec-nat-'), 'upper'));
    } finally {
      if (prev === undefined) delete process.env.STAGECRAFT_SNAPSHOTTER;
      else process.env.STAGECRAFT_SNAPSHOTTER = prev;
    }
    mounts.push(m);
    expect(m.kind).toBe('native');
    const r = await run({ args: ['sh', '-c', 'echo hi > /tmp/file; rm /bin/vi'] }, m.root);
    expect(r.exitCode).toBe(0);
    await m.unmount();
    const t = upperTree(m.upper);
    expect(t).toContain('tmp/file');
    expect(t).toContain('bin/vi');
    expect(lstatSync(join(m.upper, 'bin/vi')).isCharacterDevice()).toBe(true);
    for (const p of ['proc', 'dev', 'sys', 'etc/resolv.conf', 'etc/hosts']) expect(t).not.toContain(p);
  });
});
