/**
 * `docker run` semantics that are pure data: Entrypoint/Cmd combination, env merging (-e, --env-file,
 * image Env), -v parsing, workdir/network validation. In: flags + the image config. Out: a
 * ContainerConfig for the record.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { ImageConfig } from '../image/types.js';
import { UserError } from '../util/errors.js';
import { NETWORK_MODES, defaultNetwork, type Mount, type NetworkMode } from '../worker/exec/index.js';

const err = (m: string) => new UserError(m, { exitCode: 125 });

/**
 * Docker's rules: `--entrypoint` replaces the image Entrypoint AND drops the image Cmd; CMD args on
 * the command line replace the image Cmd; the result is Entrypoint ++ Cmd.
 */
export function combineCommand(image: { Entrypoint?: string[] | null; Cmd?: string[] | null }, entrypointFlag: string | undefined, cmdArgs: string[]): { entrypoint: string[]; cmd: string[] } {
  let entrypoint = image.Entrypoint ?? [];
  let cmd = image.Cmd ?? [];
  if (entrypointFlag !== undefined) {
    entrypoint = entrypointFlag === '' ? [] : [entrypointFlag];
    cmd = [];
  }
  if (cmdArgs.length) cmd = cmdArgs;
  return { entrypoint, cmd };
}

function setEnv(env: string[], kv: string): void {
  const key = kv.includes('=') ? kv.slice(0, kv.indexOf('=')) : kv;
  const i = env.findIndex((e) => e === key || e.startsWith(`${key}=`));
  if (i >= 0) env[i] = kv;
  else env.push(kv);
}

/** `KEY=VALUE` sets; a bare `KEY` takes the host's value (dropped when unset), like docker. */
function expand(kv: string): string | undefined {
  if (kv.includes('=')) return kv;
  const v = process.env[kv];
  return v === undefined ? undefined : `${kv}=${v}`;
}

export function parseEnvFile(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw err(`open ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`);
  }
  const out: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/^\s+/, '');
    if (!line || line.startsWith('#')) continue;
    const key = line.split('=')[0]!;
    if (/\s/.test(key)) throw err(`variable '${key}' contains whitespaces`);
    const v = expand(line);
    if (v !== undefined) out.push(v);
  }
  return out;
}

export function mergeEnv(imageEnv: string[] | undefined | null, envFiles: string[], envFlags: string[]): string[] {
  const env = [...(imageEnv ?? [])];
  for (const f of envFiles) for (const kv of parseEnvFile(f)) setEnv(env, kv);
  for (const raw of envFlags) {
    const kv = expand(raw);
    if (kv !== undefined) setEnv(env, kv);
  }
  return env;
}

/** `-v /host:/ctr[:ro|rw]`; the host dir is created when missing (docker does). Named volumes: no. */
export function parseVolume(v: string): Mount {
  const parts = v.split(':');
  if (parts.length < 2 || parts.length > 3) throw err(`invalid volume specification: '${v}'`);
  const [src, target, mode = 'rw'] = parts as [string, string, string?];
  if (!isAbsolute(src) && !src.startsWith('.')) throw err(`named volumes are not supported (use an absolute host path): '${src}'`);
  if (!target.startsWith('/')) throw err(`invalid volume specification: '${v}': destination must be an absolute path`);
  const opts = mode.split(',');
  if (!opts.every((o) => ['ro', 'rw', 'z', 'Z'].includes(o))) throw err(`invalid mode: ${mode}`);
  const source = resolve(src);
  if (!existsSync(source)) mkdirSync(source, { recursive: true });
  return { type: 'bind', source, target, readonly: opts.includes('ro') };
}

/** `--network`: host, none, slirp4netns; default/bridge (and none given) → the worker's default. */
export function parseNetwork(n: string | undefined): NetworkMode {
  if (n === undefined || n === 'default' || n === 'bridge') return defaultNetwork();
  if ((NETWORK_MODES as readonly string[]).includes(n)) return n as NetworkMode;
  throw err(`network ${n} not found (stagecraft supports host, none and slirp4netns)`);
}

export function parseWorkdir(w: string | undefined, image: ImageConfig['config']): string {
  if (w !== undefined) {
    if (!w.startsWith('/')) throw err(`the working directory '${w}' is invalid, it needs to be an absolute path`);
    return w;
  }
  return image?.WorkingDir || '/';
}

export function parseRuntime(r: string | undefined): 'builtin' | 'runc' | 'crun' {
  const v = r ?? process.env.STAGECRAFT_RUNTIME ?? 'builtin';
  if (v === 'builtin' || v === 'runc' || v === 'crun') return v;
  throw err(`unknown runtime ${v} (builtin, runc or crun)`);
}
