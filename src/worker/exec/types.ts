/**
 * Types of the executor: an `ExecSpec` (a prepared root filesystem, a command, its environment,
 * user, mounts and stdio) goes in; an `ExecResult` (exit code, Docker-style: 128+N when killed by
 * signal N, 126/127 when the command is not executable / not found) comes out.
 */
import type { Readable, Writable } from 'node:stream';

export type Mount =
  | { type: 'bind'; source: string; target: string; readonly?: boolean }
  | { type: 'tmpfs'; target: string; size?: number /* bytes */; mode?: number };

/** Where a container's output goes: a stream, a callback per chunk, or the parent's fd / nothing. */
export type OutputSink = Writable | ((chunk: Buffer) => void) | 'inherit' | 'ignore';

/** host: the caller's network; none: only lo; slirp4netns: a private network with user-mode NAT (network.ts). */
export type NetworkMode = 'host' | 'none' | 'slirp4netns';

export interface ExecSpec {
  /** A mounted, writable root filesystem (e.g. a merged overlay from `mountOverlay`). */
  rootfs: string;
  /** argv; args[0] is looked up in the container's PATH when it has no slash. */
  args: string[];
  /** `KEY=VALUE` strings. PATH is defaulted like Docker when missing; HOME from /etc/passwd. */
  env: string[];
  /** Absolute container path; created (root-owned, 0755) when missing, like Docker. */
  cwd: string;
  /** '', 'name', 'uid', 'name:group', 'uid:gid' resolved against the rootfs' /etc/passwd and /etc/group. */
  user?: string;
  network: NetworkMode;
  mounts?: Mount[];
  hostname?: string;
  stdin?: Readable | 'inherit' | 'ignore';
  stdout?: OutputSink;
  stderr?: OutputSink;
  /** Give the container the caller's terminal (stdin/stdout/stderr inherited, same process group). */
  tty?: boolean;
  readOnlyRoot?: boolean;
  /** Aborting sends SIGTERM, then SIGKILL after `killGraceMs`. */
  signal?: AbortSignal;
  /** Grace between SIGTERM and SIGKILL for `stop()` and aborts. Default 10 000 ms (docker stop). */
  killGraceMs?: number;
  runtime?: 'builtin' | 'runc' | 'crun';
  /** A container id for the runtime's own bookkeeping (runc state); random when missing. */
  id?: string;
  /**
   * Keep the /dev, /proc and /sys directories created for the container (a build's RUN: BuildKit's
   * layer keeps them); the /etc/hosts, /etc/resolv.conf and mount-target placeholders always go.
   */
  keepSystemDirs?: boolean;
  /**
   * Keep running when the calling process dies (`run`: killing the client leaves the container, as
   * with docker). Default false: the container's processes are killed with the caller, even by a
   * SIGKILL (a build step never outlives its build).
   */
  outlivesCaller?: boolean;
  /** Where the container's scratch files (hosts, resolv.conf, runtime bundle) go; default: `privateScratch`. */
  scratchDir?: string;
}

export interface ExecResult {
  /** The command's exit status; 128+N when killed by signal N; 126/127 not executable/not found. */
  exitCode: number;
  /** Set when the process was killed by a signal, e.g. 'SIGKILL'. */
  signal?: string;
  /** Set when the command could not be started (126/127); the message was also written to stderr. */
  error?: string;
}

/** A started container: send it signals, stop it, wait for it. */
export interface RunningContainer {
  /** Host pid of the runtime process (unshare / runc). */
  readonly pid: number;
  /** Sends `sig` to the container's init process (pid 1 inside). */
  kill(sig?: NodeJS.Signals): void;
  /** SIGTERM (or `sig`), then SIGKILL after `graceMs` (default spec.killGraceMs ?? 10 000). */
  stop(graceMs?: number, sig?: NodeJS.Signals): Promise<ExecResult>;
  /** Resolves when the container exited and every mount point it needed is cleaned up. */
  wait(): Promise<ExecResult>;
}
