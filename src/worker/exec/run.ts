/**
 * The executor: ONE implementation behind `build` (RUN) and `run`. `startContainer(spec)` prepares
 * the rootfs (mount points, cwd, user, env), checks the command like execvp (126/127 with Docker's
 * messages), launches the chosen runtime (builtin unshare+chroot, or runc/crun with an OCI bundle)
 * and returns a handle; `runContainer(spec)` = start + wait. Mount points it had to create are
 * removed after exit, so an overlay upper keeps no trace of them.
 */
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { constants } from 'node:os';
import { posix, resolve } from 'node:path';
import { cleanPath } from '../../util/fspath.js';
import { UserError } from '../../util/errors.js';
import { launchBuiltin, type Launched } from './builtin.js';
import { launchOci } from './oci.js';
import { openNetwork, type OpenNetwork } from './network.js';
import { MountPoints, ensureCwd, lookupCommand, makeEtcFiles, removeDir, withDefaultEnv } from './prepare.js';
import type { Prepared } from './prepared.js';
import { writeSink } from './stdio.js';
import type { ExecResult, ExecSpec, RunningContainer } from './types.js';
import { resolveUser } from './user.js';
import { checkMappedUser } from '../../util/userns.js';

const SIGNUM = constants.signals as Record<string, number>;

export async function runContainer(spec: ExecSpec): Promise<ExecResult> {
  const net = await openNetwork(spec.network, spec.scratchDir);
  try {
    return await startContainer(spec, net).wait();
  } finally {
    await net.close();
  }
}

/** Starts `spec`; a slirp4netns network must be opened (`openNetwork`) by the caller and passed as `net`. */
export function startContainer(spec: ExecSpec, net?: OpenNetwork): RunningContainer {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    // the CLI re-runs itself as root of a user namespace (rootless.ts); this is a caller that did not
    throw new UserError('running containers needs root or the rootless user namespace the stagecraft CLI enters by itself', { exitCode: 125 });
  }
  if (!spec.args.length) throw new UserError('no command specified', { exitCode: 125 });
  if (spec.network === 'slirp4netns' && !net?.netns) throw new Error('a slirp4netns container needs its network opened first (openNetwork)');
  const rootfs = resolve(spec.rootfs);
  const cwd = cleanPath(spec.cwd || '/');
  const user = resolveUser(rootfs, spec.user ?? '');
  checkMappedUser(user.uid, user.gid, user.groups, `USER ${spec.user || 'root'}`);
  const env = withDefaultEnv(spec.env, user);
  const id = spec.id ?? `sc-${randomBytes(6).toString('hex')}`;
  const grace = spec.killGraceMs ?? 10_000;

  ensureCwd(rootfs, cwd);
  const failure = lookupCommand(rootfs, spec.args[0], env, cwd, user);
  if (failure) {
    writeSink(spec.stderr, `stagecraft: ${failure.error}\n`);
    const r: ExecResult = { exitCode: failure.exitCode, error: failure.error };
    return { pid: 0, kill() {}, stop: async () => r, wait: async () => r };
  }

  const mp = new MountPoints(rootfs);
  let etc: Prepared['etc'] | undefined;
  let launched: Launched;
  try {
    const paths = {
      proc: mp.ensure('/proc', 'dir', spec.keepSystemDirs),
      dev: mp.ensure('/dev', 'dir', spec.keepSystemDirs),
      sys: mp.ensure('/sys', 'dir', spec.keepSystemDirs),
      resolv: mp.ensure('/etc/resolv.conf', 'file'),
      hosts: mp.ensure('/etc/hosts', 'file'),
    };
    const mounts = (spec.mounts ?? []).map((m) => {
      const target = cleanPath(posix.isAbsolute(m.target) ? m.target : posix.join(cwd, m.target));
      let kind: 'dir' | 'file' = 'dir';
      if (m.type === 'bind') {
        try {
          kind = statKind(m.source);
        } catch {
          throw new UserError(`bind source path does not exist: ${m.source}`, { exitCode: 125 });
        }
      }
      // under /dev the target lives on the container's fresh /dev tmpfs: created there (x-mount.mkdir)
      if (target.startsWith('/dev/')) {
        if (kind === 'file') throw new UserError(`cannot mount a file under /dev: ${target}`, { exitCode: 125 });
        return { mount: m, host: posix.join(paths.dev, target.slice('/dev/'.length)), kind };
      }
      return { mount: m, host: mp.ensure(target, kind), kind };
    });
    etc = makeEtcFiles(spec.hostname ?? '', spec.network, spec.scratchDir);
    const prepared: Prepared = { spec, id, rootfs, cwd, env, user, etc, paths, mounts, netns: net?.netns };
    launched = spec.runtime === 'runc' || spec.runtime === 'crun' ? launchOci(prepared, spec.runtime) : launchBuiltin(prepared);
  } catch (e) {
    mp.cleanup();
    if (etc) removeDir(etc.dir);
    throw e;
  }

  const child = launched.child;
  let killTimer: NodeJS.Timeout | undefined;
  const done: Promise<ExecResult> = new Promise<ExecResult>((res, rej) => {
    let spawnError: Error | undefined;
    child.on('error', (e) => (spawnError = e));
    child.on('close', async (rawCode, rawSig) => {
      const { code, sig } = launched.translate ? launched.translate(rawCode, rawSig) : { code: rawCode, sig: rawSig };
      if (killTimer) clearTimeout(killTimer);
      spec.signal?.removeEventListener('abort', onAbort);
      const setup = await launched.setup;
      await launched.after().catch(() => {});
      mp.cleanup();
      removeDir(etc!.dir);
      if (spawnError) return rej(new UserError(`cannot start the container: ${spawnError.message}`, { exitCode: 125 }));
      if (!setup.ok) {
        const msg = (setup.message.trim() || launched.diagnostics?.().trim() || '').split('\n').filter(Boolean).pop() ?? `runtime exited ${code ?? sig}`;
        return rej(new UserError(`container setup failed: ${msg}`, { exitCode: 125 }));
      }
      if (sig) return res({ exitCode: 128 + (SIGNUM[sig] ?? 0), signal: sig });
      res({ exitCode: code ?? 0 });
    });
  });
  // keep an unhandled rejection from surfacing before the caller awaits wait()
  done.catch(() => {});

  const handle: RunningContainer = {
    pid: child.pid ?? 0,
    kill(sig: NodeJS.Signals = 'SIGTERM') {
      launched.kill(sig);
    },
    stop(graceMs = grace, sig: NodeJS.Signals = 'SIGTERM') {
      launched.kill(sig);
      if (!killTimer) {
        killTimer = setTimeout(() => launched.kill('SIGKILL'), Math.max(0, graceMs));
        killTimer.unref?.();
      }
      return done;
    },
    wait: () => done,
  };
  const onAbort = () => void handle.stop();
  if (spec.signal) {
    if (spec.signal.aborted) onAbort();
    else spec.signal.addEventListener('abort', onAbort, { once: true });
  }
  return handle;
}

function statKind(p: string): 'dir' | 'file' {
  return statSync(p).isDirectory() ? 'dir' : 'file';
}
