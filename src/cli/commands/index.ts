/**
 * The list of command modules. Each module owns one or a few related commands and exports
 * `register(program)`. Add a module here when you add a command file.
 */
import type { Command } from 'commander';
import * as frontend from './frontend.js';
import * as images from './images.js';
import * as registry from './registry.js';
import * as build from './build.js';
import * as containers from './containers.js';
import * as analyze from './analyze.js';

export interface CommandModule {
  register(program: Command): void;
}

export const commandModules: CommandModule[] = [frontend, images, registry, build, containers, analyze];
