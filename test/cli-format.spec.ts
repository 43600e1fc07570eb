/**
 * docker compatibility of the listing/inspection commands through the CLI: `--format` templates,
 * `--filter`, `images --no-trunc`, `ps -n/-l`, the `image …`/`container …` management commands,
 * `image prune`, `container inspect`, `inspect --type`, and `rmi` of an image a container uses.
 * Expected lines are docker CLI 28.2's (checked against dockerd 26 side by side). Containers are
 * written as records (fixed times, states and exit codes) so that no test needs a runtime; one
 * root-only case runs a real container to see `run --label` and image labels reach `ps`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { busyboxRootfsTar, cli, importBusybox, isRoot, runCli, tmp, type CliResult } from './helpers/index.js';

const lines = (s: string): string[] => s.trimEnd().split('\n');
/** a failure docker-style: non-zero, exactly this one line on stderr */
const fails = (r: CliResult, line: string, code = 1): void => {
  expect(r.stderr).toBe(`${line}\n`);
  expect(r.code).toBe(code);
};

interface Img {
  id: string; // sha256:…
  digest: string; // manifest
}

async function imageInfo(root: string, ref: string): Promise<Img> {
  const id = (await cli(['image', 'inspect', '-f', '{{.Id}}', ref], { root })).stdout.trim();
  const digest = (JSON.parse(lines((await cli(['images', '--format', 'json', ref], { root })).stdout)[0]!) as { Digest: string }).Digest;
  return { id, digest };
}

const NOW = Date.now();
const ago = (s: number): string => new Date(NOW - s * 1000).toISOString();

/** A container record as `run` writes it (`running` = supervised by this test process, so it stays "running"). */
function writeContainer(root: string, c: { hex: string; name: string; img: Img; image: string; cmd: string[]; created: number; state: 'created' | 'running' | 'exited'; code?: number; labels?: Record<string, string> }): string {
  const id = c.hex.repeat(64).slice(0, 64);
  const state =
    c.state === 'running'
      ? { status: 'running', supervisorPid: process.pid, startedAt: ago(c.created - 1) }
      : c.state === 'exited'
        ? { status: 'exited', startedAt: ago(c.created - 1), finishedAt: ago(c.created - 2), exitCode: c.code ?? 0 }
        : { status: 'created' };
  const rec = {
    id,
    name: c.name,
    created: ago(c.created),
    config: {
      image: c.image, imageId: c.img.id, manifestDigest: c.img.digest, entrypoint: [], cmd: c.cmd, env: [], cwd: '/', user: '', network: 'none',
      hostname: id.slice(0, 12), mounts: [], readOnly: false, tty: false, interactive: false, runtime: 'builtin', autoRemove: false, labels: c.labels ?? {},
    },
    state,
  };
  mkdirSync(join(root, 'containers', id, 'upper'), { recursive: true });
  writeFileSync(join(root, 'containers', id, 'config.json'), JSON.stringify(rec));
  return id;
}

