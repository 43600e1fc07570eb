/**
 * The standard BuildKit client, `docker buildx`, driven as a child process. In: a builder name
 * (any driver buildx knows: docker, docker-container, remote, kubernetes) and `buildx build`
 * arguments. Out: what the builder is (`inspectBuilder`: driver, status, whether it can export an
 * OCI tarball), the build's progress (`--progress rawjson`, replayed into stagecraft's display)
 * and its exit. Every failure a user can act on is a one-line UserError: no docker CLI, no buildx
 * plugin, an unknown or unreachable builder, a build error. A build is never left running: an
 * abort sends SIGINT (buildx cancels the solve), then SIGKILL after 10 s.
 */
import { spawn } from 'node:child_process';
import { UserError } from '../../util/errors.js';
import type { ProgressSink } from '../../solver/index.js';
import { JsonStreamSplitter, SolveStatusReplay, type SolveStatus } from './rawjson.js';

export interface BuilderInfo {
  name: string;
  driver: string;
  /** `running`, `inactive`, `stopped`, ... as buildx reports the first node */
  status: string;
  endpoint?: string;
  /** the builder can write `--output type=oci` (every driver but docker on the classic image store) */
  ociExport: boolean;
}

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
  enoent?: boolean;
}

function run(cmd: string, args: string[], timeoutMs: number): Promise<Ran> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let p;
    try {
      p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch {
      resolve({ code: 127, stdout, stderr, enoent: true });
      return;
    }
    const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    p.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(t);
      resolve({ code: 127, stdout, stderr: e.message, enoent: e.code === 'ENOENT' });
    });
    p.on('close', (code, sig) => {
      clearTimeout(t);
      resolve({ code: code ?? (sig ? 124 : 1), stdout, stderr: sig && code === null ? `timed out after ${timeoutMs / 1000}s` : stderr });
    });
  });
}

const firstLine = (s: string): string =>
  s
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l !== '') ?? '';

/** `docker` and its buildx plugin are there; else a one-line UserError saying which is missing. */
export async function checkBuildx(): Promise<string> {
  const r = await run('docker', ['buildx', 'version'], 20_000);
  if (r.enoent) throw new UserError('--engine buildkit: the docker CLI is not installed (it needs docker with the buildx plugin)');
  if (r.code !== 0) throw new UserError(`--engine buildkit: docker buildx is not available: ${firstLine(r.stderr) || `exit ${r.code}`}`);
  return firstLine(r.stdout);
}

/** Parses `docker buildx inspect` text. */
export function parseInspect(text: string): { name?: string; driver?: string; status?: string; endpoint?: string } {
  const field = (k: string): string | undefined => new RegExp(`^${k}:\\s*(.*)$`, 'm').exec(text)?.[1]?.trim();
  return { name: field('Name'), driver: field('Driver'), status: field('Status'), endpoint: field('Endpoint') };
}

/**
 * What the builder `name` (default: buildx's current one) is, and whether it answers. Throws a
 * one-line UserError when buildx or the builder is missing or unreachable.
 */
export async function inspectBuilder(name: string | undefined, timeoutMs = 30_000): Promise<BuilderInfo> {
  await checkBuildx();
  const who = name ? `builder "${name}"` : "buildx's current builder";
  let r = await run('docker', ['buildx', 'inspect', ...(name ? [name] : [])], timeoutMs);
  if (r.code !== 0) throw new UserError(`--engine buildkit: ${who}: ${firstLine(r.stderr) || `docker buildx inspect exited ${r.code}`}`);
  let info = parseInspect(r.stdout);
  if (info.status !== 'running') {
    // docker-container / kubernetes builders start on demand; remote ones must answer
    r = await run('docker', ['buildx', 'inspect', '--bootstrap', ...(name ? [name] : [])], timeoutMs);
    if (r.code !== 0) throw new UserError(`--engine buildkit: ${who} is unreachable: ${firstLine(r.stderr) || `status ${info.status ?? 'unknown'}`}`);
    info = parseInspect(r.stdout);
    if (info.status !== 'running') throw new UserError(`--engine buildkit: ${who} is unreachable (status ${info.status ?? 'unknown'})`);
  }
  const driver = info.driver ?? 'unknown';
  let ociExport = driver !== 'docker';
  if (driver === 'docker') {
    // the docker driver exports OCI only with the containerd image store
    const d = await run('docker', ['info', '--format', '{{json .DriverStatus}}'], timeoutMs);
    ociExport = d.code === 0 && d.stdout.includes('io.containerd.snapshotter');
  }
  return { name: info.name ?? name ?? 'default', driver, status: info.status ?? 'unknown', endpoint: info.endpoint, ociExport };
}

