/**
 * stagecraft's command line: parses flags with commander and hands off to the pipeline.
 * Each command lives in `commands/<name>.ts` and exports `register(program)`; commands hold no
 * logic of their own. Errors a user can act on (UserError) print one line and exit non-zero;
 * anything else is a bug and prints one line too (set STAGECRAFT_DEBUG=1 for the stack).
 */
import type { CommanderError } from 'commander';
import { isUserError } from '../util/errors.js';
import { modulesFor } from './commands/index.js';
import { runInPrivateMountNs } from '../worker/exec/privatens.js';
import { runRootless } from '../worker/exec/rootless.js';

export async function main(argv: string[]): Promise<number> {
  // an ordinary user: the same command as root of a user namespace (rootless mode)
  const rootless = runRootless(argv);
  if (rootless) return rootless;
  // a build's mounts and processes must not outlive it, even after a SIGKILL
  if (argv.find((a) => !a.startsWith('-')) === 'build') {
    const reran = runInPrivateMountNs(argv);
    if (reran) return reran;
  }
  // loaded only now: `node stagecraft.js build` re-runs itself above without needing commander
  const { Command, CommanderError: commanderError } = await import('commander');
  CommanderErrorClass = commanderError;
  const program = new Command();
  program
    .name('stagecraft')
    .description('Daemonless container image builder and analyzer for multi-stage Dockerfiles')
    .version(VERSION, '-v, --version')
    // program options only before the command, as docker's: `system df -v` is df's --verbose
    .enablePositionalOptions()
    .showHelpAfterError(false)
    .exitOverride();
  try {
    for (const m of await modulesFor(argv)) m.register(program);
    await program.parseAsync(argv, { from: 'user' });
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (e) {
    const code = reportError(e);
    // a bad flag (unknown, or missing its value) of a docker command exits 125 as
    // docker's CLI does; stagecraft's own commands (lint, analyze, ...) keep 1, as hadolint and dive
    const cmd = argv.find((a) => !a.startsWith('-'));
    if (CommanderErrorClass && e instanceof CommanderErrorClass && code === 1 && FLAG_ERRORS.has(e.code) && cmd !== undefined && !OWN_COMMANDS.has(cmd)) return 125;
    return code;
  }
}

/** Commander's codes for a bad flag (docker: 125); a wrong number of arguments stays 1, as docker's. */
const FLAG_ERRORS = new Set(['commander.unknownOption', 'commander.optionMissingArgument', 'commander.missingMandatoryOptionValue', 'commander.conflictingOption']);

/** Commands that are stagecraft's own (hadolint's and dive's exit codes), not docker's. */
const OWN_COMMANDS = new Set(['lint', 'convert', 'analyze', 'compare', 'parse', 'stages', 'help', 'frontend']);

declare const __STAGECRAFT_VERSION__: string | undefined;
const VERSION = typeof __STAGECRAFT_VERSION__ === 'string' ? __STAGECRAFT_VERSION__ : '0.1.0';

let CommanderErrorClass: typeof CommanderError | undefined;

export function reportError(e: unknown): number {
  if (CommanderErrorClass && e instanceof CommanderErrorClass) {
    // commander already printed its message (help/version exit 0)
    return e.exitCode;
  }
  if (isUserError(e)) {
    process.stderr.write(`${e.format()}\n`);
    return e.exitCode;
  }
  const msg = e instanceof Error ? e.message : String(e);
  process.stderr.write(`stagecraft: internal error: ${msg.split('\n')[0]}\n`);
  if (process.env.STAGECRAFT_DEBUG && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
  return 125;
}

const isEntry = (() => {
  try {
    const self = new URL(import.meta.url).pathname;
    const arg = process.argv[1] ?? '';
    // `tsx src/cli/main.ts` runs it; a test that imports main() does not
    return self === arg || self.endsWith('/stagecraft.js') || (self.endsWith('/cli/main.ts') && arg.endsWith('main.ts'));
  } catch {
    return false;
  }
})();

/**
 * Exits once stdout and stderr have handed everything to the OS: a pipe that is full (a reader
 * slower than us) holds Node's writes in memory, and process.exit would drop them.
 */
async function exitFlushed(code: number): Promise<never> {
  const drained = (s: NodeJS.WriteStream): Promise<void> =>
    new Promise((res) => {
      if (s.destroyed || !s.writable || s.writableLength === 0) return res();
      s.once('error', () => res());
      s.write('', () => res());
    });
  await Promise.all([drained(process.stdout), drained(process.stderr)]);
  process.exit(code);
}

if (isEntry) {
  main(process.argv.slice(2)).then(
    (code) => exitFlushed(code),
    (e) => exitFlushed(reportError(e)),
  );
}
