/** `ps` wording and layout, pinned to the seed transcript's docker output. */
import { describe, expect, it } from 'vitest';
import { combineCommand, ellipsis, formatPs, generateName, type ContainerRecord } from '../src/containers/index.js';

const NOW = Date.parse('2026-11-27T12:00:00Z');
const ago = (ms: number) => new Date(NOW - ms).toISOString();

function rec(p: { id: string; name: string; image: string; cmd: string[]; created: number; status: 'running' | 'exited' | 'created'; started?: number; finished?: number; code?: number }): ContainerRecord {
  return {
    id: p.id.padEnd(64, '0'),
    name: p.name,
    created: ago(p.created),
    config: {
      image: p.image, imageId: 'sha256:x', manifestDigest: 'sha256:y', entrypoint: [], cmd: p.cmd, env: [], cwd: '/', user: '', network: 'host',
      hostname: 'h', mounts: [], readOnly: false, tty: false, interactive: false, runtime: 'builtin', autoRemove: false,
    },
    state: { status: p.status, startedAt: p.started === undefined ? undefined : ago(p.started), finishedAt: p.finished === undefined ? undefined : ago(p.finished), exitCode: p.code },
  };
}

describe('ps formatting', () => {
  const recs = [
    rec({ id: 'aab00183d90d', name: 'python-pandas-multi-stage-image-container', image: 'simple-python-multi-stage-image', cmd: ['python', 'app.py'], created: 9_000, status: 'exited', started: 8_000, finished: 6_000, code: 0 }),
    rec({ id: '063f85c8ba19', name: 'python-pandas-ext-container', image: 'simple-python-image', cmd: ['python', '/app/ext_app.py'], created: 3_700_000, status: 'exited', started: 3_650_000, finished: 3_600_000, code: 0 }),
    rec({ id: 'e6a4413d1b9d', name: 'bitbucket', image: 'atlassian/bitbucket', cmd: ['/usr/bin/tini', '--', '/entrypoint.py'], created: 2 * 86_400_000 + 1, status: 'exited', started: 2 * 86_400_000, finished: 2 * 86_400_000 - 5, code: 143 }),
  ];

  it('matches docker ps -a from the seed transcript', () => {
    expect(formatPs(recs, { all: true }, NOW)).toBe(
      [
        'CONTAINER ID   IMAGE                             COMMAND                  CREATED             STATUS                         PORTS     NAMES',
        'aab00183d90d   simple-python-multi-stage-image   "python app.py"          9 seconds ago       Exited (0) 6 seconds ago                 python-pandas-multi-stage-image-container',
        '063f85c8ba19   simple-python-image               "python /app/ext_app…"   About an hour ago   Exited (0) About an hour ago             python-pandas-ext-container',
        'e6a4413d1b9d   atlassian/bitbucket               "/usr/bin/tini -- /e…"   2 days ago          Exited (143) 2 days ago                  bitbucket',
        '',
      ].join('\n'),
    );
  });

  it('Up / Created wording, running only without -a, -q, json', () => {
    const running = rec({ id: 'bbbbbbbbbbbb', name: 'web', image: 'busybox', cmd: ['sleep', '1000'], created: 5_000, status: 'running', started: 3_000 });
    const created = rec({ id: 'cccccccccccc', name: 'new', image: 'busybox', cmd: ['true'], created: 500, status: 'created' });
    const all = [running, created, ...recs];
    const t = formatPs(all, {}, NOW);
    expect(t.trimEnd().split('\n')).toHaveLength(2);
    expect(t).toContain('Up 3 seconds');
    expect(formatPs(all, { all: true }, NOW)).toMatch(/Less than a second ago\s+Created\s+new/);
    expect(formatPs(all, { all: true, quiet: true }, NOW)).toBe('bbbbbbbbbbbb\ncccccccccccc\naab00183d90d\n063f85c8ba19\ne6a4413d1b9d\n');
    const j = JSON.parse(formatPs([recs[1]!], { all: true, format: 'json' }, NOW).trim());
    expect(j).toMatchObject({ ID: '063f85c8ba19', Command: '"python /app/ext_app…"', Status: 'Exited (0) About an hour ago', RunningFor: 'About an hour ago', State: 'exited', Names: 'python-pandas-ext-container' });
    expect(formatPs([recs[1]!], { all: true, noTrunc: true }, NOW)).toContain('"python /app/ext_app.py"');
  });

  it('ellipsis cuts to 20 characters with …', () => {
    expect(ellipsis('python /app/ext_app.py', 20)).toBe('python /app/ext_app…');
    expect([...ellipsis('python /app/ext_app.py', 20)]).toHaveLength(20);
    expect(ellipsis('exactly twenty chars', 20)).toBe('exactly twenty chars');
  });

  it('generated names look like docker’s', () => {
    for (let i = 0; i < 50; i++) expect(generateName()).toMatch(/^[a-z]+_[a-z]+$/);
  });

  it('Entrypoint/Cmd combination (docker rules)', () => {
    const img = { Entrypoint: ['/ep.sh'], Cmd: ['serve'] };
    expect(combineCommand(img, undefined, [])).toEqual({ entrypoint: ['/ep.sh'], cmd: ['serve'] });
    expect(combineCommand(img, undefined, ['x'])).toEqual({ entrypoint: ['/ep.sh'], cmd: ['x'] });
    expect(combineCommand(img, 'sh', [])).toEqual({ entrypoint: ['sh'], cmd: [] });
    expect(combineCommand(img, '', ['ls'])).toEqual({ entrypoint: [], cmd: ['ls'] });
    expect(combineCommand({ Cmd: null }, undefined, [])).toEqual({ entrypoint: [], cmd: [] });
  });
});
