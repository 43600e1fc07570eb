/**
 * A small shell reader for lint rules: splits a RUN command line into simple commands (argv with
 * quotes removed, `$VARS` kept as written) and the operators between them (`&&`, `||`, `;`, `|`,
 * newlines). Not a shell: `$(...)` and backquotes stay inside their word, redirections are dropped,
 * compound keywords (`if`, `then`, `do`, `{`, ...) are skipped at the start of a command. Enough
 * for "does this RUN call `apt-get install` without `-y`", never used to execute anything.
 * Pure.
 */

export interface SimpleCommand {
  /** words, quotes removed; leading VAR=value assignments removed */
  argv: string[];
  /** the output of this command goes into a pipe */
  pipesTo: boolean;
  /** the operator before this command (`''` for the first) */
  after: '' | '&&' | '||' | ';' | '|' | '&' | '\n';
}

const KEYWORDS = new Set(['if', 'then', 'else', 'elif', 'fi', 'do', 'done', 'while', 'until', 'for', 'case', 'esac', '{', '}', '!', '(', ')']);
/** programs that run the command after them (`sudo apt-get ...`) */
const WRAPPERS = new Set(['sudo', 'env', 'nice', 'nohup', 'time', 'command', 'exec', 'gosu', 'su-exec', 'chroot', 'xargs', 'eatmydata', 'npx']);

interface Token {
  word?: string;
  op?: SimpleCommand['after'];
}

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let word = '';
  let inWord = false;
  const flush = () => {
    if (inWord) out.push({ word });
    word = '';
    inWord = false;
  };
  let i = 0;
  const n = src.length;
  while (i < n) {
    const c = src[i]!;
    if (c === '\\') {
      if (src[i + 1] === '\n') {
        i += 2;
        continue;
      }
      if (i + 1 < n) word += src[i + 1];
      inWord = true;
      i += 2;
      continue;
    }
    if (c === "'") {
      const j = src.indexOf("'", i + 1);
      const end = j < 0 ? n : j;
      word += src.slice(i + 1, end);
      inWord = true;
      i = end + 1;
      continue;
    }
    if (c === '"') {
      i++;
      while (i < n && src[i] !== '"') {
        if (src[i] === '\\' && i + 1 < n && '"\\$`\n'.includes(src[i + 1]!)) {
          if (src[i + 1] !== '\n') word += src[i + 1];
          i += 2;
          continue;
        }
        word += src[i];
        i++;
      }
      i++;
      inWord = true;
      continue;
    }
    if (c === '$' && src[i + 1] === '(') {
      // command substitution / arithmetic: keep it raw inside the word
      let depth = 0;
      let j = i + 1;
      for (; j < n; j++) {
        if (src[j] === '(') depth++;
        else if (src[j] === ')' && --depth === 0) break;
      }
      word += src.slice(i, j + 1);
      inWord = true;
      i = j + 1;
      continue;
    }
    if (c === '`') {
      const j = src.indexOf('`', i + 1);
      const end = j < 0 ? n : j;
      word += src.slice(i, end + 1);
      inWord = true;
      i = end + 1;
      continue;
    }
    if (c === '#' && !inWord) {
      const j = src.indexOf('\n', i);
      i = j < 0 ? n : j;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r') {
      flush();
      i++;
      continue;
    }
    if (c === '\n' || c === ';' || c === '&' || c === '|' || c === '(' || c === ')') {
      flush();
      const two = src.slice(i, i + 2);
      if (two === '&&' || two === '||') {
        out.push({ op: two });
        i += 2;
      } else if (two === ';;') {
        out.push({ op: ';' });
        i += 2;
      } else if (c === '(' || c === ')') {
        out.push({ op: ';' });
        i++;
      } else {
        out.push({ op: c as SimpleCommand['after'] });
        i++;
      }
      continue;
    }
    if ((c === '>' || c === '<') && !inWord) {
      // redirection: drop the operator and its target
      let j = i;
      while (j < n && '<>&|'.includes(src[j]!)) j++;
      while (j < n && (src[j] === ' ' || src[j] === '\t')) j++;
      if (/[0-9-]/.test(src[j] ?? '') && src[j - 1] === '&') {
        while (j < n && /[0-9-]/.test(src[j]!)) j++;
      } else {
        while (j < n && !' \t\n;&|'.includes(src[j]!)) j++;
      }
      i = j;
      continue;
    }
    if ((c === '>' || c === '<') && /^[0-9]+$/.test(word)) {
      word = '';
      inWord = false;
      continue; // `2>` — handled on the next round as a bare redirection
    }
    word += c;
    inWord = true;
    i++;
  }
  flush();
  return out;
}

/** Splits a shell command line (or script) into simple commands. */
export function splitCommands(src: string): SimpleCommand[] {
  const cmds: SimpleCommand[] = [];
  let argv: string[] = [];
  let after: SimpleCommand['after'] = '';
  const end = (op: SimpleCommand['after'] | undefined) => {
    // drop leading keywords and assignments
    let k = 0;
    while (k < argv.length && (KEYWORDS.has(argv[k]!) || /^[A-Za-z_][A-Za-z0-9_]*=/.test(argv[k]!))) k++;
    const words = argv.slice(k);
    if (words.length > 0) cmds.push({ argv: words, pipesTo: op === '|', after });
    if (op !== undefined) after = op;
    argv = [];
  };
  for (const t of tokenize(src)) {
    if (t.op !== undefined) end(t.op);
    else argv.push(t.word!);
  }
  end(undefined);
  return cmds;
}

/** The program a command runs, past wrappers like `sudo` and their options (`sudo -E apt-get` → apt-get at 2). */
export function programIndex(argv: readonly string[]): number {
  let i = 0;
  while (i < argv.length) {
    const w = argv[i]!;
    const base = w.split('/').pop()!;
    if (!WRAPPERS.has(base)) return i;
    i++;
    while (i < argv.length && (argv[i]!.startsWith('-') || /^[A-Za-z_][A-Za-z0-9_]*=/.test(argv[i]!))) {
      // options of the wrapper (`-u user` takes a value)
      if (['-u', '-g', '-n', '-I', '-L', '-P'].includes(argv[i]!) && base !== 'env') i++;
      i++;
    }
  }
  return argv.length;
}

/** The program name (base name) a command runs, past wrappers. */
export function program(argv: readonly string[]): string {
  const i = programIndex(argv);
  return i < argv.length ? argv[i]!.split('/').pop()! : '';
}

/** The arguments after the program (past wrappers). */
export function programArgs(argv: readonly string[]): string[] {
  return argv.slice(programIndex(argv) + 1);
}

/** True when any word is exactly one of `flags`, or a bundle of short flags containing a short one (`-qy` has `-y`). */
export function hasFlag(args: readonly string[], ...flags: string[]): boolean {
  for (const a of args) {
    if (flags.includes(a)) return true;
    const eq = a.indexOf('=');
    if (eq > 0 && flags.includes(a.slice(0, eq))) return true;
    if (/^-[A-Za-z]{2,}$/.test(a)) {
      for (const f of flags) if (/^-[A-Za-z]$/.test(f) && a.includes(f[1]!)) return true;
    }
  }
  return false;
}
