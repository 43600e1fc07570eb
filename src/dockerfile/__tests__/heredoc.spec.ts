/** Heredocs in RUN / COPY / ADD (and ONBUILD), as BuildKit's parser reads them. */
import { describe, expect, it } from 'vitest';
import { parseAst, parseDockerfile, parseHeredocWord, chompHeredocContent } from '../index.js';
import type { CopyInstruction, RunInstruction } from '../index.js';

const SRC = `
FROM alpine:3.6

ENV NAME=me

RUN ls

USER <<INVALID
INVALID

RUN <<EMPTY
EMPTY

RUN 3<<EMPTY2
EMPTY2

RUN "<<NOHEREDOC"

RUN <<INDENT
\tfoo
\tbar
INDENT

RUN <<-UNINDENT
\tbaz
\tquux
UNINDENT

RUN <<-UNINDENT2
\tbaz
\tquux
\tUNINDENT2

RUN <<-EXPAND
\texpand $NAME
EXPAND

RUN <<-'NOEXPAND'
\tdon't expand $NAME
NOEXPAND

RUN <<COPY
echo hello world
echo foo bar
COPY

RUN <<COMMENT
# internal comment
echo hello world
echo foo bar # trailing comment
COMMENT

RUN --mount=type=cache,target=/foo <<MOUNT
echo hello
MOUNT

COPY <<FILE1 <<FILE2 /dest
content 1
FILE1
content 2
FILE2

COPY <<X <<Y /dest
Y
X
X
Y
`;

describe('heredocs (syntax tree)', () => {
  const nodes = parseAst(SRC).nodes;
  const docs = nodes.slice(1).map((n) => n.heredocs.map(({ name, content, expand, chomp, fd }) => ({ name, content, expand, chomp, fd })));
  it('finds no heredoc where none is allowed or it is quoted', () => {
    expect(docs[0]).toEqual([]); // ENV
    expect(docs[1]).toEqual([]); // RUN ls
    expect(docs[2]).toEqual([]); // USER <<INVALID
    expect(nodes[4]!.value).toBe('INVALID'); // the would-be body is an instruction
    expect(docs[6]).toEqual([]); // RUN "<<NOHEREDOC"
  });
  it('reads empty bodies and file-descriptor prefixes', () => {
    expect(docs[4]).toEqual([{ name: 'EMPTY', content: '', expand: true, chomp: false, fd: 0 }]);
    expect(docs[5]).toEqual([{ name: 'EMPTY2', content: '', expand: true, chomp: false, fd: 3 }]);
  });
  it('keeps tabs in the raw body and recognises <<- terminators behind tabs', () => {
    expect(docs[7]).toEqual([{ name: 'INDENT', content: '\tfoo\n\tbar\n', expand: true, chomp: false, fd: 0 }]);
    expect(docs[8]).toEqual([{ name: 'UNINDENT', content: '\tbaz\n\tquux\n', expand: true, chomp: true, fd: 0 }]);
    expect(docs[9]).toEqual([{ name: 'UNINDENT2', content: '\tbaz\n\tquux\n', expand: true, chomp: true, fd: 0 }]);
  });
  it('quoted delimiters disable expansion', () => {
    expect(docs[10]![0]!.expand).toBe(true);
    expect(docs[11]).toEqual([{ name: 'NOEXPAND', content: "\tdon't expand $NAME\n", expand: false, chomp: true, fd: 0 }]);
  });
  it('keeps comments inside bodies and works after flags', () => {
    expect(docs[12]![0]!.content).toBe('echo hello world\necho foo bar\n');
    expect(docs[13]![0]!.content).toBe('# internal comment\necho hello world\necho foo bar # trailing comment\n');
    expect(docs[14]![0]!.content).toBe('echo hello\n');
    expect(nodes[15]!.flags).toEqual(['--mount=type=cache,target=/foo']);
  });
  it('reads several heredocs on one line in order', () => {
    expect(docs[15]!.map((d) => [d.name, d.content])).toEqual([
      ['FILE1', 'content 1\n'],
      ['FILE2', 'content 2\n'],
    ]);
    expect(docs[16]!.map((d) => [d.name, d.content])).toEqual([
      ['X', 'Y\n'],
      ['Y', 'X\n'],
    ]);
  });
  it('extends the node to the terminator line', () => {
    const copy = nodes[nodes.length - 1]!;
    const start = SRC.split('\n').indexOf('COPY <<X <<Y /dest') + 1;
    expect(copy.pos.line).toBe(start);
    expect(copy.endLine).toBe(start + 4);
  });
  it('JSON form never has heredocs', () => {
    const n = parseAst('FROM a\nRUN ["<<EOF"]\nRUN ["<<\'EOF\'"]\n').nodes;
    expect(n[1]!.heredocs).toEqual([]);
    expect(n[2]!.heredocs).toEqual([]);
  });
  it('an unterminated heredoc is an error at the instruction', () => {
    expect(() => parseAst('FROM a\nRUN <<EOF\necho hi\n', { file: 'Df' })).toThrow(/^unterminated heredoc$/);
    try {
      parseAst('FROM a\nRUN <<EOF\necho hi\n', { file: 'Df' });
    } catch (e) {
      expect((e as { format(): string }).format()).toBe('Df:2:1: unterminated heredoc');
    }
  });
  it('keeps CRLF line endings of the body', () => {
    const n = parseAst('FROM a\r\nRUN <<EOF\r\necho hi\r\nEOF\r\nRUN true\r\n').nodes;
    expect(n[1]!.heredocs[0]!.content).toBe('echo hi\r\n');
    expect(n).toHaveLength(3);
  });
});

