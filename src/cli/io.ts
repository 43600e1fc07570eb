/** Input helpers shared by the commands: reading a Dockerfile named on the command line. */
import { readFileSync } from 'node:fs';
import { UserError } from '../util/errors.js';

/** The text of Dockerfile `file` (`-` = stdin); a missing or unreadable file is a one-line UserError. */
export function readDockerfile(file: string): string {
  try {
    return file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UserError(`open ${file}: no such file or directory`);
    if (code === 'EISDIR') throw new UserError(`read ${file}: is a directory`);
    throw new UserError(`read ${file}: ${(e as Error).message}`);
  }
}

/**
 * docker's PromptForConfirmation: prints `MESSAGE [y/N] ` to stdout and reads one line from stdin;
 * only `y` or `Y` (surrounding spaces ignored) confirms. End of input declines.
 */
export async function confirm(message: string, input: NodeJS.ReadableStream = process.stdin): Promise<boolean> {
  process.stdout.write(`${message} [y/N] `);
  const line = await new Promise<string>((resolve) => {
    let buf = '';
    const done = (): void => {
      input.off('data', onData);
      input.off('end', done);
      input.off('error', done);
      input.pause();
      resolve(buf.split('\n')[0] ?? '');
    };
    const onData = (d: Buffer | string): void => {
      buf += d.toString();
      if (buf.includes('\n')) done();
    };
    input.on('data', onData);
    input.once('end', done);
    input.once('error', done);
  });
  return line.trim().toLowerCase() === 'y';
}
