/**
 * A RUN's shell text as a list of simple commands. In: shell-form command text (`apt-get update &&
 * apt-get install -y x; rm -rf /var/lib/apt/lists/*`). Out: the commands with the operator that
 * follows each (`&&`, `||`, `;`, or '' at the end), and a command's words (`splitWords`, also used by `import --change`). Quotes and backslash
 * escapes are respected; pipes, redirections and subshells stay inside a command. Not a shell:
 * enough to find and rewrite package installs and build tool calls, and to put them back together.
 */
import { UserError } from '../util/errors.js';

export interface ShellCommand {
  /** the command's text, trimmed */
  text: string;
  /** operator after it: '&&' | '||' | ';' | '' (last) */
  op: '&&' | '||' | ';' | '';
}

/** Splits `text` at top-level `&&`, `||`, `;` and newlines (outside quotes, `$(...)`, `(...)`, `{...}`). */
export function splitCommands(text: string): ShellCommand[] {
  const out: ShellCommand[] = [];
  let cur = '';
  let quote: '"' | "'" | undefined;
  let depth = 0;
  const push = (op: ShellCommand['op']) => {
    const t = cur.trim();
    if (t !== '') out.push({ text: t, op });
    else if (out.length > 0 && op !== '') out[out.length - 1]!.op = op;
    cur = '';
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      cur += c;
      if (c === '\\' && quote === '"' && i + 1 < text.length) cur += text[++i];
      else if (c === quote) quote = undefined;
      continue;
    }
    if (c === '\\' && i + 1 < text.length) {
      cur += c + text[++i];
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      cur += c;
      continue;
    }
    if (c === '(' || c === '{') depth++;
    if ((c === ')' || c === '}') && depth > 0) depth--;
    if (depth === 0) {
      const two = text.slice(i, i + 2);
      if (two === '&&' || two === '||') {
        push(two);
        i++;
        continue;
      }
      if (c === ';' || c === '\n') {
        push(';');
        continue;
      }
    }
    cur += c;
  }
  push('');
  if (out.length > 0) out[out.length - 1]!.op = '';
  return out;
}

/** Puts commands back together: `a && b; c`. */
export function joinCommands(cmds: ShellCommand[], sep = ' '): string {
  return cmds.map((c, i) => (i === cmds.length - 1 || c.op === '' ? c.text : `${c.text}${c.op === ';' ? ';' : ` ${c.op}`}${sep}`)).join('');
}

/** Splits words honouring single/double quotes and backslash escapes; an unterminated quote is a UserError. */
export function splitWords(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let have = false;
  let q: '"' | "'" | undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (q) {
      if (c === q) q = undefined;
      else if (c === '\\' && q === '"' && i + 1 < s.length) cur += s[++i];
      else cur += c;
      continue;
    }
    if (c === '"' || c === "'") {
      q = c;
      have = true;
    } else if (c === '\\' && i + 1 < s.length) {
      cur += s[++i];
      have = true;
    } else if (/\s/.test(c)) {
      if (have) out.push(cur);
      cur = '';
      have = false;
    } else {
      cur += c;
      have = true;
    }
  }
  if (q) throw new UserError(`unterminated quote in: ${s}`);
  if (have) out.push(cur);
  return out;
}

/** The words of one simple command, quotes removed (no expansion); `VAR=x` prefixes included. Never throws. */
export function commandWords(text: string): string[] {
  try {
    return splitWords(text);
  } catch {
    return text.split(/\s+/).filter(Boolean);
  }
}

/** The words after leading `VAR=value` assignments (and `env`/`sudo`/`exec` wrappers). */
export function commandName(words: string[]): { name: string | undefined; args: string[] } {
  let i = 0;
  while (i < words.length && (/^[A-Za-z_][A-Za-z0-9_]*=/.test(words[i]!) || ['env', 'sudo', 'exec', 'command'].includes(words[i]!))) i++;
  return { name: words[i], args: words.slice(i + 1) };
}
