/**
 * `stagecraft pull|push|login|logout`: flags in, calls into `src/registry/` out. No logic here.
 */
import type { Command } from 'commander';
import { createInterface } from 'node:readline';
import { UserError } from '../../util/errors.js';
import { Store } from '../../store/index.js';
import { createProgress, login, logout, pull, pushImage, silentProgress } from '../../registry/index.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

function prompt(question: string, hidden: boolean): Promise<string> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    if (hidden) {
      const out = rl as unknown as { _writeToOutput: (s: string) => void };
      out._writeToOutput = (s: string) => {
        if (s.startsWith(question)) process.stderr.write(question);
      };
    }
    rl.question(question, (a) => {
      rl.close();
      if (hidden) process.stderr.write('\n');
      resolve(a);
    });
  });
}

export function register(program: Command): void {
  definePull(program.command('pull'));
  definePush(program.command('push'));

  program
    .command('login')
    .description('Log in to a registry (saved in $DOCKER_CONFIG/config.json, like docker login)')
    .argument('[server]', 'registry host (default: Docker Hub)')
    .option('-u, --username <name>', 'username')
    .option('-p, --password <password>', 'password (prefer --password-stdin)')
    .option('--password-stdin', 'read the password from stdin')
    .option('--insecure-registry <host>', 'allow plain HTTP / unverified TLS for this registry (repeatable)', collect, [])
    .action(async (server: string | undefined, o: { username?: string; password?: string; passwordStdin?: boolean; insecureRegistry: string[] }) => {
      let { username, password } = o;
      if (o.passwordStdin) {
        if (password) throw new UserError('--password and --password-stdin are mutually exclusive');
        if (!username) throw new UserError('must provide --username with --password-stdin');
        password = await readStdin();
      } else if (password) {
        process.stderr.write('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
      }
      const tty = process.stdin.isTTY === true;
      if (!username) {
        if (!tty) throw new UserError('login: no username given (use -u, or run on a terminal)');
        username = (await prompt('Username: ', false)).trim();
      }
      if (!password) {
        if (!tty) throw new UserError('login: no password given (use --password-stdin)');
        password = await prompt('Password: ', true);
      }
      const r = await login(server, username, password, { insecureRegistries: o.insecureRegistry });
      process.stdout.write(`Login Succeeded (credentials saved in ${r.savedIn})\n`);
    });

  program
    .command('logout')
    .description('Remove saved credentials for a registry')
    .argument('[server]', 'registry host (default: Docker Hub)')
    .action(async (server: string | undefined) => {
      const r = await logout(server);
      process.stdout.write(r.removed ? `Removing login credentials for ${r.registry}\n` : `Not logged in to ${r.registry}\n`);
    });
}

/** `pull` (also `image pull`): the options and action on `cmd` */
export function definePull(cmd: Command): Command {
  return cmd
    .description('Pull an image from a registry into the local store')
    .argument('<ref>', 'image reference (NAME[:TAG|@DIGEST])')
    .option('--platform <os/arch[/variant]>', 'platform to pull from a multi-platform image (default: the host)')
    .option('--insecure-registry <host>', 'allow plain HTTP / unverified TLS for this registry (repeatable)', collect, [])
    .option('-q, --quiet', 'print only the reference')
    .action(async (ref: string, o: { platform?: string; insecureRegistry: string[]; quiet?: boolean }) => {
      const store = await Store.open();
      const r = await pull(store, ref, {
        platform: o.platform,
        insecureRegistries: o.insecureRegistry,
        progress: o.quiet ? silentProgress : createProgress(process.stdout),
      });
      process.stdout.write(`${r.ref.toString()}\n`);
    });
}

/** `push` (also `image push`) */
export function definePush(cmd: Command): Command {
  return cmd
    .description('Push an image from the local store to a registry')
    .argument('<ref>', 'local image (and destination unless DEST is given)')
    .argument('[dest]', 'destination reference (default: REF)')
    .option('--insecure-registry <host>', 'allow plain HTTP / unverified TLS for this registry (repeatable)', collect, [])
    .option('-q, --quiet', 'print only the digest')
    .action(async (ref: string, dest: string | undefined, o: { insecureRegistry: string[]; quiet?: boolean }) => {
      const store = await Store.open();
      const r = await pushImage(store, ref, dest, {
        insecureRegistries: o.insecureRegistry,
        progress: o.quiet ? silentProgress : createProgress(process.stdout),
      });
      if (o.quiet) process.stdout.write(`${r.digest}\n`);
      else process.stdout.write(`pushed ${r.ref.familiar}: ${r.uploaded} uploaded, ${r.mounted} mounted, ${r.existing} already present\n`);
    });
}
