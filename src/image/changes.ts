/**
 * `--change` instructions for `import` (like `docker import --change`): Dockerfile-style lines
 * (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR) applied to an
 * image config. Pure.
 */
import { posix } from 'node:path';
import { UserError } from '../util/errors.js';
import { splitWords } from '../dockerfile/shellcmd.js';
import type { ContainerConfig } from './types.js';

function jsonArray(args: string): string[] | undefined {
  const t = args.trim();
  if (!t.startsWith('[')) return undefined;
  try {
    const v = JSON.parse(t) as unknown;
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  } catch {
    /* shell form */
  }
  return undefined;
}

function keyValues(args: string, what: string): [string, string][] {
  const words = splitWords(args);
  if (words.length === 0) throw new UserError(`${what} requires at least one argument`);
  if (!words[0]?.includes('=')) {
    // legacy `ENV KEY value with spaces`
    const m = /^\s*(\S+)\s+(.*)$/s.exec(args);
    if (!m) throw new UserError(`${what} requires a value: ${args}`);
    return [[m[1] as string, (m[2] as string).trim()]];
  }
  return words.map((w) => {
    const eq = w.indexOf('=');
    if (eq <= 0) throw new UserError(`${what}: expected KEY=VALUE, got ${JSON.stringify(w)}`);
    return [w.slice(0, eq), w.slice(eq + 1)];
  });
}

/** Applies one change line to `cfg` (mutated and returned). */
export function applyChange(cfg: ContainerConfig, line: string): ContainerConfig {
  const m = /^\s*(\S+)(?:\s+([\s\S]*))?$/.exec(line);
  if (!m) throw new UserError(`empty --change`);
  const cmd = (m[1] as string).toUpperCase();
  const args = (m[2] ?? '').trim();
  const execOrShell = (): string[] => jsonArray(args) ?? ['/bin/sh', '-c', args];
  switch (cmd) {
    case 'CMD':
      cfg.Cmd = execOrShell();
      break;
    case 'ENTRYPOINT':
      cfg.Entrypoint = execOrShell();
      break;
    case 'ENV': {
      const env = [...(cfg.Env ?? [])];
      for (const [k, v] of keyValues(args, 'ENV')) {
        const i = env.findIndex((e) => e.split('=')[0] === k);
        if (i >= 0) env[i] = `${k}=${v}`;
        else env.push(`${k}=${v}`);
      }
      cfg.Env = env;
      break;
    }
    case 'LABEL':
      cfg.Labels = { ...(cfg.Labels ?? {}) };
      for (const [k, v] of keyValues(args, 'LABEL')) cfg.Labels[k] = v;
      break;
    case 'EXPOSE':
      cfg.ExposedPorts = { ...(cfg.ExposedPorts ?? {}) };
      for (const p of splitWords(args)) {
        if (!/^\d+(-\d+)?(\/(tcp|udp|sctp))?$/i.test(p)) throw new UserError(`invalid port in EXPOSE: ${p}`);
        cfg.ExposedPorts[p.includes('/') ? p.toLowerCase() : `${p}/tcp`] = {};
      }
      break;
    case 'VOLUME':
      cfg.Volumes = { ...(cfg.Volumes ?? {}) };
      for (const v of jsonArray(args) ?? splitWords(args)) cfg.Volumes[v] = {};
      break;
    case 'USER':
      if (!args) throw new UserError('USER requires an argument');
      cfg.User = args;
      break;
    case 'WORKDIR':
      if (!args) throw new UserError('WORKDIR requires an argument');
      cfg.WorkingDir = posix.resolve(cfg.WorkingDir || '/', args);
      break;
    case 'STOPSIGNAL':
      cfg.StopSignal = args;
      break;
    case 'ONBUILD':
      cfg.OnBuild = [...(cfg.OnBuild ?? []), args];
      break;
    default:
      throw new UserError(`${m[1]} is not a valid change command`);
  }
  return cfg;
}
