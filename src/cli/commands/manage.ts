/**
 * docker's management commands: `image ls|rm|inspect|history|tag|save|load|pull|push|prune|import`
 * and `container ls|ps|rm|logs|start|stop|inspect|prune`, with docker's aliases (`image list`,
 * `image remove`, `container list`, ...). Each is the same command as its top-level name: the
 * options and action come from that command's module (images.ts, registry.ts, containers.ts).
 */
import type { Command } from 'commander';
import {
  defineHistory, defineImagePrune, defineImages, defineImport, defineInspect, defineLoad, defineRmi, defineSave, defineTag,
} from './images.js';
import { definePull, definePush } from './registry.js';
import { defineContainerPrune, defineLogs, definePs, defineRm, defineStart, defineStop } from './containers.js';

export function register(program: Command): void {
  const image = program.command('image').description('Manage images');
  defineImages(image.command('ls').alias('list'));
  defineRmi(image.command('rm').aliases(['rmi', 'remove']));
  defineInspect(image.command('inspect'), 'image');
  defineHistory(image.command('history'));
  defineTag(image.command('tag'));
  defineSave(image.command('save'));
  defineLoad(image.command('load'));
  definePull(image.command('pull'));
  definePush(image.command('push'));
  defineImagePrune(image.command('prune'));
  defineImport(image.command('import'));

  const container = program.command('container').description('Manage containers');
  definePs(container.command('ls').aliases(['ps', 'list']));
  defineRm(container.command('rm').alias('remove'));
  defineLogs(container.command('logs'));
  defineStart(container.command('start'));
  defineStop(container.command('stop'));
  defineInspect(container.command('inspect'), 'container');
  defineContainerPrune(container.command('prune'));
}
