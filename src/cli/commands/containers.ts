/**
 * Container commands: run, ps, logs, rm, container prune, start, stop. Flag parsing only; the work is
 * in src/containers (records, lifecycle) and src/worker/exec (the executor shared with build).
 * `run` exits with the container's code; stagecraft's own failures exit 125 (like docker).
 */
import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import { Store } from '../../store/index.js';
import {
  createContainer, formatPs, listContainers, pruneContainers, readLogs, removeContainer, requireContainer,
  signalContainer, startAttached, type RunFlags,
} from '../../containers/index.js';
import { humanSize } from '../../image/index.js';
import { UserError, isUserError } from '../../util/errors.js';

const collect = (v: string, prev: string[]): string[] => [...prev, v];

/** stagecraft's own errors during run/start exit 125, like docker's. */
async function as125<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (isUserError(e) && e.exitCode === 1) throw new UserError(e.message, { exitCode: 125 });
    if (!isUserError(e)) throw new UserError(`${e instanceof Error ? e.message : String(e)}`.split('\n')[0]!, { exitCode: 125 });
    throw e;
  }
}

export function register(program: Command): void {
  program.enablePositionalOptions();
  program
    .command('run')
    .description('Run a command in a new container (builtin runtime: namespaces + chroot; or runc/crun)')
    .argument('<image>', 'image name, tag or ID')
    .argument('[command...]', 'command and arguments (replace the image Cmd)')
    .option('--name <name>', 'assign a name to the container')
    .option('--rm', 'remove the container when it exits')
    .option('-e, --env <KEY=VALUE>', 'set an environment variable (KEY alone: take it from this environment)', collect, [])
    .option('--env-file <file>', 'read environment variables from a file', collect, [])
    .option('-w, --workdir <dir>', 'working directory inside the container')
    .option('-u, --user <user[:group]>', 'user name or uid, optionally with group')
    .option('--entrypoint <cmd>', 'override the image Entrypoint (also drops the image Cmd)')
    .option('-v, --volume <host:ctr[:ro]>', 'bind mount a host path', collect, [])
    .option('--network <mode>', 'host (default) or none')
    .option('--read-only', 'mount the root filesystem read-only')
    .option('-t, --tty', 'give the container this terminal')
    .option('-i, --interactive', 'keep stdin open')
    .option('--runtime <runtime>', 'builtin (default), runc or crun')
    .passThroughOptions()
    .action(async (image: string, cmd: string[], o: Omit<RunFlags, 'image' | 'cmd'>) => {
      const code = await as125(async () => {
        const store = await Store.open();
        const rec = await createContainer(store, { ...o, image, cmd });
        return startAttached(store, rec, { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, forwardSignals: true });
      });
      process.exitCode = code;
    });

  program
    .command('ps')
    .description('List containers (running ones; -a for all)')
    .option('-a, --all', 'show all containers')
    .option('-q, --quiet', 'only IDs')
    .option('--no-trunc', 'do not truncate IDs and commands')
    .option('--format <format>', 'table or json', 'table')
    .action(async (o: { all?: boolean; quiet?: boolean; trunc: boolean; format: string }) => {
      if (o.format !== 'table' && o.format !== 'json') throw new UserError(`unsupported --format ${o.format} (table or json)`);
      const store = await Store.open();
      process.stdout.write(formatPs(await listContainers(store), { all: o.all, quiet: o.quiet, format: o.format, noTrunc: !o.trunc }));
    });

  program
    .command('logs')
    .description("Print a container's output (stdout to stdout, stderr to stderr)")
    .argument('<container>', 'name or ID')
    .action(async (ref: string) => {
      const store = await Store.open();
      const rec = await requireContainer(store, ref);
      for (const e of readLogs(store, rec)) (e.stream === 'stderr' ? process.stderr : process.stdout).write(e.data);
    });

  program
    .command('rm')
    .description('Remove containers')
    .argument('<container...>', 'names or IDs')
    .option('-f, --force', 'kill a running container first')
    .action(async (refs: string[], o: { force?: boolean }) => {
      const store = await Store.open();
      let failed = false;
      for (const ref of refs) {
        try {
          await removeContainer(store, ref, !!o.force);
          process.stdout.write(`${ref}\n`);
        } catch (e) {
          if (!isUserError(e)) throw e;
          process.stderr.write(`${e.format()}\n`);
          failed = true;
        }
      }
      if (failed) process.exitCode = 1;
    });

  const container = program.command('container').description('Manage containers');
  container
    .command('prune')
    .description('Remove all stopped containers')
    .option('-f, --force', 'do not prompt (accepted for docker compatibility)')
    .action(async () => {
      const store = await Store.open();
      const r = await pruneContainers(store);
      let out = '';
      if (r.ids.length) out += `Deleted Containers:\n${r.ids.join('\n')}\n\n`;
      out += `Total reclaimed space: ${humanSize(r.bytes)}\n`;
      process.stdout.write(out);
    });
  container
    .command('ls')
    .description('List containers (like ps)')
    .option('-a, --all', 'show all containers')
    .option('-q, --quiet', 'only IDs')
    .action(async (o: { all?: boolean; quiet?: boolean }) => {
      const store = await Store.open();
      process.stdout.write(formatPs(await listContainers(store), o));
    });

  program
    .command('start')
    .description('Start a stopped container again (-a: in the foreground, attached)')
    .argument('<container>', 'name or ID')
    .option('-a, --attach', 'attach stdout/stderr and exit with the container')
    .option('-i, --interactive', 'attach stdin')
    .action(async (ref: string, o: { attach?: boolean; interactive?: boolean }) => {
      const code = await as125(async () => {
        const store = await Store.open();
        const rec = await requireContainer(store, ref);
        if (rec.state.status === 'running') throw new UserError(`container ${rec.name} is already running`);
        if (!o.attach) {
          // no daemon: a detached stagecraft process supervises it; output goes to the log
          const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, 'start', '-a', rec.id], { detached: true, stdio: 'ignore' });
          child.unref();
          process.stdout.write(`${ref}\n`);
          return 0;
        }
        return startAttached(store, rec, { stdout: process.stdout, stderr: process.stderr, stdin: o.interactive ? process.stdin : undefined, forwardSignals: true });
      });
      process.exitCode = code;
    });

  program
    .command('stop')
    .description('Stop running containers: SIGTERM (or the image StopSignal), SIGKILL after the grace')
    .argument('<container...>', 'names or IDs')
    .option('-t, --time <seconds>', 'grace period before SIGKILL', '10')
    .action(async (refs: string[], o: { time: string }) => {
      const store = await Store.open();
      const grace = Number(o.time) * 1000;
      if (!Number.isFinite(grace) || grace < 0) throw new UserError(`invalid --time ${o.time}`);
      for (const ref of refs) {
        const rec = await requireContainer(store, ref);
        const sig = (rec.config.stopSignal && /^SIG[A-Z0-9]+$/.test(rec.config.stopSignal) ? rec.config.stopSignal : 'SIGTERM') as NodeJS.Signals;
        signalContainer(rec, sig);
        const deadline = Date.now() + grace;
        let cur = rec;
        while (cur.state.status === 'running') {
          if (Date.now() >= deadline) {
            signalContainer(cur, 'SIGKILL');
          }
          await new Promise((r) => setTimeout(r, 50));
          const next = (await listContainers(store)).find((c) => c.id === rec.id);
          if (!next) break;
          cur = next;
        }
        process.stdout.write(`${ref}\n`);
      }
    });
}
