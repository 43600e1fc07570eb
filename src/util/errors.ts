/**
 * Errors a user can act on. The CLI prints `stagecraft: <message>` (or `FILE:LINE:COL: message`
 * when a source position is known) on one line and exits with `exitCode`; anything else is a bug.
 */
export interface SourcePos {
  file?: string;
  line: number; // 1-based
  col: number; // 1-based
}

export class UserError extends Error {
  readonly exitCode: number;
  readonly pos?: SourcePos;
  /** The message is made one line (CR/LF from the input escaped) unless `multiline` (one error per line). */
  constructor(message: string, opts: { exitCode?: number; pos?: SourcePos; cause?: unknown; multiline?: boolean } = {}) {
    super(opts.multiline ? message : oneLine(message), opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'UserError';
    this.exitCode = opts.exitCode ?? 1;
    this.pos = opts.pos;
  }

  /** One line: `FILE:LINE:COL: message` when positioned, else the message. */
  format(): string {
    if (!this.pos) return this.message;
    const f = this.pos.file ?? '<stdin>';
    return `${f}:${this.pos.line}:${this.pos.col}: ${this.message}`;
  }
}

export function isUserError(e: unknown): e is UserError {
  return e instanceof UserError;
}

/** Go's text for an errno from Node's fs (`no such file or directory`), else the error's own message. */
export function errnoText(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  const text: Record<string, string> = {
    ENOENT: 'no such file or directory',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EISDIR: 'is a directory',
    ENOTDIR: 'not a directory',
    EEXIST: 'file exists',
    EROFS: 'read-only file system',
    ENOSPC: 'no space left on device',
    EXDEV: 'invalid cross-device link',
    ENAMETOOLONG: 'file name too long',
  };
  if (code && text[code]) return text[code];
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
}

/** True for a Node system error (an errno from the OS), as opposed to a bug. */
export function isErrnoError(e: unknown): e is NodeJS.ErrnoException {
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string' && typeof (e as NodeJS.ErrnoException).syscall === 'string';
}

/** Error messages are printed on one line: escape CR and LF that came from the input. */
export function oneLine(msg: string): string {
  return msg.replace(/\r/g, '\\r').replace(/\n/g, '\\n');
}
