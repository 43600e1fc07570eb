/**
 * `stagecraft run / ps / logs / rm / start / container prune`: the seed's workflow without a daemon.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLI, cli, importBusybox, runCli, tmp, busyboxRootfsTar } from './helpers/index.js';
import { canBuild } from './helpers/rootless.js';
import { OCI_RUNTIMES, RUNTIMES, hasRuntime, type Runtime } from './helpers/runtimes.js';

let root: string;

beforeAll(async () => {
  if (!canBuild) return;
  root = tmp('sc-ctr-');
  await importBusybox(root);
  // an image with Entrypoint/Cmd/Env/WorkingDir/User to check docker's combination rules
  await cli(['import', busyboxRootfsTar(), 'ep:1', '--change', 'ENTRYPOINT ["echo", "ep"]', '--change', 'CMD ["default"]'], { root });
  await cli(['import', busyboxRootfsTar(), 'cfg:1', '--change', 'ENV GREETING=hello FROM_IMAGE=1', '--change', 'WORKDIR /srv/app', '--change', 'USER app', '--change', 'CMD ["sh", "-c", "echo $GREETING $(pwd) $(id -un)"]'], { root });
});

const run = (args: string[], opts: { env?: Record<string, string> } = {}) => runCli(args, { root, ...opts });

describe.skipIf(!canBuild)('run / ps / logs / rm (the seed flow)', () => {
  it('run --name prints, ps -a shows Exited (0), logs repeats, rm removes', async () => {
    const r = await run(['run', '--name', 'x', 'busybox', 'echo', 'name', 'cost']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('name cost\n');

    const ps = await run(['ps', '-a']);
    const lines = ps.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^CONTAINER ID\s{3}IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES$/);
    const row = lines.find((l) => l.endsWith(' x'))!;
    expect(row).toMatch(/^[0-9a-f]{12}   busybox   "echo name cost"   .* ago +Exited \(0\) .* ago +x$/);

    expect((await run(['ps'])).stdout).not.toContain(' x\n');
    const logs = await run(['logs', 'x']);
    expect(logs.stdout).toBe('name cost\n');

    const rm = await run(['rm', 'x']);
    expect(rm.code).toBe(0);
    expect(rm.stdout).toBe('x\n');
    expect((await run(['ps', '-a'])).stdout).not.toMatch(/ x$/m);
    expect((await run(['logs', 'x'])).stderr).toContain('No such container: x');
  });

  it('exits with the container code; 127/126 like docker; 125 for its own errors', async () => {
    expect((await run(['run', '--rm', 'busybox', 'sh', '-c', 'exit 42'])).code).toBe(42);
    const nf = await run(['run', '--rm', 'busybox', 'no-such-binary']);
    expect(nf.code).toBe(127);
    expect(nf.stderr).toContain('exec: "no-such-binary": executable file not found in $PATH');
    expect((await run(['run', '--rm', 'busybox', '/etc/passwd'])).code).toBe(126);
    const missing = await run(['run', 'no-such-image']);
    expect(missing.code).toBe(125);
    // as docker run: it says so, tries to pull, and the pull's error is the last line
    const lines = missing.stderr.trim().split('\n');
    expect(lines[0]).toBe("Unable to find image 'no-such-image:latest' locally");
    expect(lines.length).toBe(2);
    expect(missing.stderr).not.toMatch(/internal error|    at /);
  });

  it('refuses a name that is taken, with a clear error', async () => {
    await cli(['run', '--name', 'taken', 'busybox', 'true'], { root });
    const r = await run(['run', '--name', 'taken', 'busybox', 'true']);
    expect(r.code).toBe(125);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^Conflict\. The container name "\/taken" is already in use by container "[0-9a-f]{64}"/);
    await cli(['rm', 'taken'], { root });
  });

  it('generates adjective_noun names', async () => {
    await cli(['run', 'busybox', 'true'], { root });
    const json = (await cli(['ps', '-a', '--format', 'json'], { root })).stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(json[0].Names).toMatch(/^[a-z]+_[a-z]+\d?$/);
    expect(json[0].Status).toMatch(/^Exited \(0\) /);
    expect(json[0].Command).toBe('"true"');
    await cli(['rm', json[0].ID], { root });
  });

  it('--rm removes the container after it exits', async () => {
    const before = (await run(['ps', '-aq'])).stdout;
    const r = await run(['run', '--rm', '--name', 'gone', 'busybox', 'echo', 'bye']);
    expect(r.stdout).toBe('bye\n');
    expect((await run(['ps', '-aq'])).stdout).toBe(before);
  });
});

describe.skipIf(!canBuild)('run: config and flags', () => {
  it('Entrypoint/Cmd combination rules', async () => {
    expect((await run(['run', '--rm', 'ep:1'])).stdout).toBe('ep default\n');
    expect((await run(['run', '--rm', 'ep:1', 'a', 'b'])).stdout).toBe('ep a b\n');
    // --entrypoint drops the image Cmd
    expect((await run(['run', '--rm', '--entrypoint', 'sh', 'ep:1', '-c', 'echo over'])).stdout).toBe('over\n');
    expect((await run(['run', '--rm', '--entrypoint', 'pwd', 'ep:1'])).stdout).toBe('/\n');
  });

  it('start -a runs an exited container again on its own upper layer', async () => {
    await cli(['run', '--name', 'again', 'busybox', 'sh', '-c', 'echo run >> /count; wc -l < /count'], { root });
    const r = await run(['start', '-a', 'again']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('2\n');
    expect((await run(['logs', 'again'])).stdout).toBe('1\n2\n');
    await cli(['rm', 'again'], { root });
  });

  it('start -a still works after the image was removed with rmi -f', async () => {
    await cli(['import', busyboxRootfsTar(), 'doomed:1', '--change', 'CMD ["echo", "still-here"]'], { root });
    await cli(['run', '--name', 'orphan', 'doomed:1'], { root });
    await cli(['rmi', '-f', 'doomed:1'], { root });
    const r = await run(['start', '-a', 'orphan']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('still-here\n');
    await cli(['rm', 'orphan'], { root });
  });

  it('container prune removes stopped containers', async () => {
    await cli(['run', '--name', 'p1', 'busybox', 'sh', '-c', 'head -c 5000 /dev/zero > /blob'], { root });
    const r = await cli(['container', 'prune', '-f'], { root });
    expect(r.stdout).toMatch(/^Deleted Containers:\n([0-9a-f]{64}\n)+\nTotal reclaimed space: 5kB\n$/);
    expect((await run(['ps', '-aq'])).stdout).toBe('');
  });
});


// What the runtime does: the same commands through each one (STAGECRAFT_RUNTIME, like --runtime)
for (const runtime of RUNTIMES) describe.skipIf(!canBuild || !hasRuntime(runtime))(`run: through the runtime (${runtime})`, () => {
  const env = () => ({ ...process.env, STAGECRAFT_ROOT: root, STAGECRAFT_RUNTIME: runtime });
  const run = (args: string[], opts: Parameters<typeof runCli>[1] = {}) => runCli(args, { root, ...opts, env: { STAGECRAFT_RUNTIME: runtime, ...opts.env } });

  it('image Env, WorkingDir, User apply; flags override them', async () => {
    expect((await run(['run', '--rm', 'cfg:1'])).stdout).toBe('hello /srv/app app\n');
    const envFile = join(tmp('sc-envf-'), 'env');
    writeFileSync(envFile, '# comment\nFROM_FILE=f\nGREETING=from-file\nHOST_ONLY\n');
    const r = await run(
      ['run', '--rm', '--env-file', envFile, '-e', 'GREETING=flag', '-e', 'PASSED', '-e', 'UNSET_ANYWHERE', 'cfg:1', 'sh', '-c', 'echo $GREETING $FROM_IMAGE $FROM_FILE $HOST_ONLY $PASSED ${UNSET_ANYWHERE-unset} $HOSTNAME'],
      { env: { PASSED: 'passed', HOST_ONLY: 'host' } },
    );
    expect(r.stdout).toMatch(/^flag 1 f host passed unset \S+\n$/);
    expect((await run(['run', '--rm', '-w', '/tmp/new/dir', '-u', 'root', 'cfg:1', 'sh', '-c', 'pwd; id -u'])).stdout).toBe('/tmp/new/dir\n0\n');
    expect((await run(['run', '--rm', '-u', '1000:0', 'busybox', 'sh', '-c', 'id -u; id -g'])).stdout).toBe('1000\n0\n');
    expect((await run(['run', '--rm', '-u', 'app', 'busybox', 'id'])).stdout).toBe('uid=1000(app) gid=1000(app)\n');
    const bad = await run(['run', '--rm', '-u', 'ghost', 'busybox', 'id']);
    expect(bad.code).toBe(125);
    expect(bad.stderr).toContain('unable to find user ghost');
    const rel = await run(['run', '--rm', '-w', 'rel', 'busybox', 'pwd']);
    expect(rel.code).toBe(125);
  });

  it('volumes: rw and ro bind mounts', async () => {
    const host = tmp('sc-vol-');
    writeFileSync(join(host, 'in.txt'), 'from host');
    const ro = tmp('sc-vol-ro-');
    const r = await run(['run', '--rm', '-v', `${host}:/data`, '-v', `${ro}:/ro:ro`, 'busybox', 'sh', '-c', 'cat /data/in.txt; echo; echo out > /data/out.txt; touch /ro/x 2>/dev/null || echo read-only']);
    expect(r.stdout).toBe('from host\nread-only\n');
    expect(readFileSync(join(host, 'out.txt'), 'utf8')).toBe('out\n');
    expect(existsSync(join(ro, 'x'))).toBe(false);
    const created = join(tmp('sc-vol-new-'), 'made', 'here');
    expect((await run(['run', '--rm', '-v', `${created}:/m`, 'busybox', 'true'])).code).toBe(0);
    expect(existsSync(created)).toBe(true);
  });

  it('-i passes stdin (none without it); -t gives the container the terminal', async () => {
    const i = await run(['run', '--rm', '-i', 'busybox', 'sh'], { input: 'echo from-stdin; exit 4\n' });
    expect(i.stdout).toBe('from-stdin\n');
    expect(i.code).toBe(4);
    expect((await run(['run', '--rm', 'busybox', 'cat'], { input: 'ignored' })).stdout).toBe('');
    // util-linux `script` provides a pseudo-terminal for the CLI
    const t = spawnSync('script', ['-qec', `${process.execPath} ${CLI} run --rm -t busybox sh -c 'test -t 0 && test -t 1 && echo is-a-tty; echo TERM=$TERM'; echo exit=$?`, '/dev/null'], {
      env: env(), encoding: 'utf8', timeout: 30_000,
    });
    // `script` meets EOF on its stdin and types VEOF into the terminal runc and crun put in raw mode;
    // the tty echoes it as ^@ somewhere in the output
    expect(t.stdout.replace(/\r|\^@/g, '')).toContain('is-a-tty\nTERM=xterm\nexit=0\n');
  });

  it('--read-only root, --network none', async () => {
    const r = await run(['run', '--rm', '--read-only', '--network', 'none', 'busybox', 'sh', '-c', 'touch /x 2>/dev/null || echo ro; ls /sys/class/net']);
    expect(r.stdout).toBe('ro\nlo\n');
  });

  it('rm of a running container needs -f', async () => {
    const p = spawn(process.execPath, [CLI, 'run', '--name', 'busy', 'busybox', 'sleep', '30'], { env: env(), stdio: 'ignore' });
    const exited = new Promise<number | null>((res) => p.on('close', (c) => res(c)));
    await waitFor(async () => (await run(['ps'])).stdout.includes('busy'));
    expect((await run(['ps'])).stdout).toMatch(/Up (Less than a second|\d+ seconds?) +busy/);
    const r = await run(['rm', 'busy']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('container is running');
    const f = await run(['rm', '-f', 'busy']);
    expect(f.code).toBe(0);
    expect(await exited).toBe(137);
    expect((await run(['ps', '-a'])).stdout).not.toContain('busy');
  });
});

async function waitFor(fn: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('timed out');
}

for (const runtime of RUNTIMES) describe.skipIf(!canBuild || !hasRuntime(runtime))(`run: signals (${runtime})`, () => {
  const start = (args: string[]) => {
    const p = spawn(process.execPath, [CLI, 'run', '--runtime', runtime, ...args], { env: { ...process.env, STAGECRAFT_ROOT: root }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    const code = new Promise<number | null>((res) => p.on('close', (c) => res(c)));
    return { p, code, out: () => out };
  };

  it('SIGTERM is forwarded: a container that traps it exits cleanly', async () => {
    const c = start(['--rm', 'busybox', 'sh', '-c', 'trap "echo trapped; exit 0" TERM; echo ready; while :; do sleep 0.1; done']);
    await waitFor(async () => c.out().includes('ready'));
    c.p.kill('SIGTERM');
    expect(await c.code).toBe(0);
    expect(c.out()).toContain('trapped');
  });

  it('a container that ignores SIGTERM is killed after the grace (stop -t 1)', async () => {
    const name = `stubborn-${runtime}`;
    const c = start(['--name', name, 'busybox', 'sh', '-c', 'echo ready; exec sleep 60']);
    await waitFor(async () => c.out().includes('ready'));
    const t0 = Date.now();
    const s = await run(['stop', '-t', '1', name]);
    expect(s.code).toBe(0);
    expect(await c.code).toBe(137);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(Date.now() - t0).toBeLessThan(8000);
    expect((await run(['ps', '-a'])).stdout).toMatch(new RegExp(`Exited \\(137\\) .* ${name}`));
    await cli(['rm', name], { root });
  });

  it('Ctrl-C is forwarded; a second Ctrl-C kills', async () => {
    const c = start(['--rm', 'busybox', 'sh', '-c', 'trap "echo got-int" INT; echo ready; while :; do sleep 0.1; done']);
    await waitFor(async () => c.out().includes('ready'));
    c.p.kill('SIGINT');
    await waitFor(async () => c.out().includes('got-int'));
    c.p.kill('SIGINT');
    expect(await c.code).toBe(137);
  });
});

for (const runtime of OCI_RUNTIMES) describe.skipIf(!canBuild || !hasRuntime(runtime))(`run --runtime ${runtime}`, () => {
  const rt = (args: string[]) => run(['run', '--rm', '--runtime', runtime, ...args]);

  it(`runs through an OCI bundle with Debian ${runtime}: output, exit code, user, workdir, env, volume`, async () => {
    const before = (await run(['ps', '-aq'])).stdout;
    const host = tmp(`sc-${runtime}-`);
    mkdirSync(join(host, 'd'), { mode: 0o777 });
    chmodSync(join(host, 'd'), 0o777);
    const r = await rt(['-u', 'app', '-w', '/work', '-e', 'A=1', '-v', `${join(host, 'd')}:/d`, 'busybox', 'sh', '-c', 'id -un; pwd; echo $A; echo hi > /d/f; exit 5']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('app\n/work\n1\n');
    expect(r.code).toBe(5);
    expect(readFileSync(join(host, 'd/f'), 'utf8')).toBe('hi\n');
    expect((await rt(['busybox', 'nope'])).code).toBe(127);
    expect((await rt(['busybox', '/etc/passwd'])).code).toBe(126);
    expect((await run(['ps', '-aq'])).stdout).toBe(before);
  });
});