describe('heredoc words', () => {
  it('recognises the valid forms', () => {
    for (const w of ['<<EOF', "<<'EOF'", '<<"EOF"', '<<-EOF', "<<-'EOF'", '<<-"EOF"']) {
      expect(parseHeredocWord(w)?.name).toBe('EOF');
    }
  });
  it('ignores non-heredocs', () => {
    for (const w of ['', 'EOF', '<<', '<<-', '<EOF', '<<<EOF']) expect(parseHeredocWord(w)).toBeUndefined();
  });
  it('rejects unbalanced quotes', () => {
    for (const w of ["<<'EOF", '<<"EOF', "<<EOF'", '<<EOF"']) expect(() => parseHeredocWord(w)).toThrow();
  });
  it('partially quoted delimiters disable expansion', () => {
    expect(parseHeredocWord('<<E"O"F')).toMatchObject({ name: 'EOF', expand: false });
  });
  it('chomps leading tabs of every line', () => {
    expect(chompHeredocContent('\thello\n\t\tworld\n  x\n')).toBe('hello\nworld\n  x\n');
  });
});

describe('heredocs (typed instructions)', () => {
  it('RUN gets the bodies, chomped for <<-', () => {
    const df = parseDockerfile('FROM a\nRUN <<-EOF bash\n\techo $X\nEOF\n');
    const run = df.stages[0]!.instructions[0] as RunInstruction;
    expect(run.command).toBe('<<-EOF bash');
    expect(run.heredocs).toEqual([{ name: 'EOF', content: 'echo $X\n', expand: true, chomp: true, fd: 0 }]);
  });
  it('COPY separates heredoc sources from path sources', () => {
    const df = parseDockerfile("FROM a\nCOPY --chmod=755 a.txt <<'S1' <<S2 /dst/\none $A\nS1\ntwo\nS2\n");
    const c = df.stages[0]!.instructions[0] as CopyInstruction;
    expect(c.sources).toEqual(['a.txt']);
    expect(c.dest).toBe('/dst/');
    expect(c.chmod).toBe('755');
    expect(c.heredocs.map((h) => [h.name, h.content, h.expand])).toEqual([
      ['S1', 'one $A\n', false],
      ['S2', 'two\n', true],
    ]);
  });
  it('ADD works like COPY; a heredoc destination is an error', () => {
    const df = parseDockerfile('FROM a\nADD <<EOF /x\nhi\nEOF\n');
    expect(df.stages[0]!.instructions[0]).toMatchObject({ kind: 'ADD', heredocs: [{ name: 'EOF', content: 'hi\n' }], dest: '/x' });
    expect(() => parseDockerfile('FROM a\nCOPY x <<EOF\nhi\nEOF\n', { file: 'D' })).toThrow('COPY cannot accept a heredoc as a destination');
  });
  it('ONBUILD RUN heredoc keeps the body in the trigger expression', () => {
    const df = parseDockerfile('FROM a\nONBUILD RUN <<EOF\necho hi\nEOF\n');
    expect(df.stages[0]!.instructions[0]).toMatchObject({ kind: 'ONBUILD', trigger: 'RUN', expression: 'RUN <<EOF\necho hi\nEOF' });
  });
});
