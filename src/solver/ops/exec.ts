/**
 * The exec operation: one RUN on a mounted rootfs. In: the dispatched `RunAction` (argv, env, cwd,
 * user, typed mounts, shebang heredoc pipes), the mounts' resolved sources, the step's private work
 * dir. Out: the process ran to exit code 0 in the rootfs (its changes land in the step's overlay
 * upper), or a `StepFailure` worded as BuildKit's ("process ... did not complete successfully").
 * The executor itself is injected (the worker's `runContainer`, or a fake in the engine's tests).
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isUserError } from '../../util/errors.js';
import { goQuote } from '../../util/goquote.js';
import { defaultNetwork, type ExecResult, type ExecSpec, type Mount, type NetworkMode } from '../deps.js';
import type { RunAction } from '../dispatch.js';
import type { MountManager } from '../mounts.js';
import type { VertexHandle } from '../progress.js';
import { StepFailure } from '../results.js';
import type { Source } from '../sources.js';
import type { Step } from '../types.js';

export type Executor = (spec: ExecSpec) => Promise<ExecResult>;

export interface ExecInput {
  action: RunAction;
  /** the step's rootfs (an overlay mount) */
  root: string;
  /** resolved source of each mount that has one (bind, cache from=) */
  sources: Array<Source | undefined>;
  work: string;
  v: VertexHandle;
  step: Step;
  signal: AbortSignal;
  mounts: MountManager;
  executor: Executor;
  /** --build-arg values (BuildKit's predefined proxy ARGs reach RUN without an ARG line) */
  buildArgs: Record<string, string>;
  /** the build's --network */
  network: string;
}

const PROXY = /^(http_proxy|https_proxy|ftp_proxy|no_proxy|all_proxy)$/i;

export async function execRun(inp: ExecInput): Promise<void> {
  const { action, v, step } = inp;
  const env = [...action.env];
  // the proxy ARGs stay out of the cache key (they are not in the action)
  for (const [k, val] of Object.entries(inp.buildArgs)) {
    if (PROXY.test(k) && !env.some((e) => e.startsWith(`${k}=`))) env.push(`${k}=${val}`);
  }
  const prepared = await inp.mounts.prepare(action.mounts, inp.sources, inp.work);
  try {
    env.push(...prepared.env);
    const mounts: Mount[] = [...prepared.mounts];
    let args = action.args;
    if (action.pipes.length) {
      // BuildKit runs a #! heredoc as /dev/pipes/NAME. The executor mounts a fresh tmpfs on
      // /dev after placing user mounts, so the script is bound elsewhere and put in place by
      // the shell; when that is impossible (non-root USER) it runs from where it is bound.
      const pipeDir = join(inp.work, 'pipes');
      await mkdir(pipeDir, { recursive: true });
      const p = action.pipes[0];
      const f = join(pipeDir, p.name);
      await writeFile(f, p.data, { mode: 0o755 });
      await chmod(f, 0o755);
      const bound = `/run/.stagecraft-pipes/${p.name}`;
      mounts.push({ type: 'bind', source: f, target: bound, readonly: true });
      const target = `/dev/pipes/${p.name}`;
      const script = `if mkdir -p /dev/pipes 2>/dev/null && cat ${bound} > ${target} && chmod 0755 ${target}; then exec ${target}; else exec ${bound}; fi`;
      args = [...action.args.slice(0, -1), script];
    }
    // RUN --network=host|none wins; `default` (or none given) is the build's --network, whose own default is defaultNetwork()
    const chosen = (n: string | undefined) => (n === undefined || n === 'default' ? undefined : (n as NetworkMode));
    const net = chosen(action.network) ?? chosen(inp.network) ?? defaultNetwork();
    const proc = `process ${goQuote(action.args.join(' '))} did not complete successfully`;
    const res = await inp
      .executor({
        rootfs: inp.root,
        args,
        env,
        cwd: action.cwd,
        user: action.user,
        network: net,
        mounts,
        stdin: 'ignore',
        stdout: (c: Buffer) => v.log(c.toString()),
        stderr: (c: Buffer) => v.log(c.toString()),
        signal: inp.signal,
        killGraceMs: 1000,
        keepSystemDirs: true,
      })
      .catch((e: unknown) => {
        // the container could not be set up (unknown USER, ...): BuildKit words it as the process failing
        if (isUserError(e)) throw new StepFailure(`${proc}: ${e.message}`, v.name, v.lastLogs(10), step.line, step.endLine);
        throw e;
      });
    if (res.exitCode !== 0) throw new StepFailure(`${proc}: exit code: ${res.exitCode}`, v.name, v.lastLogs(10), step.line, step.endLine);
  } finally {
    await prepared.release();
  }
}