/** `docker save REF -o FILE` and `docker rmi REF`: an image the docker driver loaded into the engine. */
export async function saveFromEngine(ref: string, file: string): Promise<void> {
  const r = await run('docker', ['save', ref, '-o', file], 600_000);
  if (r.code !== 0) throw new UserError(`--engine buildkit: docker save ${ref}: ${firstLine(r.stderr)}`);
}

export async function removeFromEngine(ref: string): Promise<void> {
  await run('docker', ['rmi', ref], 60_000);
}

/**
 * Runs `docker buildx build ARGS` (ARGS must hold `--progress rawjson`), replaying BuildKit's
 * progress into `sink`. Resolves when buildx succeeded; throws a one-line UserError (BuildKit's
 * `ERROR: ...` line) when it failed. `signal` aborts: SIGINT, then SIGKILL after 10 s.
 */
export function runBuildx(args: string[], sink: ProgressSink, opts: { signal?: AbortSignal; stdin?: Buffer } = {}): Promise<{ warnings: string[] }> {
  return new Promise((resolve, reject) => {
    const p = spawn('docker', ['buildx', 'build', ...args], { stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    const replay = new SolveStatusReplay(sink);
    const split = new JsonStreamSplitter();
    const text: string[] = [];
    const onText = (lines: string[]): void => {
      for (const l of lines) text.push(l);
    };
    p.stderr?.setEncoding('utf8').on('data', (d: string) => {
      const { objects, lines } = split.feed(d);
      for (const o of objects) replay.apply(o as SolveStatus);
      onText(lines);
    });
    p.stdout?.setEncoding('utf8').on('data', (d: string) => onText(d.split('\n').filter((l) => l.trim())));
    if (opts.stdin && p.stdin) p.stdin.end(opts.stdin);
    let killer: NodeJS.Timeout | undefined;
    const abort = (): void => {
      p.kill('SIGINT');
      killer = setTimeout(() => p.kill('SIGKILL'), 10_000);
    };
    opts.signal?.addEventListener('abort', abort, { once: true });
    p.on('error', (e: NodeJS.ErrnoException) => {
      opts.signal?.removeEventListener('abort', abort);
      reject(new UserError(e.code === 'ENOENT' ? '--engine buildkit: the docker CLI is not installed' : `--engine buildkit: ${e.message}`));
    });
    p.on('close', (code) => {
      if (killer) clearTimeout(killer);
      opts.signal?.removeEventListener('abort', abort);
      onText(split.flush());
      replay.close();
      if (code === 0 && !opts.signal?.aborted) return resolve({ warnings: replay.warnings });
      if (opts.signal?.aborted) return reject(opts.signal.reason instanceof Error ? opts.signal.reason : new UserError('ERROR: failed to solve: canceled'));
      const err = text.find((l) => l.startsWith('ERROR:')) ?? (replay.errors[0] ? `ERROR: failed to solve: ${replay.errors[0].error}` : undefined);
      reject(new UserError(err ?? `ERROR: docker buildx build exited ${code}${text.length ? `: ${text[text.length - 1]}` : ''}`));
    });
  });
}
