/** ShellLex beyond BuildKit's tables: pattern operators, env shapes, word splitting, raw modes. */
import { describe, expect, it } from 'vitest';
import { ShellLex, ShellExpansionError, MAX_WORD_LENGTH } from '../index.js';

const lex = new ShellLex();
const env = { P: '/usr/local/bin/tool.tar.gz', V: 'abcabc', E: '', S: 'a*b?c', W: ' x  y ' };
const x = (w: string) => lex.processWord(w, env);

describe('parameter expansion operators', () => {
  it('# and ## trim the shortest / longest prefix', () => {
    expect(x('${P#*/}')).toBe('usr/local/bin/tool.tar.gz');
    expect(x('${P##*/}')).toBe('tool.tar.gz');
    expect(x('${V#a?c}')).toBe('abc');
    expect(x('${V#zz}')).toBe('abcabc');
  });
  it('% and %% trim the shortest / longest suffix', () => {
    expect(x('${P%.*}')).toBe('/usr/local/bin/tool.tar');
    expect(x('${P%%.*}')).toBe('/usr/local/bin/tool');
    expect(x('${V%b*}')).toBe('abca');
    expect(x('${V%%b*}')).toBe('a');
  });
  it('/ and // replace the first / every match', () => {
    expect(x('${V/b/X}')).toBe('aXcabc');
    expect(x('${V//b/X}')).toBe('aXcaXc');
    expect(x('${V//?/-}')).toBe('------');
    expect(x('${V/b*c/_}')).toBe('a_');
    expect(x('${V/b\\/c/z}')).toBe('abcabc');
    expect(x('${S/\\*/x}')).toBe('axb?c');
    expect(x('${V/$E/X}')).toBe('Xabcabc');
  });
  it('follows Go ReplaceAllString: no extra empty match after a match; $0 only in the // form', () => {
    expect(x('${V//*/X}')).toBe('X');
    expect(x('${E//*/X}')).toBe('X');
    expect(x('${V//b*/Q}')).toBe('aQ');
    expect(x('${V/b/\\$$}')).toBe('a\\$$cabc');
    expect(x('${V//b/\\$$}')).toBe('a\\$ca\\$c');
  });
  it('pattern matching is linear, not exponential backtracking', () => {
    const big = { A: 'a'.repeat(20000) };
    const t = Date.now();
    expect(lex.processWord('${A//*a*a*a*a*a*a*a*b/x}', big)).toBe(big.A);
    expect(lex.processWord('${A%%*a*a*a*a*a*b}', big)).toBe(big.A);
    expect(lex.processWord('${A#*a*a}', big)).toBe('a'.repeat(19998));
    expect(Date.now() - t).toBeLessThan(5000);
  });
  it('-, +, ? with and without colon', () => {
    expect(x('${E-d}')).toBe('');
    expect(x('${E:-d}')).toBe('d');
    expect(x('${U-d}')).toBe('d');
    expect(x('${E+s}')).toBe('s');
    expect(x('${E:+s}')).toBe('');
    expect(x('${V:+${P##*.}}')).toBe('gz');
    expect(() => x('${U?}')).toThrow('U: is not allowed to be unset');
    expect(() => x('${E:?}')).toThrow('E: is not allowed to be empty');
    expect(() => x('${U:?custom message}')).toThrow('U: custom message');
  });
  it('bad syntax is a ShellExpansionError naming the word', () => {
    expect(() => x('${V')).toThrow(ShellExpansionError);
    expect(() => x('${V/b}')).toThrow(`failed to process "\${V/b}": syntax error: missing '/' in \${}`);
    expect(() => x('${V:=x}')).toThrow('unsupported modifier (:=) in substitution');
    expect(() => x('${V#\\x}')).toThrow("invalid escape '\\x'");
  });
});