describe('images: --format, --filter, --no-trunc, image ls', () => {
  const root = tmp();
  let bb: Img;
  let dangling: Img;
  beforeAll(async () => {
    await cli(['import', busyboxRootfsTar(), 'busybox:latest', '-c', 'CMD ["sh"]', '-c', 'LABEL a=1'], { root });
    await cli(['tag', 'busybox', 'foo/bar:v1'], { root });
    await new Promise((r) => setTimeout(r, 1100)); // a later second: the dangling image sorts first
    await cli(['import', busyboxRootfsTar()], { root });
    bb = await imageInfo(root, 'busybox');
    dangling = { id: (await cli(['images', '-q', '--no-trunc', '-f', 'dangling=true'], { root })).stdout.trim(), digest: '' };
  });

  it('templates, table templates and json', async () => {
    const id = bb.id.slice(7, 19);
    const did = dangling.id.slice(7, 19);
    expect((await cli(['images', '--format', '{{.Repository}}:{{.Tag}}'], { root })).stdout).toBe('<none>:<none>\nbusybox:latest\nfoo/bar:v1\n');
    expect((await cli(['images', '--format', 'table {{.Repository}}\\t{{.Tag}}\\t{{.ID}}'], { root })).stdout).toBe(
      ['REPOSITORY   TAG       IMAGE ID', `<none>       <none>    ${did}`, `busybox      latest    ${id}`, `foo/bar      v1        ${id}`, ''].join('\n'),
    );
    expect((await cli(['images', '--format', '{{.ID}}\\t{{.Size}}|{{.VirtualSize}}|{{.Containers}}', 'busybox'], { root })).stdout).toMatch(/^[0-9a-f]{12}\t\d\.\d\dMB\|\d\.\d{3}MB\|N\/A\n$/);
    const json = (await cli(['images', '--format', 'json'], { root })).stdout;
    expect(json.split('\n')[0]).toContain('"Repository":"\\u003cnone\\u003e"'); // docker escapes <none>
    expect(lines(json).map((l) => Object.keys(JSON.parse(l) as object).join())).toEqual(Array(3).fill('Containers,CreatedAt,CreatedSince,Digest,ID,Repository,SharedSize,Size,Tag,UniqueSize,VirtualSize'));
    expect((JSON.parse(lines(json)[1]!) as { CreatedAt: string }).CreatedAt).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000 UTC$/);
    // -q is {{.ID}} only for the default format; --digests adds DIGEST to a table template
    expect((await cli(['images', '-q', '--format', '{{.Tag}}', 'busybox'], { root })).stdout).toBe('latest\n');
    expect(lines((await cli(['images', '--digests', '--format', 'table {{.Tag}}', 'busybox'], { root })).stdout)).toEqual(['TAG       DIGEST', `latest    ${bb.digest}`]);
    expect((await cli(['images', '--no-trunc', '-q'], { root })).stdout).toBe(`${dangling.id}\n${bb.id}\n${bb.id}\n`);
    expect((await cli(['images', '--no-trunc', '--format', '{{.ID}}', 'foo/bar'], { root })).stdout).toBe(`${bb.id}\n`);
  });

  it('image ls / image list are images', async () => {
    const want = (await cli(['images'], { root })).stdout;
    // CREATED's width follows its longest value ("2 minutes ago", "About a minute ago")
    expect(lines(want)[0]).toMatch(/^REPOSITORY {3}TAG {7}IMAGE ID {7}CREATED {2,}SIZE$/);
    // the same table, CREATED aside (its "N seconds ago" may move on between the two calls)
    const cells = (out: string) => lines(out).map((l) => l.split(/ {2,}/).filter((_, i) => i !== 3));
    expect(cells((await cli(['image', 'ls'], { root })).stdout)).toEqual(cells(want));
    expect((await cli(['image', 'list', '-q'], { root })).stdout).toBe((await cli(['images', '-q'], { root })).stdout);
  });

  it('filters like the daemon', async () => {
    const names = async (...args: string[]): Promise<string> => (await cli(['images', '--format', '{{.Repository}}:{{.Tag}}', ...args], { root })).stdout;
    expect(await names('-f', 'dangling=true')).toBe('<none>:<none>\n');
    expect(await names('--filter', 'dangling=false')).toBe('busybox:latest\nfoo/bar:v1\n');
    expect(await names('-f', 'DANGLING=1')).toBe('<none>:<none>\n');
    expect(await names('-f', 'reference=bus*')).toBe('busybox:latest\n');
    expect(await names('-f', 'reference=*/*')).toBe('foo/bar:v1\n');
    expect(await names('-f', 'reference=busybox:lat*')).toBe('busybox:latest\n');
    expect(await names('foo/*')).toBe('foo/bar:v1\n');
    expect(await names('busybox')).toBe('busybox:latest\n');
    expect(await names('nope')).toBe('');
    expect(await names('-f', 'label=a')).toBe('busybox:latest\nfoo/bar:v1\n');
    expect(await names('-f', 'label=a=2')).toBe('');
    expect(await names('-f', `before=${dangling.id.slice(7, 19)}`)).toBe('busybox:latest\nfoo/bar:v1\n');
    expect(await names('-f', 'since=busybox')).toBe('<none>:<none>\n');
    expect(await names('-f', 'until=1h')).toBe('');
    fails(await runCli(['images', '-f', 'since=nope'], { root }), 'No such image: nope:latest');
    fails(await runCli(['images', '-f', 'x=1'], { root }), "invalid filter 'x'");
    fails(await runCli(['images', '-f', 'dangling=maybe'], { root }), "invalid filter 'dangling=[maybe]'");
    fails(await runCli(['images', '-f', 'reference=['], { root }), 'syntax error in pattern');
    fails(await runCli(['images', '-f', 'foo'], { root }), 'invalid argument "foo" for "-f, --filter" flag: bad format of filter (expected name=value)', 125);
  });

  it('template errors are one line, like docker', async () => {
    fails(await runCli(['images', '--format', '{{.Foo}}'], { root }), 'template parsing error: template: :1:2: executing "" at <.Foo>: can\'t evaluate field Foo in type *formatter.imageContext');
    fails(await runCli(['images', '--format', '{{.ID'], { root }), 'template parsing error: template: :1: unclosed action');
    fails(await runCli(['images', '--format', '{{if .ID}}x'], { root }), 'template parsing error: template: :1: unexpected EOF');
    fails(await runCli(['images', '--format', '{{nope .ID}}'], { root }), 'template parsing error: template: :1: function "nope" not defined');
    // a format with no actions is a template too
    expect((await cli(['images', '--format', 'yaml'], { root })).stdout).toBe('yaml\nyaml\nyaml\n');
  });

  it('history and system df take templates', async () => {
    const id = bb.id.slice(7, 19);
    expect((await cli(['history', '--format', '{{.ID}}|{{.Size}}|{{.CreatedBy}}|{{.Comment}}', 'busybox'], { root })).stdout).toMatch(new RegExp(`^${id}\\|\\d\\.\\d\\dMB\\|\\|Imported from .*busybox-rootfs-v2\\.tar\\n$`));
    expect((await cli(['image', 'history', '--format', 'table {{.ID}}\\t{{.CreatedBy}}', 'busybox'], { root })).stdout).toBe(`IMAGE          CREATED BY\n${id}   \n`);
    const h = JSON.parse((await cli(['history', '--format', 'json', 'busybox'], { root })).stdout) as Record<string, string>;
    expect(Object.keys(h)).toEqual(['Comment', 'CreatedAt', 'CreatedBy', 'CreatedSince', 'ID', 'Size']);
    expect(h.CreatedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect((await cli(['history', '--no-trunc', '-q', 'busybox'], { root })).stdout).toBe(`${bb.id}\n`);
    expect((await cli(['history', '-H=false', '--format', '{{.Size}} {{.CreatedSince}}', 'busybox'], { root })).stdout).toMatch(/^\d{7} \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n$/);
    fails(await runCli(['history', '--format', '{{.Foo}}', 'busybox'], { root }), 'template parsing error: template: :1:2: executing "" at <.Foo>: can\'t evaluate field Foo in type *image.historyContext');
    fails(await runCli(['history', 'nope'], { root }), 'No such image: nope:latest');

    expect((await cli(['system', 'df', '--format', '{{.Type}}'], { root })).stdout).toBe('Images\nContainers\nBlobs\nSnapshots\nBuild Cache\n');
    expect(lines((await cli(['system', 'df'], { root })).stdout)[0]).toMatch(/^TYPE {2,}TOTAL {5}ACTIVE {4}SIZE {2,}RECLAIMABLE$/);
    const df = JSON.parse(lines((await cli(['system', 'df', '--format', 'json'], { root })).stdout)[0]!) as Record<string, string>;
    expect(df).toMatchObject({ Type: 'Images', TotalCount: '2', Active: '1' });
    expect(df.Reclaimable).toMatch(/^\d\.\d{3}MB \(\d+%\)$/); // units.HumanSize (4 digits), whole percent
    fails(await runCli(['system', 'df', '--format', '{{.Foo}}'], { root }), 'template parsing error: template: :1:2: executing "" at <.Foo>: can\'t evaluate field Foo in type *formatter.diskUsageImagesContext');
  });
});

