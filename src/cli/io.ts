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
