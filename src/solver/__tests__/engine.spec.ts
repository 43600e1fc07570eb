/**
 * The engine with a fake executor (as BuildKit tests its scheduler): everything real — plan,
 * dispatch, overlay snapshots, layers, the store, cache records — except the process a RUN starts,
 * which is a function that reads a tiny command language (`write F TEXT`, `sleep MS`, `fail`,
 * `hang`) and records when it ran. Shows ordering, parallel stages, cache hits and misses,
 * failure (the other stages are stopped) and cancellation. Needs root (overlay mounts).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { UserError } from '../../util/errors.js';
import { build, type BuildOptions } from '../index.js';
import type { ExecResult, ExecSpec } from '../deps.js';

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const dirs: string[] = [];
const tmp = (p: string): string => {
  const d = mkdtempSync(join(tmpdir(), p));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Run {
  cmd: string;
  start: number;
  end: number;
  aborted: boolean;
}

/** A fake executor: `sh -c "a; b"` runs the commands a and b of the little language. */
function fakeExecutor(log: Run[]) {
  return async (spec: ExecSpec): Promise<ExecResult> => {
    const cmd = spec.args[spec.args.length - 1] as string;
    const run: Run = { cmd, start: performance.now(), end: 0, aborted: false };
    log.push(run);
    try {
      for (const part of cmd.split(';').map((s) => s.trim()).filter(Boolean)) {
        const [op, ...rest] = part.split(' ');
        if (op === 'write') await writeFile(join(spec.rootfs, rest[0] as string), `${rest.slice(1).join(' ')}\n`);
        else if (op === 'sleep') await new Promise((r) => setTimeout(r, Number(rest[0])));
        else if (op === 'fail') return { exitCode: 3 };
        else if (op === 'hang') {
          await new Promise<void>((resolve) => {
            if (spec.signal?.aborted) return resolve();
            spec.signal?.addEventListener('abort', () => resolve(), { once: true });
          });
          run.aborted = true;
          return { exitCode: 137, signal: 'SIGKILL' };
        }
      }
      return { exitCode: 0 };
    } finally {
      run.end = performance.now();
    }
  };
}

const sink = (): Writable & { text: string } => {
  const w = new Writable({
    write(c, _e, cb) {
      w.text += c.toString();
      cb();
    },
  }) as Writable & { text: string };
  w.text = '';
  return w;
};

function options(root: string, dockerfile: string, extra: Partial<BuildOptions> = {}): BuildOptions {
  const ctx = tmp('sc-eng-ctx-');
  writeFileSync(join(ctx, 'Dockerfile'), dockerfile);
  return {
    contextDir: ctx,
    tags: ['eng:t'],
    buildArgs: {},
    noCache: false,
    pull: false,
    secrets: [],
    progress: 'plain',
    outputs: [],
    push: false,
    labels: {},
    network: 'none',
    buildContexts: {},
    storeRoot: root,
    progressStream: sink(),
    ...extra,
  };
}

async function fileOf(root: string, opts: BuildOptions, path: string): Promise<string> {
  const out = tmp('sc-eng-out-');
  await mkdir(out, { recursive: true });
  await build({ ...opts, outputs: [{ type: 'local', dest: out }], progressStream: sink() }, { executor: fakeExecutor([]) });
  return readFileSync(join(out, path), 'utf8');
}

