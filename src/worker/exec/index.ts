/**
 * Executor public API: ONE implementation used by `build` (RUN) and `run`.
 * In: an ExecSpec (mounted rootfs, argv, env, cwd, user, network, mounts, stdio, runtime).
 * Out: the exit code (Docker semantics), or a handle to signal/stop a running container.
 */
export { runContainer, startContainer } from './run.js';
export type { ExecSpec, ExecResult, Mount, NetworkMode, OutputSink, RunningContainer } from './types.js';
export { NETWORK_MODES, defaultNetwork, openNetwork, parseNetworkMode, type OpenNetwork } from './network.js';
export { resolveUser, type ExecUser } from './user.js';
export { containerCgroupPids, killContainerCgroup, ociConfig, reapCgroups, writeBundle } from './oci.js';
export { DEFAULT_PATH } from './prepare.js';
export { inPrivateMountNs, privateScratch, runInPrivateMountNs, childrenOf, processAlive, processStartTime } from './privatens.js';