describe('ps, container ls, inspect, rmi and prune with containers', () => {
  const root = tmp();
  let bb: Img;
  const ids: Record<string, string> = {};
  beforeAll(async () => {
    await cli(['import', busyboxRootfsTar(), 'busybox:latest', '-c', 'CMD ["sh"]', '-c', 'LABEL a=1'], { root });
    await cli(['tag', 'busybox', 'foo/bar:v1'], { root });
    bb = await imageInfo(root, 'busybox');
    ids.c1 = writeContainer(root, { hex: 'a1', name: 'c1', img: bb, image: 'busybox', cmd: ['echo', 'hi'], created: 25_202, state: 'exited', code: 0, labels: { a: '1' } });
    ids.c2 = writeContainer(root, { hex: 'b2', name: 'c2', img: bb, image: 'busybox', cmd: ['sh', '-c', 'exit 3'], created: 18_002, state: 'exited', code: 3, labels: { a: '1', b: '2' } });
    ids.c3 = writeContainer(root, { hex: 'c3', name: 'c3', img: bb, image: 'foo/bar:v1', cmd: ['true'], created: 14_400, state: 'created' });
    ids.c4 = writeContainer(root, { hex: 'd4', name: 'c4', img: bb, image: 'busybox', cmd: ['sleep', '1000'], created: 10_801, state: 'running' });
  });
  const ps = async (...args: string[]): Promise<string> => (await cli(['ps', '--format', '{{.Names}}', ...args], { root })).stdout;

  it('-a, -n, -l and docker’s columns', async () => {
    expect(await ps()).toBe('c4\n');
    expect(await ps('-a')).toBe('c4\nc3\nc2\nc1\n');
    expect(await ps('-n', '2')).toBe('c4\nc3\n');
    expect(await ps('--last', '-1')).toBe('c4\n');
    expect(await ps('-l')).toBe('c4\n');
    expect((await cli(['ps', '-a', '-l', '-q'], { root })).stdout).toBe(`${ids.c4!.slice(0, 12)}\n`);
    // whole hours (docker rounds to the nearest): a slow run (minutes under load) still reads the same
    const row = (cells: string[]): string => cells.map((c, i) => (i < cells.length - 1 ? c.padEnd([15, 13, 19, 25, 10, 10][i]!) : c)).join('');
    expect(lines((await cli(['ps', '-a', '--format', 'table {{.ID}}\\t{{.Image}}\\t{{.Command}}\\t{{.Status}}\\t{{.State}}\\t{{.Labels}}\\t{{.Names}}'], { root })).stdout)).toEqual([
      row(['CONTAINER ID', 'IMAGE', 'COMMAND', 'STATUS', 'STATE', 'LABELS', 'NAMES']),
      row([ids.c4!.slice(0, 12), 'busybox', '"sleep 1000"', 'Up 3 hours', 'running', '', 'c4']),
      row([ids.c3!.slice(0, 12), 'foo/bar:v1', '"true"', 'Created', 'created', '', 'c3']),
      row([ids.c2!.slice(0, 12), 'busybox', `"sh -c 'exit 3'"`, 'Exited (3) 5 hours ago', 'exited', 'a=1,b=2', 'c2']),
      row([ids.c1!.slice(0, 12), 'busybox', '"echo hi"', 'Exited (0) 7 hours ago', 'exited', 'a=1', 'c1']),
    ]);
    expect(lines((await cli(['ps', '-a', '--format', '{{.Label "b"}}|{{.Platform}}|{{.Size}}|{{.LocalVolumes}}|{{.Networks}}|{{.RunningFor}}|{{.CreatedAt}}'], { root })).stdout)[2]).toMatch(
      /^2\|<nil>\|0B\|0\|none\|5 hours ago\|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000 UTC$/,
    );
    const j = JSON.parse((await cli(['ps', '--format', 'json'], { root })).stdout) as Record<string, unknown>;
    expect(Object.keys(j)).toEqual(['Command', 'CreatedAt', 'ID', 'Image', 'Labels', 'LocalVolumes', 'Mounts', 'Names', 'Networks', 'Platform', 'Ports', 'RunningFor', 'Size', 'State', 'Status']);
    expect(j).toMatchObject({ Command: '"sleep 1000"', Names: 'c4', Platform: null, State: 'running' });
    expect((await cli(['ps', '-q', '--no-trunc'], { root })).stdout).toBe(`${ids.c4}\n`);
    // -q wins over --format for ps (not for images)
    expect((await cli(['ps', '-q', '--format', '{{.Names}}'], { root })).stdout).toBe(`${ids.c4!.slice(0, 12)}\n`);
    fails(await runCli(['ps', '-n', 'x'], { root }), 'invalid argument "x" for "-n, --last" flag: strconv.ParseInt: parsing "x": invalid syntax', 125);
  });

  it('container ls|ps|list are ps', async () => {
    const want = (await cli(['ps', '-a'], { root })).stdout;
    expect(lines(want)[0]).toMatch(/^CONTAINER ID {3}IMAGE {8}COMMAND {12}CREATED {2,}STATUS {2,}PORTS {5}NAMES$/);
    for (const alias of ['ls', 'ps', 'list']) expect((await cli(['container', alias, '-a'], { root })).stdout).toBe(want);
  });

  it('--filter status, name, id, ancestor, exited, label, before, since', async () => {
    expect(await ps('-a', '--filter', 'status=exited')).toBe('c2\nc1\n');
    expect(await ps('--filter', 'status=created')).toBe('c3\n'); // status implies -a
    expect(await ps('-f', 'status=exited', '-f', 'status=created')).toBe('c3\nc2\nc1\n');
    expect(await ps('-f', 'status=running')).toBe('c4\n');
    expect(await ps('-a', '-f', 'name=c')).toBe('c4\nc3\nc2\nc1\n');
    expect(await ps('-a', '-f', 'name=^c2$')).toBe('c2\n');
    expect(await ps('-a', '-f', 'name=/c2')).toBe('c2\n');
    expect(await ps('-a', '-f', `id=${ids.c2!.slice(0, 5)}`)).toBe('c2\n');
    expect(await ps('-a', '-f', `id=${ids.c2!.slice(1, 7)}`)).toBe(''); // a prefix, not a pattern
    expect(await ps('-a', '-f', 'exited=3')).toBe('c2\n');
    expect(await ps('-f', 'exited=3')).toBe(''); // exited does not imply -a
    expect(await ps('-a', '-f', 'exited=0')).toBe('c1\n'); // c3 never ran: not "exited 0"
    expect(await ps('-a', '-f', 'label=a')).toBe('c2\nc1\n');
    expect(await ps('-a', '-f', 'label=b=2')).toBe('c2\n');
    expect(await ps('-a', '-f', 'label=a', '-f', 'label=c')).toBe('');
    expect(await ps('-a', '-f', 'ancestor=busybox')).toBe('c4\nc3\nc2\nc1\n');
    expect(await ps('-a', '-f', 'ancestor=foo/bar:v1')).toBe('c4\nc3\nc2\nc1\n');
    expect(await ps('-a', '-f', `ancestor=${bb.id.slice(7, 19)}`)).toBe('c4\nc3\nc2\nc1\n');
    expect(await ps('-a', '-f', 'ancestor=nope')).toBe('');
    expect(await ps('-f', 'before=c3')).toBe('c2\nc1\n');
    expect(await ps('-f', 'since=c2')).toBe('c4\nc3\n');
    expect(await ps('-n', '1', '-f', 'status=exited')).toBe('c2\n'); // the limit counts what the filters keep
    expect(await ps('-a', '-f', 'network=none', '-f', 'health=none')).toBe('c4\nc3\nc2\nc1\n');
    expect(await ps('-a', '-f', 'publish=80')).toBe('');
    fails(await runCli(['ps', '-f', 'status=bogus'], { root }), "invalid filter 'status=bogus'");
    fails(await runCli(['ps', '-a', '-f', 'exited=x'], { root }), 'invalid filter \'exited=x\': strconv.Atoi: parsing "x": invalid syntax');
    fails(await runCli(['ps', '-f', 'foo=bar'], { root }), "invalid filter 'foo'");
    fails(await runCli(['ps', '-f', 'since=nope'], { root }), 'No such container: nope');
    fails(await runCli(['ps', '-f', 'health=x'], { root }), 'unrecognized filter value for health: x');
  });

  it('ps template errors are docker’s (checked before listing)', async () => {
    fails(await runCli(['ps', '--format', '{{.Foo}}'], { root }), 'failed to execute template: template: :1:2: executing "" at <.Foo>: can\'t evaluate field Foo in type *formatter.ContainerContext');
    fails(await runCli(['ps', '--format', '{{.ID'], { root }), 'failed to parse template: template: :1: unclosed action');
    fails(await runCli(['ps', '-a', '--format', 'table {{.ID}}\\t{{range .Names}}{{end}}'], { root }), 'failed to execute template: template: :1:23: executing "" at <.Names>: range can\'t iterate over ');
  });

  it('inspect: containers first, then images; --type; container inspect; -f', async () => {
    const c2 = JSON.parse((await cli(['container', 'inspect', 'c2'], { root })).stdout) as Record<string, any>[];
    expect(c2).toHaveLength(1);
    expect(c2[0]).toMatchObject({
      Id: ids.c2, Path: 'sh', Args: ['-c', 'exit 3'], Image: bb.id, Name: '/c2',
      State: { Status: 'exited', Running: false, ExitCode: 3, Pid: 0 },
      Config: { Cmd: ['sh', '-c', 'exit 3'], Entrypoint: null, Env: null, Image: 'busybox', Labels: { a: '1', b: '2' } },
    });
    expect((await cli(['inspect', '-f', '{{.Name}} {{.State.Status}} {{.State.ExitCode}} {{.Config.Entrypoint}} {{.Args}} {{.State.FinishedAt}}', 'c3'], { root })).stdout).toBe(
      '/c3 created 0 [] [] 0001-01-01T00:00:00Z\n',
    );
    expect((await cli(['inspect', '-f', '{{.Config.Cmd}}|{{.Config.Entrypoint}}|{{index .RepoTags 0}}|{{json .Config.Labels}}|{{.Config.Env}}', 'busybox'], { root })).stdout).toBe(
      '[sh]|[]|busybox:latest|{"a":"1"}|[]\n',
    );
    // one compact array for -f json
    const arr = (await cli(['inspect', '-f', 'json', 'busybox', 'c4'], { root })).stdout;
    expect(arr).toMatch(/^\[\{"Id":"sha256:[0-9a-f]{64}".*\}\]\n$/);
    expect((JSON.parse(arr) as { Id: string }[]).map((o) => o.Id)).toEqual([bb.id, ids.c4]);
    // a container named like an image wins, as with docker; --type picks
    writeContainer(root, { hex: 'e5', name: 'busybox', img: bb, image: 'busybox', cmd: ['true'], created: 50, state: 'created' });
    expect((await cli(['inspect', '-f', '{{.Id}}', 'busybox'], { root })).stdout).toBe(`${'e5'.repeat(32)}\n`);
    expect((await cli(['inspect', '--type', 'image', '-f', '{{.Id}}', 'busybox'], { root })).stdout).toBe(`${bb.id}\n`);
    expect((await cli(['image', 'inspect', '-f', '{{.Id}}', 'busybox'], { root })).stdout).toBe(`${bb.id}\n`);
    await cli(['rm', 'busybox'], { root });
    expect((await cli(['inspect', '-f', '{{.Id}}', 'busybox'], { root })).stdout).toBe(`${bb.id}\n`);
  });

  it('inspect errors: docker’s lines, output for what was found, exit codes', async () => {
    let r = await runCli(['inspect', 'nope'], { root });
    expect(r.stdout).toBe('[]\n');
    fails(r, 'Error: No such object: nope');
    r = await runCli(['inspect', '-f', '{{.Name}}', 'c1', 'nope'], { root });
    expect(r.stdout).toBe('/c1\n');
    fails(r, 'Error: No such object: nope');
    fails(await runCli(['inspect', '--type', 'image', 'c1'], { root }), 'No such image: c1:latest');
    fails(await runCli(['inspect', '--type', 'container', 'busybox'], { root }), 'No such container: busybox');
    fails(await runCli(['container', 'inspect', 'foo/bar:v1'], { root }), 'No such container: foo/bar:v1');
    fails(await runCli(['inspect', '--type', 'foo', 'c1'], { root }), 'unknown type: "foo": must be one of "config", "container", "image", "network", "node", "plugin", "secret", "service", "task", "volume"');
    r = await runCli(['inspect', '-f', '{{.Foo}}', 'busybox'], { root });
    expect(r.stdout).toBe('\n');
    fails(r, 'template parsing error: template: :1:2: executing "" at <.Foo>: map has no entry for key "Foo"');
    fails(await runCli(['inspect', '-f', '{{.Id', 'busybox'], { root }), 'template parsing error: template: :1: unclosed action', 64);
  });

  it('rmi of an image containers use: docker’s conflicts, -f untags', async () => {
    const id12 = bb.id.slice(7, 19);
    await cli(['import', busyboxRootfsTar(), 'solo:1'], { root });
    const solo = await imageInfo(root, 'solo:1');
    const s1 = writeContainer(root, { hex: 'f6', name: 's1', img: solo, image: 'solo:1', cmd: ['true'], created: 40, state: 'exited' });
    const sid = solo.id.slice(7, 19);
    fails(await runCli(['rmi', 'solo:1'], { root }), `conflict: unable to remove repository reference "solo:1" (must force) - container ${s1.slice(0, 12)} is using its referenced image ${sid}`);
    fails(await runCli(['rmi', sid], { root }), `conflict: unable to delete ${sid} (must be forced) - image is being used by stopped container ${s1.slice(0, 12)}`);
    expect((await cli(['rmi', '-f', 'solo:1'], { root })).stdout).toBe(`Untagged: solo:1\nDeleted: ${solo.id}\n`);
    // the container keeps its image; ps shows its ID now that the name is gone
    expect((await cli(['ps', '-a', '-f', 'name=s1', '--format', '{{.Image}}'], { root })).stdout).toBe(`${sid}\n`);
    expect((await cli(['ps', '-a', '-f', 'name=s1', '--no-trunc', '--format', '{{.Image}}'], { root })).stdout).toBe(`${solo.id}\n`);

    // a running container: the ID cannot be removed even with -f
    for (const f of [[], ['-f']]) {
      fails(await runCli(['rmi', ...f, id12], { root }), `conflict: unable to delete ${id12} (cannot be forced) - image is being used by running container ${ids.c4!.slice(0, 12)}`);
    }
    // one of two tags just goes
    expect((await cli(['rmi', 'foo/bar:v1'], { root })).stdout).toBe('Untagged: foo/bar:v1\n');
    // the last tag needs -f; the image stays (dangling) for its running container
    fails(await runCli(['rmi', 'busybox'], { root }), `conflict: unable to remove repository reference "busybox" (must force) - container ${ids.c4!.slice(0, 12)} is using its referenced image ${id12}`);
    expect((await cli(['rmi', '-f', 'busybox'], { root })).stdout).toBe('Untagged: busybox:latest\n');
    expect((await cli(['images', '--format', '{{.Repository}} {{.ID}}'], { root })).stdout).toBe(`<none> ${id12}\n`);
    // missing names: errors after the successes; -f tolerates them (exit 0)
    await cli(['import', busyboxRootfsTar(), 'free:1'], { root });
    const free = await imageInfo(root, 'free:1');
    const r = await runCli(['rmi', 'nope', 'free:1'], { root });
    expect(r.stdout).toBe(`Untagged: free:1\nDeleted: ${free.id}\n`);
    fails(r, 'No such image: nope:latest');
    const f = await runCli(['rmi', '-f', 'nope'], { root });
    expect(f.stderr).toBe('No such image: nope:latest\n');
    expect(f.code).toBe(0);
  });

  it('image prune asks first, removes dangling images (-a: all unused) and reports like docker', async () => {
    const prompt = 'WARNING! This will remove all dangling images.\nAre you sure you want to continue? [y/N] ';
    await cli(['import', busyboxRootfsTar()], { root });
    const dangling = (await cli(['images', '-q', '--no-trunc', '-f', 'dangling=true'], { root })).stdout.trim().split('\n');
    expect(dangling.length).toBeGreaterThanOrEqual(2); // this one and busybox's, kept for container c4
    const unused = dangling.filter((d) => d !== bb.id);
    let r = await cli(['image', 'prune'], { root, input: 'n\n' });
    expect(r.stdout).toBe(prompt);
    expect((await cli(['images', '-q', '--no-trunc', '-f', 'dangling=true'], { root })).stdout.trim().split('\n')).toEqual(dangling);
    r = await cli(['image', 'prune'], { root, input: 'y\n' });
    expect(r.stdout).toMatch(new RegExp(`^${prompt.replace(/[?[\]]/g, '\\$&')}Deleted Images:\\n${unused.map((u) => `deleted: ${u}\\n`).join('')}\\nTotal reclaimed space: \\d+(\\.\\d+)?[kM]?B\\n$`));
    expect((await cli(['images', '-q', '--no-trunc', '-f', 'dangling=true'], { root })).stdout).toBe(`${bb.id}\n`); // used by c4
    expect((await cli(['image', 'prune', '-f'], { root })).stdout).toBe('Total reclaimed space: 0B\n');
    // -a: tagged images no container uses go too, their tags listed first
    await cli(['import', busyboxRootfsTar(), 'spare:1'], { root });
    const spare = await imageInfo(root, 'spare:1');
    r = await cli(['image', 'prune', '-a'], { root, input: '\n' });
    expect(r.stdout).toBe('WARNING! This will remove all images without at least one container associated to them.\nAre you sure you want to continue? [y/N] ');
    r = await cli(['image', 'prune', '-a', '-f'], { root });
    expect(r.stdout).toMatch(new RegExp(`^Deleted Images:\\nuntagged: spare:1\\ndeleted: ${spare.id}\\n\\nTotal reclaimed space: `));
    expect((await cli(['images', '-q', '--no-trunc'], { root })).stdout).toBe(`${bb.id}\n`);
  });

  it('container prune asks first', async () => {
    const before = (await cli(['ps', '-aq'], { root })).stdout;
    const r = await cli(['container', 'prune'], { root, input: 'no\n' });
    expect(r.stdout).toBe('WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] ');
    expect((await cli(['ps', '-aq'], { root })).stdout).toBe(before);
    const p = await cli(['container', 'prune'], { root, input: 'Y\n' });
    expect(p.stdout).toMatch(/\[y\/N\] Deleted Containers:\n([0-9a-f]{64}\n)+\nTotal reclaimed space: 0B\n$/);
    expect((await cli(['ps', '-a', '--format', '{{.Names}}'], { root })).stdout).toBe('c4\n');
  });
});

describe.skipIf(!isRoot)('run --label and image labels reach ps', () => {
  it('label filters and {{.Label}} see both', async () => {
    const root = tmp();
    await cli(['import', busyboxRootfsTar(), 'lab:1', '-c', 'CMD ["true"]', '-c', 'LABEL from=image'], { root });
    await cli(['run', '--name', 'labelled', '-l', 'x=1', '--label', 'flag', 'lab:1'], { root });
    await importBusybox(root);
    await cli(['run', '--name', 'plain', 'busybox', 'true'], { root });
    expect((await cli(['ps', '-a', '-f', 'label=x=1', '--format', '{{.Names}} {{.Labels}} {{.Label "from"}}'], { root })).stdout).toBe('labelled flag=,from=image,x=1 image\n');
    expect((await cli(['ps', '-a', '-f', 'label=flag', '--format', '{{.Names}}'], { root })).stdout).toBe('labelled\n');
    expect((await cli(['container', 'inspect', '-f', '{{json .Config.Labels}} {{.State.Status}}', 'labelled'], { root })).stdout).toBe('{"flag":"","from":"image","x":"1"} exited\n');
  });
});
