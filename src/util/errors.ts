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
  constructor(message: string, opts: { exitCode?: number; pos?: SourcePos; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
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
