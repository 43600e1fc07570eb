/**
 * What every runtime receives: the spec plus everything resolved on the host beforehand (user ids,
 * env with defaults, host paths of mount points inside the rootfs, the etc files).
 */
import type { ExecSpec, Mount } from './types.js';
import type { ExecUser } from './user.js';

export interface Prepared {
  spec: ExecSpec;
  id: string;
  rootfs: string;
  cwd: string;
  env: string[];
  user: ExecUser;
  etc: { dir: string; hosts: string; resolv: string };
  /** Host paths (inside rootfs) of the standard mount points. */
  paths: { proc: string; dev: string; sys: string; resolv: string; hosts: string };
  mounts: { mount: Mount; host: string; kind: 'dir' | 'file' }[];
  /** slirp4netns: the bound network namespace to join (network.ts `openNetwork`). */
  netns?: string;
}
