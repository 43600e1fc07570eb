/**
 * The command modules, loaded on demand. Each module owns one or a few related commands and
 * exports `register(program)`. `main.ts` loads only the module of the command being run (every
 * module for `--help` or an unknown command), so a command does not pay for parsing the others.
 * Add a module to MODULES and its top-level command names (and aliases) to COMMANDS.
 */
import type { Command } from 'commander';

export interface CommandModule {
  register(program: Command): void;
}

export const MODULES = {
  frontend: () => import('./frontend.js'),
  images: () => import('./images.js'),
  registry: () => import('./registry.js'),
  build: () => import('./build.js'),
  containers: () => import('./containers.js'),
  analyze: () => import('./analyze.js'),
  lint: () => import('./lint.js'),
  convert: () => import('./convert.js'),
  manage: () => import('./manage.js'),
} satisfies Record<string, () => Promise<CommandModule>>;

export type ModuleName = keyof typeof MODULES;

/** Top-level command name (or alias) → the module that registers it. */
export const COMMANDS: Record<string, ModuleName> = {
  parse: 'frontend',
  stages: 'frontend',
  import: 'images',
  images: 'images',
  'image-ls': 'images',
  save: 'images',
  load: 'images',
  tag: 'images',
  rmi: 'images',
  inspect: 'images',
  history: 'images',
  system: 'images',
  pull: 'registry',
  push: 'registry',
  login: 'registry',
  logout: 'registry',
  build: 'build',
  run: 'containers',
  ps: 'containers',
  logs: 'containers',
  rm: 'containers',
  start: 'containers',
  stop: 'containers',
  lint: 'lint',
  convert: 'convert',
  analyze: 'analyze',
  compare: 'analyze',
  image: 'manage',
  container: 'manage',
};

/** The modules needed to run `argv`: the command's own, or all of them. */
export async function modulesFor(argv: string[]): Promise<CommandModule[]> {
  const first = argv.find((a) => !a.startsWith('-'));
  if (first === undefined && argv.some((a) => a === '-v' || a === '--version')) return [];
  const own = first === undefined ? undefined : COMMANDS[first];
  const names = own ? [own] : (Object.keys(MODULES) as ModuleName[]);
  return Promise.all(names.map((n) => MODULES[n]()));
}