describe('quotes, escapes and word splitting', () => {
  it('splits unquoted expansions, keeps quoted ones', () => {
    expect(lex.processWords('a $W "$W" b', env)).toEqual(['a', 'x', 'y', ' x  y ', 'b']);
    expect(lex.processWords("'$W' \\ c", env)).toEqual(['$W', ' c']);
    expect(lex.processWord('a $W', env)).toBe('a  x  y ');
  });
  it('honours a backtick escape character', () => {
    const tick = new ShellLex('`');
    expect(tick.processWord('a`$V\\b', env)).toBe('a$V\\b');
    expect(tick.processWord('"x`"y"', env)).toBe('x"y');
  });
  it('accepts a Map, a plain object or a K=V list (later wins)', () => {
    expect(lex.processWord('$A-$B', new Map([['A', '1'], ['B', '2']]))).toBe('1-2');
    expect(lex.processWord('$A-$B', ['A=1', 'B=2', 'A=3', 'C'])).toBe('3-2');
    expect(lex.processWord('${C-unset}', ['C'])).toBe('');
    expect(lex.processWord('$constructor$__proto__', {})).toBe('');
  });
  it('reports matched and unmatched names', () => {
    const r = lex.processWordWithMatches('$V ${NOPE:-x} ${E}', env);
    expect([...r.matched].sort()).toEqual(['E', 'V']);
    expect([...r.unmatched]).toEqual(['NOPE']);
  });
  it('raw modes keep quotes / escapes / unset references', () => {
    const raw = new ShellLex('\\', { rawQuotes: true, rawEscapes: true, skipUnsetEnv: true });
    expect(raw.processWord(`"a" 'b' \\c $U \${U:-x} $V`, env)).toBe(`"a" 'b' \\c $U \${U:-x} abcabc`);
  });
});

describe('parity with BuildKit expansion', () => {
  // ENV values from `docker build` (Docker 26.1 / buildx 0.13) of the same ENV lines
  it('matches the recorded image config', () => {
    const e = { V: 'abcabc', E: '', N: '/usr/local/bin/tool.tar.gz' };
    const got = ['${V//*/X}', '${E//*/X}', '${V//b*/Q}', '${V/b/\\$$}', '${V//b/\\$$}', '${N%.*}', '${N%%.*}', '${N#*/}', '${N##*/}', '${V/*c/_}', '${V//?/-}', '${V/#a/X}', '${V//b/$0}'].map(
      (w) => lex.processWord(w, e),
    );
    expect(got).toEqual(['X', 'X', 'aQ', 'a\\$$cabc', 'a\\$ca\\$c', '/usr/local/bin/tool.tar', '/usr/local/bin/tool', 'usr/local/bin/tool.tar.gz', 'tool.tar.gz', '_', '------', 'abcabc', 'acac']);
  });
});

describe('hostile input', () => {
  const nest = (n: number, inner: string) => {
    let s = inner;
    for (let i = 0; i < n; i++) s = `\${a:-${s}}`;
    return s;
  };
  it('expands 10,000 nested ${a:-...} without a depth limit (BuildKit builds it)', () => {
    expect(lex.processWord(nest(10_000, 'x'), {})).toBe('x');
    expect(lex.processWord(`"${nest(10_000, '"$V"')}"`, env)).toBe('abcabc');
    expect(lex.processWords(nest(10_000, 'p q'), {})).toEqual(['p', 'q']);
  });
  it('reports a missing } at any depth as BuildKit does', () => {
    expect(() => lex.processWord(nest(10_000, 'x').slice(0, -1), {})).toThrow("syntax error: missing '}'");
    expect(() => lex.processWord('${a/${b:-x}', {})).toThrow("syntax error: missing '/' in ${}");
  });
  it('refuses an expansion longer than the maximum word length with a one-line error', () => {
    const big = { A: 'x'.repeat(MAX_WORD_LENGTH / 2 + 1) };
    expect(lex.processWord('$A', big)).toHaveLength(MAX_WORD_LENGTH / 2 + 1);
    expect(() => lex.processWord('$A$A', big)).toThrow(`expanded word exceeds the maximum length of ${MAX_WORD_LENGTH} characters`);
    expect(() => lex.processWord('"${B:-$A$A}"', big)).toThrow('exceeds the maximum length');
    try {
      lex.processWord('$A$A', big);
    } catch (e) {
      expect((e as Error).message.length).toBeLessThan(300);
    }
  });
});
