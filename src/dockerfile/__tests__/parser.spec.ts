/** The syntax-tree parser: directives, continuations, escape switch, JSON vs shell form, flags, positions. */
import { describe, expect, it } from 'vitest';
import { dumpAst, parseAst } from '../index.js';
import { UserError } from '../../util/errors.js';

const dump = (s: string) => dumpAst(parseAst(s));
function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof UserError) return e.format();
    throw e;
  }
  throw new Error('expected an error');
}

describe('parser directives', () => {
  it('reads syntax, escape and check at the top, case-insensitively', () => {
    const r = parseAst('# syntax=docker/dockerfile:1\n#ESCAPE = `\n# Check=skip=all\nFROM a\n');
    expect(r.directives.map((d) => [d.name, d.value, d.pos.line])).toEqual([
      ['syntax', 'docker/dockerfile:1', 1],
      ['escape', '`', 2],
      ['check', 'skip=all', 3],
    ]);
    expect(r.escapeChar).toBe('`');
  });
  it('stops looking after the first non-directive line (comment, blank or instruction)', () => {
    expect(parseAst('# hello\n# escape=`\nFROM a\n').escapeChar).toBe('\\');
    expect(parseAst('\n# escape=`\nFROM a\n').escapeChar).toBe('\\');
    expect(parseAst('FROM a\n# escape=`\n').directives).toEqual([]);
    expect(parseAst('# unknown=x\n# escape=`\nFROM a\n').escapeChar).toBe('\\');
  });
  it('rejects a repeated directive and a bad escape token, with the line', () => {
    expect(errorOf(() => parseAst('# syntax=a\n# SYNTAX=b\nFROM a\n', { file: 'Df' }))).toBe('Df:2:1: only one syntax parser directive can be used');
    expect(errorOf(() => parseAst('# escape=x\nFROM a\n', { file: 'Df' }))).toBe("Df:1:1: invalid escape token 'x' does not match ` or \\");
  });
  it('switches the escape character to a backtick (continuation and escapes)', () => {
    expect(dump('# escape=`\nFROM a\nRUN dir c:\\ `\n  && echo `"x`"\n')).toBe('(from "a")\n(run "dir c:\\\\   && echo `\\"x`\\"")\n');
    // a backslash is no longer a continuation
    expect(dump('# escape=`\nFROM a\nRUN echo \\\nRUN b\n')).toBe('(from "a")\n(run "echo \\\\")\n(run "b")\n');
  });
});

describe('line continuations', () => {
  it('joins lines, skipping comment and empty lines inside the continuation', () => {
    const r = parseAst('FROM a\nRUN echo a \\\n# comment\n\n  b \\\n   # indented comment\nc\n');
    expect(dumpAst(r)).toBe('(from "a")\n(run "echo a   b c")\n');
    expect(r.nodes[1]!.pos).toEqual({ line: 2, col: 1 });
    expect(r.nodes[1]!.endLine).toBe(7);
    expect(r.warnings.length).toBe(1);
  });
  it('ends the instruction at EOF when the last line continues', () => {
    expect(dump('FROM a\nRUN x \\')).toBe('(from "a")\n(run "x")\n');
    expect(dump('FROM a\nRUN x \\\n')).toBe('(from "a")\n(run "x")\n');
  });
  it('does not treat an escaped escape character as a continuation', () => {
    expect(dump('FROM a\nENV C trailing\\\\\nENV D x\n')).toBe('(from "a")\n(env "C" "trailing\\\\\\\\" "")\n(env "D" "x" "")\n');
  });
});

describe('BOM and CRLF', () => {
  it('strips a UTF-8 BOM and CR line endings', () => {
    const r = parseAst('\ufeff# escape=`\r\nFROM a\r\nRUN echo `\r\n  hi\r\nCMD ["a", "b"]\r\n');
    expect(r.escapeChar).toBe('`');
    expect(dumpAst(r)).toBe('(from "a")\n(run "echo   hi")\n(cmd "a" "b")\n');
    expect(r.nodes[0]!.pos).toEqual({ line: 2, col: 1 });
  });
});

