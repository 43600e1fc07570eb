/**
 * Container start-to-exit for a busybox `true`: stagecraft's executor vs `runc run` (and `crun run`
 * when crun is installed) on the SAME OCI bundle (one rootfs, one config.json). In-process timings
 * (no node/CLI startup in the executor rows); bench/container-start.sh adds whole-CLI rows with
 * hyperfine. Bare runc/crun are started the way the executor starts them (runtimeCommand: on a
 * hybrid-cgroup host crun runs in a mount namespace without the cgroup2 tree).
 *   npx tsx bench/container-start.ts [RUNS] [BUNDLE_DIR]   → markdown table on stdout
 * With BUNDLE_DIR missing it is created: busybox rootfs (test helper) + `runc spec` patched to run `true`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { busyboxRootfsTar } from '../test/helpers/index.js';
import { findHostBinary } from '../src/worker/exec/hostbin.js';
import { runContainer } from '../src/worker/exec/index.js';
import { runtimeCommand } from '../src/worker/exec/oci.js';

const RUNS = Number(process.argv[2] ?? 20);
const bundle = process.argv[3] ?? join(tmpdir(), 'stagecraft-bench-bundle');

export function prepareBundle(dir: string): void {
  const rootfs = join(dir, 'rootfs');
  if (!existsSync(join(rootfs, 'bin/busybox'))) {
    mkdirSync(rootfs, { recursive: true });
    execFileSync('tar', ['-xf', busyboxRootfsTar(), '-C', rootfs]);
    execFileSync('chmod', ['755', rootfs]);
    // mount points present, so neither runtime has to create them
    for (const f of ['etc/resolv.conf', 'etc/hosts']) if (!existsSync(join(rootfs, f))) writeFileSync(join(rootfs, f), '');
  }
  if (!existsSync(join(dir, 'config.json'))) execFileSync('runc', ['spec'], { cwd: dir });
  const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  cfg.process.args = ['true'];
  cfg.process.terminal = false;
  cfg.root = { path: 'rootfs', readonly: false };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg, null, 2));
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

async function time(fn: () => Promise<void> | void): Promise<number[]> {
  await fn(); // warmup
  const out: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    out.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return out;
}

async function main(): Promise<void> {
  prepareBundle(bundle);
  const rootfs = join(bundle, 'rootfs');
  const check = (code: number | null, what: string) => {
    if (code !== 0) throw new Error(`${what} exited ${code}`);
  };
  const runtimes = (['runc', 'crun'] as const).filter((r) => findHostBinary(r));
  const bare = (r: 'runc' | 'crun') => {
    const [bin, args] = runtimeCommand(r)('run', '--bundle', bundle, 'sc-bench');
    return () => check(spawnSync(bin, args, { stdio: 'ignore' }).status, `${r} run`);
  };
  const executor = (runtime: 'builtin' | 'runc' | 'crun', network: 'host' | 'none' = 'host') => async () =>
    check((await runContainer({ rootfs, args: ['true'], env: [], cwd: '/', network, runtime })).exitCode, `${runtime} via stagecraft`);
  const rows: [string, number[]][] = [];
  for (const r of runtimes) rows.push([`\`${r} run\` (bare ${r}, same bundle)`, await time(bare(r))]);
  rows.push(['stagecraft executor, builtin runtime (unshare + chroot)', await time(executor('builtin'))]);
  rows.push(['stagecraft executor, builtin runtime, --network none', await time(executor('builtin', 'none'))]);
  for (const r of runtimes) rows.push([`stagecraft executor, ${r} runtime (own config.json)`, await time(executor(r))]);
  const base = median(rows[0]![1]);
  const lines = [
    `busybox \`true\`, start to exit, ${RUNS} runs each (after one warmup), median; bundle ${bundle}`,
    '',
    '| command | median ms | min ms | max ms | vs runc run |',
    '|---|---:|---:|---:|---:|',
    ...rows.map(([name, xs]) => `| ${name} | ${median(xs).toFixed(1)} | ${Math.min(...xs).toFixed(1)} | ${Math.max(...xs).toFixed(1)} | ${(median(xs) / base).toFixed(2)}× |`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