describe.skipIf(!isRoot)('engine with a fake executor', () => {
  it('runs a stage\'s steps in order and a COPY --from after its source stage', async () => {
    const root = tmp('sc-eng-root-');
    const log: Run[] = [];
    const df = `FROM scratch AS a
RUN write a1 one; sleep 50
RUN write a2 two
FROM scratch
RUN write b1 three
COPY --from=a /a2 /copied
RUN write b2 four
`;
    const opts = options(root, df);
    const r = await build(opts, { executor: fakeExecutor(log) });
    expect(r.executed).toBe(5);
    const at = (c: string): Run => log.find((x) => x.cmd.startsWith(c)) as Run;
    expect(at('write a1').end).toBeLessThanOrEqual(at('write a2').start);
    expect(at('write b1').end).toBeLessThanOrEqual(at('write b2').start);
    // the COPY waited for stage a: the step after it started after a's last step ended
    expect(at('write a2').end).toBeLessThanOrEqual(at('write b2').start);
    expect(await fileOf(root, opts, 'copied')).toBe('two\n');
  });

  it('runs independent stages in parallel', async () => {
    const root = tmp('sc-eng-root-');
    const log: Run[] = [];
    const df = `FROM scratch AS a
RUN sleep 400; write a x
FROM scratch AS b
RUN sleep 400; write b y
FROM scratch
COPY --from=a /a /a
COPY --from=b /b /b
`;
    await build(options(root, df), { executor: fakeExecutor(log) });
    expect(log).toHaveLength(2);
    const [x, y] = log as [Run, Run];
    // both were running at the same time
    expect(Math.max(x.start, y.start)).toBeLessThan(Math.min(x.end, y.end));
  });

  it('hits the cache on a rebuild and misses from the first changed step on', async () => {
    const root = tmp('sc-eng-root-');
    const df = (v: string) => `FROM scratch
RUN write f1 same
RUN write f2 ${v}
RUN write f3 after
`;
    const first: Run[] = [];
    const r1 = await build(options(root, df('v1')), { executor: fakeExecutor(first) });
    expect([r1.executed, r1.cached, first.length]).toEqual([3, 0, 3]);
    const again: Run[] = [];
    const r2 = await build(options(root, df('v1')), { executor: fakeExecutor(again) });
    expect([r2.executed, r2.cached, again.length]).toEqual([0, 3, 0]);
    expect(r2.imageId).toBe(r1.imageId);
    const changed: Run[] = [];
    const r3 = await build(options(root, df('v2')), { executor: fakeExecutor(changed) });
    expect([r3.executed, r3.cached]).toEqual([2, 1]);
    expect(changed.map((x) => x.cmd)).toEqual(['write f2 v2', 'write f3 after']);
  });

  it('a failing step fails the build with BuildKit\'s message and stops the other stages', async () => {
    const root = tmp('sc-eng-root-');
    const log: Run[] = [];
    const df = `FROM scratch AS slow
RUN hang
FROM scratch AS bad
RUN sleep 100; fail
FROM scratch
COPY --from=slow /x /x
COPY --from=bad /y /y
`;
    const opts = options(root, df);
    const err = await build(opts, { executor: fakeExecutor(log) }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toBe('ERROR: failed to solve: process "/bin/sh -c sleep 100; fail" did not complete successfully: exit code: 3');
    expect(log.find((x) => x.cmd === 'hang')?.aborted).toBe(true);
    // the report names the step and shows the Dockerfile line
    expect((opts.progressStream as Writable & { text: string }).text).toMatch(/Dockerfile:4\n/);
  });

  it('cancellation aborts the running step with the caller\'s reason; nothing is tagged', async () => {
    const root = tmp('sc-eng-root-');
    const log: Run[] = [];
    const ac = new AbortController();
    const opts = options(root, 'FROM scratch\nRUN write before x\nRUN hang\n', { signal: ac.signal });
    const p = build(opts, { executor: fakeExecutor(log) });
    const t = setInterval(() => {
      if (log.some((x) => x.cmd === 'hang')) ac.abort(new UserError('ERROR: failed to solve: canceled (SIGINT)', { exitCode: 130 }));
    }, 20);
    const err = await p.then(() => undefined, (e: unknown) => e);
    clearInterval(t);
    expect((err as UserError).message).toBe('ERROR: failed to solve: canceled (SIGINT)');
    expect((err as UserError).exitCode).toBe(130);
    expect(log.find((x) => x.cmd === 'hang')?.aborted).toBe(true);
    const { Store } = await import('../../store/index.js');
    expect(await (await Store.open(root)).resolveImage('eng:t')).toBeUndefined();
  });
});