describe('JSON (exec) form', () => {
  it('decodes JSON arrays and marks them', () => {
    const r = parseAst('FROM a\nCMD ["a b", "c\\u00e9"]\nENTRYPOINT []\n');
    expect(r.nodes[1]!.attributes.json).toBe(true);
    expect(dumpAst(r)).toBe('(from "a")\n(cmd "a b" "cé")\n(entrypoint)\n');
  });
  it('falls back to shell form on invalid JSON', () => {
    const r = parseAst("FROM a\nCMD ['single']\nRUN [\"unterminated\"\n");
    expect(r.nodes[1]!.attributes.json).toBeUndefined();
    expect(dumpAst(r)).toBe('(from "a")\n(cmd "[\'single\']")\n(run "[\\"unterminated\\"")\n');
  });
  it('rejects arrays of non-strings', () => {
    expect(errorOf(() => parseAst('FROM a\nCMD ["a", ["b"]]\n', { file: 'D' }))).toBe(
      'D:2:1: when using JSON array syntax, arrays must be comprised of strings only',
    );
  });
  it('COPY/ADD/VOLUME split shell form on whitespace', () => {
    expect(dump('FROM a\nCOPY  a   b\tc\nVOLUME ["/v"]\n')).toBe('(from "a")\n(copy "a" "b" "c")\n(volume "/v")\n');
  });
});

describe('flags', () => {
  it('collects leading --flags, quotes removed, up to --', () => {
    const r = parseAst('FROM --platform=$BUILDPLATFORM a\nCOPY --from="x y" --link -- --not-a-flag /d\nRUN --mount=type=cache,target=/c echo --no\n');
    expect(r.nodes[0]!.flags).toEqual(['--platform=$BUILDPLATFORM']);
    expect(r.nodes[1]!.flags).toEqual(['--from=x y', '--link']);
    expect(r.nodes[1]!.args.map((a) => a.value)).toEqual(['--not-a-flag', '/d']);
    expect(r.nodes[2]!.flags).toEqual(['--mount=type=cache,target=/c']);
    expect(dumpAst(r)).toContain('(copy ["--from=x y" "--link"] "--not-a-flag" "/d")');
  });
  it('a single dash is not a flag', () => {
    expect(parseAst('FROM a\nRUN -x\n').nodes[1]!.flags).toEqual([]);
  });
});

describe('instructions and arguments', () => {
  it('keeps unknown instructions in the tree (BuildKit parser) with one empty argument', () => {
    expect(dump('FROM a\nFOO bar\n')).toBe('(from "a")\n(foo "")\n');
  });
  it('ENV/LABEL: both forms; ARG keeps quotes', () => {
    expect(dump('FROM a\nENV a b c\nENV x="1 2" y=3\nARG n="v w" m\nLABEL k v\n')).toBe(
      '(from "a")\n(env "a" "b c" "")\n(env "x" "\\"1 2\\"" "=" "y" "3" "=")\n(arg "n=\\"v w\\"" "m")\n(label "k" "v" "")\n',
    );
  });
  it('ONBUILD nests the trigger', () => {
    const r = parseAst('FROM a\nONBUILD  RUN ["x"]\n');
    expect(dumpAst(r)).toBe('(from "a")\n(onbuild (run "x"))\n');
    expect(r.nodes[1]!.args[0]!.child!.pos).toEqual({ line: 2, col: 10 });
  });
  it('HEALTHCHECK keeps its type word', () => {
    expect(dump('FROM a\nHEALTHCHECK --retries=2 CMD ["x"]\n')).toBe('(from "a")\n(healthcheck ["--retries=2"] "CMD" "x")\n');
  });
  it('instruction keywords are case-insensitive', () => {
    expect(dump('from a\nrUn x\n')).toBe('(from "a")\n(run "x")\n');
  });
});

describe('positions', () => {
  it('gives line and column of every instruction keyword', () => {
    const r = parseAst('\n  FROM a AS b\n\n\t\tRUN x \\\n  y\n    COPY . /\n');
    expect(r.nodes.map((n) => [n.pos.line, n.pos.col, n.endLine])).toEqual([
      [2, 3, 2],
      [4, 3, 5],
      [6, 5, 6],
    ]);
    expect(r.nodes[1]!.original).toBe('RUN x   y');
  });
  it('empty or comment-only files are errors', () => {
    expect(errorOf(() => parseAst('', { file: 'D' }))).toBe('D:1:1: file with no instructions');
    expect(errorOf(() => parseAst('# a\n# b\n\n', { file: 'D' }))).toBe('D:3:1: file with no instructions');
  });
});
