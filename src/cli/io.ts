/** Input helpers shared by the commands: reading a Dockerfile named on the command line. */
import { statSync } from 'node:fs';
import { dirname } from 'node:path';
import { UserError, errnoText, isErrnoError } from '../util/errors.js';
import { readTextBounded } from '../util/readfile.js';

/**
 * The text of Dockerfile `file` (`-` = stdin); a missing or unreadable file, or one larger than
 * BuildKit's 16 MiB, is a one-line UserError.
 */
export function readDockerfile(file: string): string {
  try {
    return readTextBounded(file === '-' ? 0 : file, 'Dockerfile');
  } catch (e) {
    if (e instanceof UserError) throw e;
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

/**
 * Checks that `path` can become an output file before any work is done: docker's ValidateOutputPath
 * (its directory exists) and, since the file is replaced whole, that it is not a directory.
 * `what` prefixes the message as docker does (`failed to save image`).
 */
export function checkOutputFile(path: string, what: string): void {
  const dir = dirname(path);
  const st = (p: string) => {
    try {
      return statSync(p);
    } catch {
      return undefined;
    }
  };
  if (!st(dir)) throw new UserError(`${what}: invalid output path: directory ${JSON.stringify(dir)} does not exist`);
  if (st(path)?.isDirectory()) throw new UserError(`${what}: invalid output path: ${JSON.stringify(path)} is a directory`);
}

/** An error from the OS while writing output file `path` as one line, `WHAT: open PATH: <errno text>`; others unchanged. */
export function outputFailure(e: unknown, path: string, what: string): unknown {
  return isErrnoError(e) ? new UserError(`${what}: open ${path}: ${errnoText(e)}`) : e;
}

/** Runs `write` of output file `path`, with OS errors reported by outputFailure. */
export async function writingOutput<T>(path: string, what: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (e) {
    throw outputFailure(e, path, what);
  }
}
