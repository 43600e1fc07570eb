/**
 * Progress like BuildKit's: plain output (`#N [stage i/n] INSTRUCTION`, `#N 0.123 output`,
 * `#N CACHED`, `#N DONE 1.2s`, the [internal] vertices, `exporting to image`, `naming to ...`),
 * JSON events with --progress json, and the live tty view (final frame) with --progress tty.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { importBusybox, isRoot, tmp } from './helpers/index.js';
import { buildOk, context } from './helpers/build.js';
import { runCli } from './helpers/index.js';

const DOCKERFILE = `FROM busybox AS one
RUN echo out-one && echo err-one >&2

FROM busybox
COPY --from=one /etc/passwd /h
RUN echo final
`;

describe.skipIf(!isRoot)('build: progress', () => {
  let root: string;
  let ctx: string;
  beforeAll(async () => {
    root = tmp('sc-root-');
    await importBusybox(root);
    ctx = context({ Dockerfile: DOCKERFILE });
  });

  it('plain: BuildKit’s vertex lines, output lines, DONE, CACHED, internal and export vertices', async () => {
    const r = await buildOk(root, ctx, ['-t', 'prog:t']);
    const e = r.stderr;
    expect(e).toMatch(/^#1 \[internal\] load build definition from Dockerfile\n#1 transferring dockerfile: \d+B done\n#1 DONE \d+\.\ds\n\n/);
    expect(e).toMatch(/#\d+ \[internal\] load metadata for docker\.io\/library\/busybox:latest\n/);
    expect(e).toMatch(/#\d+ \[internal\] load \.dockerignore\n/);
    // a stored base: no digest, CACHED, and one vertex for both stages (BuildKit dedups it)
    expect(e).toMatch(/#(\d+) \[one 1\/2\] FROM docker\.io\/library\/busybox:latest\n#\1 CACHED\n/);
    expect(e).not.toContain('[stage-1 1/3] FROM');
    expect(e).toMatch(/#\d+ \[internal\] load \.dockerignore\n#\d+ transferring context: 2B done\n/);
    expect(e).toMatch(/#(\d+) \[one 2\/2\] RUN echo out-one && echo err-one >&2\n(#\1 \d+\.\d{3} (out|err)-one\n){2}#\1 DONE \d+\.\ds\n/);
    expect(e).toMatch(/#\d+ \[stage-1 2\/3\] COPY --from=one \/etc\/passwd \/h\n/);
    expect(e).toMatch(/#(\d+) exporting to image\n(#\1 .*\n)*#\1 naming to docker\.io\/library\/prog:t done\n#\1 DONE/);
    expect(r.stdout).toBe('');

    const r2 = await buildOk(root, ctx, ['-t', 'prog:t']);
    expect(r2.stderr).toMatch(/#(\d+) \[one 2\/2\] RUN echo out-one && echo err-one >&2\n#\1 CACHED\n/);
    expect(r2.stderr).toMatch(/#(\d+) \[stage-1 3\/3\] RUN echo final\n#\1 CACHED\n/);
  });

  it('json: one event per line, vertices with start/completion, logs', async () => {
    const r = await runCli(['build', '--progress', 'json', '--no-cache', '-t', 'prog:json', ctx], { root });
    expect(r.code).toBe(0);
    const events = r.stderr.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const names = new Map<number, string>();
    for (const ev of events) if (ev.type === 'vertex') names.set(ev.vertex as number, ev.name as string);
    const log = events.find((ev) => ev.type === 'log' && ev.line === 'out-one');
    expect(log).toBeDefined();
    expect(names.get(log?.vertex as number)).toBe('[one 2/2] RUN echo out-one && echo err-one >&2');
    const completed = events.filter((ev) => ev.type === 'vertex' && ev.completed);
    expect(completed.length).toBe(names.size);
    expect(events.some((ev) => ev.type === 'status' && ev.text === 'naming to docker.io/library/prog:json done')).toBe(true);
  });

  it('tty: the final frame lists every vertex with a FINISHED header', async () => {
    const r = await runCli(['build', '--progress', 'tty', '-t', 'prog:tty', ctx], { root });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/\[\+\] Building \d+\.\ds \(\d+\/\d+\) FINISHED/);
    expect(r.stderr).toMatch(/ => CACHED \[one 2\/2\] RUN echo out-one/);
    expect(r.stderr).toMatch(/ => exporting to image/);
  });
});
