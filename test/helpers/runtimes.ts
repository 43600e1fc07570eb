/**
 * The executor's runtimes for parameterised specs. runc and crun run only where their binary is
 * installed (a spec over them is skipped, not failed, elsewhere); CI installs both (.ci/run).
 */
import { findHostBinary } from '../../src/worker/exec/hostbin.js';

export type Runtime = 'builtin' | 'runc' | 'crun';
export const OCI_RUNTIMES = ['runc', 'crun'] as const;
export const RUNTIMES = ['builtin', ...OCI_RUNTIMES] as const;

export const hasRuntime = (r: Runtime): boolean => r === 'builtin' || findHostBinary(r) !== undefined;
