/**
 * Containers without a daemon: records in `store.dirs.containers`, `run`/`start -a` through the
 * shared executor on an overlay of the image's layer snapshots, `ps` with Docker's wording, logs,
 * rm, prune. In: a Store and parsed flags. Out: exit codes, records, formatted text.
 */
export { createContainer, startAttached, removeContainer, pruneContainers, readLogs, signalContainer, withLatest, type RunFlags, type AttachIO } from './lifecycle.js';
export { listContainers, findContainer, requireContainer, type ContainerRecord, type ContainerConfig, type ContainerState } from './records.js';
export { formatPs, selectContainers, containerContext, checkPsFormat, statusOf, createdOf, ellipsis, commandOf, PS_HEADER, type PsOptions } from './format.js';
export { combineCommand, mergeEnv, parseVolume } from './spec.js';
export { generateName } from './names.js';
export { containerImageRoots, containerDiskUsage } from './usage.js';
