/**
 * Container commands: run, ps, logs, rm, start, stop, and `container prune` (registered under the
 * `container` group by manage.ts, like ps/rm/logs/start/stop/inspect under their docker names).
 * Flag parsing only; the work is in src/containers (records, lifecycle, format) and src/worker/exec
 * (the executor shared with build). `run` exits with the container's code; stagecraft's own
 * failures exit 125 (like docker).
 */
import { spawn } from 'node:child_process';
import { CommanderError, type Command } from 'commander';
import { parseReference, pullImage } from '../../registry/index.js';
import { Store } from '../../store/index.js';
import {
  createContainer, formatPs, listContainers, pruneContainers, readLogs, removeContainer, requireContainer,
  signalContainer, startAttached, withLatest, type ContainerRecord, type RunFlags,
} from '../../containers/index.js';
import { humanSize4 } from '../../util/human.js';
import { UserError, isUserError } from '../../util/errors.js';
import { Filters } from '../../util/filters.js';
import { confirm } from '../io.js';

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
    // docker run: a usage error exits 125, like every failure of docker itself
    .exitOverride((e) => {
      throw e.exitCode === 0 ? e : new CommanderError(125, e.code, e.message);
    })
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
    .option('--network <mode>', 'host (default), none or slirp4netns (a private network with user-mode NAT)')
    .option('--read-only', 'mount the root filesystem read-only')
    .option('-t, --tty', 'give the container this terminal')
    .option('-i, --interactive', 'keep stdin open')
    .option('--runtime <runtime>', 'builtin (default), runc or crun')
    .option('-l, --label <KEY=VALUE>', 'set a label on the container (on top of the image labels)', collect, [])
    .passThroughOptions()
    .action(async (image: string, cmd: string[], o: Omit<RunFlags, 'image' | 'cmd'>) => {
      const code = await as125(async () => {
        const store = await Store.open();
        if (!(await store.resolveImage(image).catch(() => undefined))) {
          // docker run pulls an image it does not have
          const ref = parseReference(image).toString();
          process.stderr.write(`Unable to find image '${withLatest(image)}' locally\n`);
          await pullImage(store, ref);
          process.stderr.write(`Status: Downloaded newer image for ${withLatest(image)}\n`);
        }
        const rec = await createContainer(store, { ...o, image, cmd });
        return startAttached(store, rec, { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, forwardSignals: true });
      });
      process.exitCode = code;
    });

  definePs(program.command('ps'));
  defineLogs(program.command('logs'));
  defineRm(program.command('rm'));
  defineStart(program.command('start'));
  defineStop(program.command('stop'));
}

/** -n/--last: an integer, as docker's flag parsing wants it */
function lastOpt(v: string): number {
  if (!/^[+-]?\d+$/.test(v)) throw new UserError(`invalid argument ${JSON.stringify(v)} for "-n, --last" flag: strconv.ParseInt: parsing ${JSON.stringify(v)}: invalid syntax`, { exitCode: 125 });
  return Number(v);
}

/** `ps` (also `container ls|ps|list`) */
export function definePs(cmd: Command): Command {
  return cmd
    .description('List containers (running ones; -a for all)')
    .option('-a, --all', 'show all containers')
    .option('-q, --quiet', 'only IDs')
    .option('--no-trunc', 'do not truncate IDs and commands')
    .option('-n, --last <n>', 'the n most recently created containers (any state)', lastOpt, -1)
    .option('-l, --latest', 'the most recently created container (any state)')
    .option('--format <format>', "'table', 'table TEMPLATE', 'json' or a Go template ({{.Names}} {{.Status}})")
    .option('-f, --filter <filter>', 'status=created|running|exited, name=, id=, ancestor=, exited=CODE, label=K[=V], before=, since=, network=, volume=', collect, [])
    .action(async (o: { all?: boolean; quiet?: boolean; trunc: boolean; format?: string; last: number; latest?: boolean; filter: string[] }) => {
      const filters = Filters.parse(o.filter);
      const store = await Store.open();
      const recs = await listContainers(store);
      // the daemon's Image: the name a container was created with while it still names that image
      const names = new Map<string, string | undefined>();
      for (const ref of new Set([...recs.map((r) => r.config.image), ...filters.get('ancestor')])) {
        names.set(ref, (await store.resolveImage(ref).catch(() => undefined))?.configDigest);
      }
      const imageOf = (r: ContainerRecord): string => (names.get(r.config.image) === r.config.imageId ? r.config.image : r.config.imageId);
      process.stdout.write(
        formatPs(recs, { all: o.all, quiet: o.quiet, format: o.format, noTrunc: !o.trunc, filters, last: o.last, latest: o.latest, imageOf, resolveImage: (ref) => names.get(ref) }),
      );
    });
}

/** `logs` (also `container logs`) */
export function defineLogs(cmd: Command): Command {
  return cmd
    .description("Print a container's output (stdout to stdout, stderr to stderr)")
    .argument('<container>', 'name or ID')
    .action(async (ref: string) => {
      const store = await Store.open();
      const rec = await requireContainer(store, ref);
      for (const e of readLogs(store, rec)) (e.stream === 'stderr' ? process.stderr : process.stdout).write(e.data);
    });
}

/** `rm` (also `container rm`) */
export function defineRm(cmd: Command): Command {
  return cmd
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
}

/** `container prune`: docker's prompt unless -f, then every stopped container */
export function defineContainerPrune(cmd: Command): Command {
  return cmd
    .description('Remove all stopped containers')
    .option('-f, --force', 'do not prompt for confirmation')
    .action(async (o: { force?: boolean }) => {
      if (!o.force && !(await confirm('WARNING! This will remove all stopped containers.\nAre you sure you want to continue?'))) return;
      const store = await Store.open();
      const r = await pruneContainers(store);
      let out = '';
      if (r.ids.length) out += `Deleted Containers:\n${r.ids.join('\n')}\n\n`;
      out += `Total reclaimed space: ${humanSize4(r.bytes)}\n`;
      process.stdout.write(out);
    });
}

/** `start` (also `container start`) */
export function defineStart(cmd: Command): Command {
  return cmd
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
}

/** `stop` (also `container stop`) */
export function defineStop(cmd: Command): Command {
  return cmd
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

