/**
 * Reading a text file the user named (a Dockerfile, an ignore file) without trusting its size:
 * at most `max` bytes are ever read, so `-f /dev/urandom` or a FIFO that never ends stops at the
 * bound with a one-line error instead of filling the heap. In: a path (or `0` for stdin). Out: text.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { UserError } from './errors.js';
import { MAX_DOCKERFILE_SIZE, tooLargeMessage } from './limits.js';

/** Reads `file` as UTF-8, refusing more than `max` bytes; errors other than the size are thrown as they come. */
export function readTextBounded(file: string | 0, name: string, max = MAX_DOCKERFILE_SIZE): string {
  const fd = file === 0 ? 0 : openSync(file, 'r');
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(Math.min(1 << 20, max + 1 - total));
      let n: number;
      try {
        n = readSync(fd, buf, 0, buf.length, null);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN') continue; // a non-blocking stdin
        if ((e as NodeJS.ErrnoException).code === 'EOF') break;
        throw e;
      }
      if (n === 0) break;
      chunks.push(buf.subarray(0, n));
      total += n;
      if (total > max) throw new UserError(tooLargeMessage(name, max));
    }
    return Buffer.concat(chunks, total).toString('utf8');
  } finally {
    if (fd !== 0) closeSync(fd);
  }
}
