/**
 * The Go-template engine and docker's formatter against outputs and error lines captured from
 * docker CLI 28.2 (`docker images --format …` over images busybox:latest, foo/bar:v1 and one
 * dangling image; `docker inspect -f …`).
 */
import { describe, expect, it } from 'vitest';
import { GoNil, GoStruct, GoTime, TemplateError, finalFormat, goTemplate, renderFormat, sprintf } from '../template.js';
import { tabwrite } from '../tabwriter.js';
import { Filters, parseUntil, pathMatch } from '../filters.js';

const img = (repo: string, tag: string, id: string): GoStruct =>
  new GoStruct('*formatter.imageContext', {
    ID: id, Repository: repo, Tag: tag, Digest: '<none>', CreatedSince: '4 seconds ago', CreatedAt: '2026-11-27 12:42:32 +0000 UTC',
    Size: '1.98MB', Containers: 'N/A', VirtualSize: '1.984MB', SharedSize: 'N/A', UniqueSize: 'N/A',
  });
const IMAGES = [img('<none>', '<none>', 'd389a268961f'), img('foo/bar', 'v1', 'c3b5761e9c06'), img('busybox', 'latest', 'c3b5761e9c06')];
const HEADER = {
  ID: 'IMAGE ID', Repository: 'REPOSITORY', Tag: 'TAG', Digest: 'DIGEST', CreatedSince: 'CREATED', CreatedAt: 'CREATED AT', Size: 'SIZE',
  Containers: 'CONTAINERS', VirtualSize: 'SIZE', SharedSize: 'SHARED SIZE', UniqueSize: 'UNIQUE SIZE',
};
const render = (f: string, items = IMAGES): string => renderFormat(f, items, HEADER);
/** the one-line error docker prints for format `f` over the foo/bar image */
const error = (f: string): string => {
  try {
    render(f, [IMAGES[1]!]);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error(`no error for ${f}`);
};

describe('docker formatter (docker images --format)', () => {
  it('renders fields, literals and escapes like docker', () => {
    expect(render('{{.ID}}')).toBe('d389a268961f\nc3b5761e9c06\nc3b5761e9c06\n');
    expect(render('yaml')).toBe('yaml\nyaml\nyaml\n');
    expect(render('{{.Repository}}:{{.Tag}}\\n')).toBe('<none>:<none>\n\nfoo/bar:v1\n\nbusybox:latest\n\n');
    // `\t` and `\n` become a tab and a newline before parsing, even after a backslash
    expect(render('a\\tb\\\\tc\\nd', [IMAGES[1]!])).toBe('a\tb\\\tc\nd\n');
    expect(render('{{`raw\\t`}}', [IMAGES[1]!])).toBe('raw\t\n');
    expect(render('  {{.Tag}}  ', [IMAGES[1]!])).toBe('v1\n');
  });

  it('table: header from the column titles, columns aligned by the tabwriter', () => {
    expect(render('table {{.Repository}}\\t{{.Tag}}\\t{{.ID}}')).toBe(
      ['REPOSITORY   TAG       IMAGE ID', '<none>       <none>    d389a268961f', 'foo/bar      v1        c3b5761e9c06', 'busybox      latest    c3b5761e9c06', ''].join('\n'),
    );
    expect(render('table {{.Repository}}')).toBe('REPOSITORY\n<none>\nfoo/bar\nbusybox\n');
    expect(render('table {{.ID}}\\t{{.CreatedSince}}\\t{{.CreatedAt}}\\t{{.Size}}\\t{{.Digest}}\\t{{.Containers}}\\t{{.SharedSize}}\\t{{.UniqueSize}}\\t{{.VirtualSize}}', [IMAGES[0]!])).toBe(
      [
        'IMAGE ID       CREATED         CREATED AT                      SIZE      DIGEST    CONTAINERS   SHARED SIZE   UNIQUE SIZE   SIZE',
        'd389a268961f   4 seconds ago   2026-11-27 12:42:32 +0000 UTC   1.98MB    <none>    N/A          N/A           N/A           1.984MB',
        '',
      ].join('\n'),
    );
    // the header row is there with no rows; header functions leave titles alone, pad does not
    expect(render('table {{.ID}}', [])).toBe('IMAGE ID\n');
    expect(render('table {{upper .Tag}}|{{pad .Tag 1 1}}|{{json .ID}}', [IMAGES[1]!])).toBe('TAG| TAG |IMAGE ID\nV1| v1 |"c3b5761e9c06"\n');
    // docker's default images table, `if` included
    expect(render('table {{.Repository}}\\t{{.Tag}}\\t{{.ID}}\\t{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}\\t{{.Size}}')).toBe(
      [
        'REPOSITORY   TAG       IMAGE ID       CREATED         SIZE',
        '<none>       <none>    d389a268961f   4 seconds ago   1.98MB',
        'foo/bar      v1        c3b5761e9c06   4 seconds ago   1.98MB',
        'busybox      latest    c3b5761e9c06   4 seconds ago   1.98MB',
        '',
      ].join('\n'),
    );
  });

  it('json and {{json .}}: sorted keys, <>& escaped as docker marshals a context', () => {
    const line = '{"Containers":"N/A","CreatedAt":"2026-11-27 12:42:32 +0000 UTC","CreatedSince":"4 seconds ago","Digest":"\\u003cnone\\u003e","ID":"d389a268961f","Repository":"\\u003cnone\\u003e","SharedSize":"N/A","Size":"1.98MB","Tag":"\\u003cnone\\u003e","UniqueSize":"N/A","VirtualSize":"1.984MB"}\n';
    expect(render('json', [IMAGES[0]!])).toBe(line);
    expect(render('{{json .}}', [IMAGES[0]!])).toBe(line);
    expect(render('{{json .Tag}}', [IMAGES[0]!])).toBe('"<none>"\n');
    expect(finalFormat('json')).toBe('{{json .}}');
    expect(finalFormat('table {{.ID}}\\t{{.Tag}} ')).toBe('{{.ID}}\t{{.Tag}}');
  });

  it('functions: docker’s and Go’s builtins', () => {
    const one = (f: string): string => render(f, [IMAGES[1]!]);
    expect(one('{{.ID | printf "%s-"}}')).toBe('c3b5761e9c06-\n');
    expect(one('{{printf "%-20s|" .Repository}}')).toBe('foo/bar             |\n');
    expect(one('{{upper .Repository}} {{lower "ABC"}} {{title .Tag}} {{len .Repository}} {{index .Repository 0}}')).toBe('FOO/BAR abc V1 7 102\n');
    expect(one('{{truncate .ID 3}} {{split .Repository "/"}} {{join (split .Repository "/") "+"}} {{pad .Tag 1 2}}|')).toBe('c3b [foo bar] foo+bar  v1  |\n');
    expect(one('{{if eq .Tag "v1"}}yes{{else}}no{{end}} {{with .Tag}}[{{.}}]{{end}} {{$x := .Tag}}{{$x}}')).toBe('yes [v1] v1\n');
    expect(one('{{.ID}} {{"lit"}} {{3}} {{/* c */}}x')).toBe('c3b5761e9c06 lit 3 x\n');
    expect(one('{{- .ID -}} y')).toBe('c3b5761e9c06y\n');
    expect(one('{{if .ID}}a{{else if .Tag}}b{{end}}')).toBe('a\n');
    expect(one('{{range $i, $c := split .Repository "/"}}{{$i}}={{$c}};{{end}}')).toBe('0=foo;1=bar;\n');
    expect(one('{{print .ID 1 2 "x" "y" true}}')).toBe('c3b5761e9c061 2xytrue\n');
    expect(one('{{println .ID}}')).toBe('c3b5761e9c06\n\n');
    expect(one('{{printf "%d %q %v %5.2f %x" 3 .Tag .Tag 3.14159 255}}')).toBe('3 "v1" v1  3.14 ff\n');
    expect(one('{{slice .ID 1 3}} {{html "<a>"}} {{js "a\'b"}} {{urlquery "a b&"}}')).toBe('3b &lt;a&gt; a\\\'b a+b%26\n');
    expect(one('{{range split .Repository "/"}}{{break}}{{end}}|{{or "" .Tag}}|{{and .Tag ""}}|{{not .Tag}}')).toBe('|v1||false\n');
    expect(one('{{1.5}} {{1e3}} {{0x10}} {{-2}} {{\'a\'}} {{.Tag | printf "%s" | upper}} {{.ID | }}')).toBe('1.5 1000 16 -2 97 V1 c3b5761e9c06\n');
    expect(one('{{"esc\\tx\\u00e9"}}')).toBe('esc\txé\n');
  });

  it('parse errors: docker’s "template parsing error: template: :LINE: …"', () => {
    const cases: [string, string][] = [
      ['{{.ID', 'unclosed action'],
      ['{{.ID}}{{end}}', 'unexpected {{end}}'],
      ['{{else}}', 'unexpected {{else}}'],
      ['{{if .ID}}x{{end', 'unclosed action'],
      ['{{if .ID}}x', 'unexpected EOF'],
      ['{{range .ID}}x', 'unexpected EOF'],
      ['{{}}', 'missing value for command'],
      ['{{if}}{{end}}', 'missing value for if'],
      ['{{.ID}', "bad character U+007D '}'"],
      ['{{ .ID !}}', 'unexpected "!" in operand'],
      ['{{"abc}}', 'unterminated quoted string'],
      ['{{$x}}', 'undefined variable "$x"'],
      ['{{| .ID}}', 'unexpected "|" in command'],
      ['{{(.ID}}', 'unclosed left paren'],
      ['{{.ID)}}', 'unexpected right paren'],
      ['{{nope .ID}}', 'function "nope" not defined'],
      ['{{break}}', '{{break}} outside {{range}}'],
    ];
    for (const [f, msg] of cases) expect(error(f), f).toBe(`template parsing error: template: :1: ${msg}`);
  });

  it('execution errors: position, node and Go’s wording', () => {
    const cases: [string, string][] = [
      ['{{.Foo}}', ':1:2: executing "" at <.Foo>: can\'t evaluate field Foo in type *formatter.imageContext'],
      ['{{json .Foo}}', ':1:7: executing "" at <.Foo>: can\'t evaluate field Foo in type *formatter.imageContext'],
      ['{{.ID}}\n{{.Nope}}', ':2:2: executing "" at <.Nope>: can\'t evaluate field Nope in type *formatter.imageContext'],
      ['{{range .ID}}{{end}}', ':1:8: executing "" at <.ID>: range can\'t iterate over c3b5761e9c06'],
      ['{{index}}', ':1:2: executing "" at <index>: wrong number of args for index: want at least 1 got 0'],
      ['{{index .ID 99}}', ':1:2: executing "" at <index .ID 99>: error calling index: index out of range: 99'],
      ['{{printf}}', ':1:2: executing "" at <printf>: wrong number of args for printf: want at least 1 got 0'],
      ['{{len 3}}', ':1:2: executing "" at <len 3>: error calling len: len of type int'],
      ['{{json}}', ':1:2: executing "" at <json>: wrong number of args for json: want 1 got 0'],
      ['{{json .ID .ID}}', ':1:2: executing "" at <json>: wrong number of args for json: want 1 got 2'],
      ['{{.ID.X}}', ':1:5: executing "" at <.ID.X>: can\'t evaluate field X in type string'],
      ['{{.ID 3}}', ':1:2: executing "" at <.ID>: wrong number of args for ID: want 0 got 1'],
      ['{{upper 3}}', ':1:8: executing "" at <3>: expected string; found 3'],
      ['{{eq .ID}}', ':1:2: executing "" at <eq .ID>: error calling eq: missing argument for comparison'],
      ['{{eq .ID 3}}', ':1:2: executing "" at <eq .ID 3>: error calling eq: incompatible types for comparison'],
      ['{{lt .ID 3}}', ':1:2: executing "" at <lt .ID 3>: error calling lt: incompatible types for comparison'],
      ['{{and}}', ':1:2: executing "" at <and>: wrong number of args for and: want at least 1 got 0'],
      ['{{not}}', ':1:2: executing "" at <not>: wrong number of args for not: want 1 got 0'],
      ['{{nil}}', ':1:2: executing "" at <nil>: nil is not a command'],
    ];
    for (const [f, msg] of cases) expect(error(f), f).toBe(`template parsing error: template: ${msg}`);
  });
});

describe('inspect-style templates over JSON (missingkey=error)', () => {
  const data = {
    Id: 'sha256:abc',
    RepoTags: ['a:1', 'b:2'],
    Config: { Cmd: ['sh'], Entrypoint: new GoNil('slice'), Labels: new GoNil('map'), Env: null, Volumes: { '/data': {} } },
    Size: 1984234,
  };
  const run = (f: string, missingKeyError = true): string => {
    try {
      return goTemplate(f, data, { missingKeyError });
    } catch (e) {
      expect(e).toBeInstanceOf(TemplateError);
      return `ERR ${(e as Error).message}`;
    }
  };

  it('prints Go values: slices, typed nils, maps, numbers', () => {
    expect(run('{{.Config.Cmd}}|{{.Config.Entrypoint}}|{{.Config.Labels}}|{{json .Config.Labels}}|{{.Size}}|{{index .RepoTags 0}}')).toBe('[sh]|[]|map[]|null|1984234|a:1');
    expect(run('{{.Config.Volumes}} {{.Config.Env}} {{json .Config.Cmd}} {{len .RepoTags}}')).toBe('map[/data:map[]] <nil> ["sh"] 2');
    expect(run('{{range .RepoTags}}{{.}} {{end}}|{{range .Config.Entrypoint}}x{{else}}none{{end}}|{{range $k, $v := .Config.Volumes}}{{$k}}{{end}}')).toBe('a:1 b:2 |none|/data');
    expect(run('{{index .Config.Labels "x"}}|{{range 3}}{{.}}{{end}}|{{$x := 1}}{{$x = 2}}{{$x}}')).toBe('|012|2');
    expect(run('{{range .RepoTags}}{{if eq . "a:1"}}{{continue}}{{end}}{{.}}{{end}}')).toBe('b:2');
    expect(run('{{json .}}')).toBe('{"Id":"sha256:abc","RepoTags":["a:1","b:2"],"Config":{"Cmd":["sh"],"Entrypoint":null,"Labels":null,"Env":null,"Volumes":{"/data":{}}},"Size":1984234}');
  });

  it('a missing key is docker inspect’s error; without missingkey=error it is <no value>', () => {
    expect(run('{{.Foo}}')).toBe('ERR template: :1:2: executing "" at <.Foo>: map has no entry for key "Foo"');
    expect(run('{{.Id.x}}')).toBe('ERR template: :1:5: executing "" at <.Id.x>: can\'t evaluate field x in type interface {}');
    expect(run('{{.Foo}}', false)).toBe('<no value>');
    expect(run('{{.Config.Env.X}}', false)).toBe('ERR template: :1:9: executing "" at <.Config.Env.X>: nil pointer evaluating interface {}.X');
  });

  it('methods with arguments (ps’s .Label)', () => {
    const c = new GoStruct('*formatter.ContainerContext', { Names: 'web', Label: (k: string) => ({ a: '1' })[k] ?? '' });
    expect(goTemplate('{{.Label "a"}}|{{.Label "b"}}|{{.Names}}', c)).toBe('1||web');
    expect(() => goTemplate('{{.Label}}', c)).toThrow('wrong number of args for Label: want 1 got 0');
    expect(goTemplate('{{json .}}', c)).toBe('{"Names":"web"}');
  });

  it('a time.Time prints as Go\'s Time.String() and encodes as RFC 3339 (docker inspect -f {{.Metadata.LastTagTime}})', () => {
    const m = { Metadata: { LastTagTime: new GoTime('2026-12-06T03:23:31.004409915Z') }, Zero: new GoTime('0001-01-01T00:00:00Z'), Ms: new GoTime('2026-12-06T03:23:35.930Z') };
    expect(goTemplate('{{.Metadata.LastTagTime}}', m)).toBe('2026-12-06 03:23:31.004409915 +0000 UTC');
    expect(goTemplate('{{.Zero}}|{{.Ms}}', m)).toBe('0001-01-01 00:00:00 +0000 UTC|2026-12-06 03:23:35.93 +0000 UTC');
    expect(goTemplate('{{json .Metadata}}', m)).toBe('{"LastTagTime":"2026-12-06T03:23:31.004409915Z"}');
  });
});

describe('sprintf', () => {
  it('formats like fmt.Sprintf', () => {
    expect(sprintf('%5d|%-5d|%05d|%x|%X|%s', [42, 42, 42, 'hi', 255, 'x'])).toBe('   42|42   |00042|6869|FF|x');
    expect(sprintf('%s %d', [3])).toBe('%!s(int=3) %!d(MISSING)');
    expect(sprintf('%s', ['a', 'b'])).toBe('a%!(EXTRA string=b)');
    expect(sprintf('%.2s|%t|%q|%v|%%', ['abc', true, 'q"', [1, 2]])).toBe('ab|true|"q\\""|[1 2]|%');
  });
});

describe('tabwriter (docker CLI settings: minwidth 10, padding 3)', () => {
  it('pads tab-terminated cells per column block; the last cell is not padded', () => {
    expect(tabwrite('REPOSITORY\tTAG\tSIZE\nbusybox\tlatest\t4.26MB\n')).toBe('REPOSITORY   TAG       SIZE\nbusybox      latest    4.26MB\n');
    // a line with fewer cells ends the column block (Go's elastic tabstops)
    expect(tabwrite('a\tb\tc\nlong-cell-here\tx\n\nd\te\n')).toBe('a                b         c\nlong-cell-here   x\n\nd         e\n');
    expect(tabwrite('x\t\ty\n')).toBe('x                   y\n');
    expect(tabwrite('no tabs\n')).toBe('no tabs\n');
  });
});

describe('filters', () => {
  it('parses, validates and matches like docker', () => {
    const f = Filters.parse([' Dangling = true ', 'label=a', 'label=b=2', '', 'label=a']);
    expect(f.get('dangling')).toEqual(['true']);
    expect(f.get('label')).toEqual(['a', 'b=2']);
    expect(f.bool('dangling')).toBe(true);
    expect(f.matchLabels({ a: '', b: '2' })).toBe(true);
    expect(f.matchLabels({ a: '1', b: '3' })).toBe(false);
    expect(f.matchLabels(undefined)).toBe(false);
    expect(() => Filters.parse(['foo'])).toThrow('invalid argument "foo" for "-f, --filter" flag: bad format of filter (expected name=value)');
    expect(() => f.validate(['dangling'])).toThrow("invalid filter 'label'");
    expect(() => Filters.parse(['dangling=true', 'dangling=false']).bool('dangling')).toThrow("invalid filter 'dangling=[true false]'");
    expect(() => Filters.parse(['dangling=maybe']).bool('dangling')).toThrow("invalid filter 'dangling=[maybe]'");
    expect(Filters.parse(['dangling=0']).bool('dangling')).toBe(false);
    const n = Filters.parse(['name=^c2$', 'name=[']);
    expect(n.matchRegexp('name', 'c2')).toBe(true);
    expect(n.matchRegexp('name', 'c22')).toBe(false);
  });

  it('reference patterns are Go path.Match; until is a duration, timestamp or date', () => {
    expect(pathMatch('bus*', 'busybox')).toBe(true);
    expect(pathMatch('*', 'foo/bar')).toBe(false);
    expect(pathMatch('*/*', 'foo/bar')).toBe(true);
    expect(pathMatch('busybox:lat?st', 'busybox:latest')).toBe(true);
    expect(pathMatch('b[tu]s*', 'busybox')).toBe(true);
    expect(() => pathMatch('[', 'x')).toThrow('syntax error in pattern');
    const now = Date.parse('2026-01-01T12:00:00Z');
    expect(parseUntil('1h30m', now)).toBe(now - 5_400_000);
    expect(parseUntil('1767268800', now)).toBe(Date.parse('2026-01-01T12:00:00Z'));
    expect(parseUntil('2026-01-01T10:00:00Z', now)).toBe(Date.parse('2026-01-01T10:00:00Z'));
    expect(() => parseUntil('x', now)).toThrow('failed to parse value as time or duration: "x"');
  });
});

describe('hostile formats and patterns', () => {
  it('a 5,000-deep template is a one-line parse error, 900 levels still render', () => {
    const deep = (n: number) => `${'{{if true}}'.repeat(n)}x${'{{end}}'.repeat(n)}`;
    expect(() => renderFormat(deep(5000), IMAGES, HEADER)).toThrow(/^template parsing error: template: :1: exceeded maximum template depth \(1000\)$/);
    expect(() => renderFormat(`{{${'('.repeat(5000)}1${')'.repeat(5000)}}}`, IMAGES, HEADER)).toThrow('exceeded maximum template depth');
    expect(() => renderFormat(`{{if false}}${'{{else if false}}'.repeat(5000)}{{end}}`, IMAGES, HEADER)).toThrow('exceeded maximum template depth');
    expect(renderFormat(deep(900), IMAGES, HEADER)).toBe('x\nx\nx\n');
  });
  it('a 40,000-character reference pattern matches as a pattern (no RegExp size limit)', () => {
    expect(pathMatch('a'.repeat(40_000), 'busybox')).toBe(false);
    expect(pathMatch(`${'a'.repeat(200)}*`, 'a'.repeat(250))).toBe(true);
    expect(pathMatch(`${'*'.repeat(5000)}x`, 'busybox')).toBe(true);
    expect(pathMatch('[^a]usybox', 'busybox')).toBe(true);
    expect(pathMatch('[a-c]usybox', 'busybox')).toBe(true);
    expect(pathMatch('[c-d]usybox', 'busybox')).toBe(false);
  });
});
