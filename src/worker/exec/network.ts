/**
 * Network of a container or RUN step. In: a mode. Out: what the runtime joins, and a `close()`.
 *   - host: the caller's network namespace (rootless: the host's, owned by the initial user
 *     namespace; no port below 1024, no sysfs of its own). No process, no cost.
 *   - none: a fresh network namespace with only `lo` (made by the runtime itself).
 *   - slirp4netns: a network namespace of our own with a tap device that the `slirp4netns` process
 *     (Debian slirp4netns) connects to the host's network in user mode, as rootless Podman and
 *     rootlesskit do: 10.0.2.100/24, gateway 10.0.2.2, DNS forwarder 10.0.2.3, MTU 65520.
 *     `--disable-host-loopback`: the host's 127.0.0.1 (and its loopback-only services) is out of
 *     reach; other host addresses and the outside are reachable. The namespace is bound to a file
 *     (`unshare --net=FILE`) so the runtime can join it (`nsenter --net`, OCI `path`); slirp4netns
 *     gets `--exit-fd`, so it ends with this process even on SIGKILL. Cost: one slirp4netns start
 *     per container (see docs/BENCHMARKS.md) and user-mode TCP/IP for its traffic.
 * The default for `--network default` (`defaultNetwork`): host, as root; rootless, see there.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { findHostBinary, requireHostBinary } from './hostbin.js';
import { privateScratch } from './privatens.js';
import type { NetworkMode } from './types.js';
import { UserError } from '../../util/errors.js';

export const NETWORK_MODES: readonly NetworkMode[] = ['host', 'none', 'slirp4netns'];

/** slirp4netns' fixed addresses (its defaults for 10.0.2.0/24). */
export const SLIRP = { cidr: '10.0.2.0/24', address: '10.0.2.100', gateway: '10.0.2.2', dns: '10.0.2.3', mtu: 65520 } as const;

export interface OpenNetwork {
  mode: NetworkMode;
  /** slirp4netns: the file the network namespace is bound to (the runtime joins it). */
  netns?: string;
  /** Stops slirp4netns and releases the namespace. Idempotent. */
  close(): Promise<void>;
}

/** Parses a user's network mode (`--network`); `default` → undefined (the caller's default). */
export function parseNetworkMode(s: string, what = '--network'): NetworkMode | undefined {
  if (s === 'default' || s === '') return undefined;
  if ((NETWORK_MODES as readonly string[]).includes(s)) return s as NetworkMode;
  throw new UserError(`invalid ${what} ${JSON.stringify(s)} (default, ${NETWORK_MODES.join(', ')})`, { exitCode: 125 });
}

/**
 * `--network default`: host, root or rootless. $STAGECRAFT_NETWORK (host, none, slirp4netns) changes
 * it, e.g. to slirp4netns to keep a rootless build's RUN steps away from the user's loopback
 * services and abstract unix sockets (see docs/ARCHITECTURE.md for the trade-off).
 */
export function defaultNetwork(): NetworkMode {
  const env = process.env.STAGECRAFT_NETWORK;
  return (env && parseNetworkMode(env, 'STAGECRAFT_NETWORK')) || 'host';
}

const noop: OpenNetwork['close'] = async () => {};

/** Prepares `mode` for one container; its scratch files go under `scratchDir` (default: private tmpfs). */
export async function openNetwork(mode: NetworkMode, scratchDir?: string): Promise<OpenNetwork> {
  if (mode !== 'slirp4netns') return { mode, close: noop };
  const slirp = requireHostBinary('slirp4netns', 'slirp4netns');
  const unshare = requireHostBinary('unshare', 'util-linux');
  const dir = scratchDir ? join(scratchDir, `netns-${process.pid}-${Date.now().toString(36)}`) : privateScratch('sc-net-');
  const netns = join(dir, 'net');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(netns, '');
  const release = () => {
    const umount = findHostBinary('umount');
    try {
      if (umount) execFileSync(umount, ['-l', netns], { stdio: 'ignore' });
    } catch {
      /* not bound */
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    execFileSync(unshare, [`--net=${netns}`, 'true'], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    release();
    throw new UserError(`cannot make a network namespace for slirp4netns: ${String((e as { stderr?: Buffer }).stderr ?? (e as Error).message).trim().split('\n')[0]}`, { exitCode: 125 });
  }
  // fd 3: slirp4netns writes "1" once tap0 is up and configured; fd 4: it exits when that pipe closes
  const child = spawn(slirp, ['--configure', `--mtu=${SLIRP.mtu}`, '--disable-host-loopback', '--netns-type=path', '--ready-fd=3', '--exit-fd=4', netns, 'tap0'], {
    stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'],
  });
  let diag = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (diag += d));
  const ready = await new Promise<boolean>((res) => {
    const r = child.stdio[3] as Readable | null;
    r?.once('data', () => res(true));
    child.once('exit', () => res(false));
    child.once('error', (e) => {
      diag += e.message;
      res(false);
    });
  });
  if (!ready) {
    child.kill('SIGKILL');
    release();
    throw new UserError(`slirp4netns did not start: ${diag.trim().split('\n').pop() ?? 'no output'}`, { exitCode: 125 });
  }
  (child.stdio[3] as Readable).destroy();
  // the exit pipe must not keep this process alive; slirp4netns ends when it closes
  for (const s of [child.stdio[2], child.stdio[4]]) (s as unknown as { unref?: () => void } | null)?.unref?.();
  child.unref();
  let closed = false;
  return {
    mode,
    netns,
    async close() {
      if (closed) return;
      closed = true;
      const exited = new Promise<void>((res) => (child.exitCode !== null || child.signalCode !== null ? res() : child.once('exit', () => res())));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      (child.stdio[4] as unknown as { destroy?: () => void } | null)?.destroy?.();
      release();
    },
  };
}
