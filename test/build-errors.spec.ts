/**
 * Failures: a failing RUN prints its last output lines and the Dockerfile snippet with BuildKit's
 * wording, exits non-zero, and leaves the store as it was (no image under the tag, earlier steps
 * still cached). Bad input (flags, missing Dockerfile, unknown target, parse errors) is one line.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Store } from '../src/store/index.js';
import { CLI, importBusybox, isRoot, runCli, tmp } from './helpers/index.js';
import { buildCli, buildOk, cachedVertices, context } from './helpers/build.js';

describe.skipIf(!isRoot)('build: errors', () => {
  let root: string;
  beforeAll(async () => {
    root = tmp('sc-root-');
    await importBusybox(root);
  });

  it('a failing RUN: last output lines, Dockerfile:LINE snippet, BuildKit wording, non-zero exit, store untouched', async () => {
    const df = `FROM busybox
RUN echo prepared > /p
RUN echo line-one && echo line-two >&2 && exit 3
RUN echo never
`;
    const ctx = context({ Dockerfile: df });
    const store = await Store.open(root);
    const before = (await store.listImages()).length;
    const r = await buildCli(root, ctx, ['-t', 'err:t']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/#\d+ \[3\/4\] RUN echo line-one && echo line-two >&2 && exit 3\n/);
    expect(r.stderr).toMatch(/#\d+ \d+\.\d{3} line-one/);
    expect(r.stderr).toContain('ERROR: process "/bin/sh -c echo line-one && echo line-two >&2 && exit 3" did not complete successfully: exit code: 3');
    expect(r.stderr).toMatch(/ > \[3\/4\] RUN echo line-one && echo line-two >&2 && exit 3:\n\d+\.\d{3} line-one\n\d+\.\d{3} line-two\n------\n/);
    expect(r.stderr).toContain('Dockerfile:3\n--------------------\n');
    expect(r.stderr).toContain('   3 | >>> RUN echo line-one && echo line-two >&2 && exit 3\n');
    expect(r.stderr).toContain('   2 |     RUN echo prepared > /p\n');
    expect(r.stderr.trim().split('\n').pop()).toBe(
      'ERROR: failed to solve: process "/bin/sh -c echo line-one && echo line-two >&2 && exit 3" did not complete successfully: exit code: 3',
    );
    expect(r.stderr).not.toContain('[4/4] RUN echo never'); // the step after the failure never started
    expect(r.stderr).not.toMatch(/^\s+at /m); // no stack trace
    const after = await store.listImages();
    expect(after.length).toBe(before);
    expect(await store.resolveImage('err:t')).toBeUndefined();

    // fix the Dockerfile: the step before the failure is still cached
    writeFileSync(join(ctx, 'Dockerfile'), df.replace('exit 3', 'true'));
    const r2 = await buildOk(root, ctx, ['-t', 'err:t']);
    expect(cachedVertices(r2.stderr)).toEqual(['[2/4] RUN echo prepared > /p']);
  });

  it('a missing COPY source fails its step with the snippet, like BuildKit', async () => {
    const ctx = context({ Dockerfile: 'FROM busybox\nCOPY nope /x\n' });
    const r = await buildCli(root, ctx, []);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/#\d+ \[2\/2\] COPY nope \/x\n#\d+ ERROR: failed to compute cache key: failed to calculate checksum of ref: "\/nope": not found\n/);
    expect(r.stderr).toContain('Dockerfile:2\n--------------------\n   1 |     FROM busybox\n   2 | >>> COPY nope /x\n   3 |     \n--------------------\n');
    expect(r.stderr.trim().split('\n').pop()).toBe('ERROR: failed to solve: failed to compute cache key: failed to calculate checksum of ref: "/nope": not found');
  });

  it('Ctrl-C stops the running step, unmounts everything and exits 130', async () => {
    const ctx = context({ Dockerfile: 'FROM busybox AS a\nRUN sleep 60\nFROM busybox\nRUN sleep 60\nCOPY --from=a /etc/passwd /p\n' });
    const child = spawn(process.execPath, [CLI, 'build', '--progress', 'plain', ctx], { env: { ...process.env, STAGECRAFT_ROOT: root }, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const started = Date.now();
    while ((err.match(/RUN sleep 60\n/g) ?? []).length < 2 && Date.now() - started < 30_000) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
    expect(code).toBe(130);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(err.trim().split('\n').pop()).toBe('ERROR: failed to solve: canceled (SIGINT)');
    expect(readFileSync('/proc/mounts', 'utf8')).not.toContain(root);
  });

  it('an unknown USER fails the RUN with BuildKit’s wording', async () => {
    const r = await buildCli(root, context({ Dockerfile: 'FROM busybox\nUSER nosuch\nRUN true\n' }), []);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n').pop()).toBe(
      'ERROR: failed to solve: process "/bin/sh -c true" did not complete successfully: unable to find user nosuch: no matching entries in passwd file',
    );
  });

  it('a command that does not exist: exit code 127', async () => {
    const ctx = context({ Dockerfile: 'FROM busybox\nRUN ["/no/such/binary"]\n' });
    const r = await buildCli(root, ctx, []);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('did not complete successfully: exit code: 127');
  });

  it('bad input is a one-line error', async () => {
    const ctx = context({ Dockerfile: 'FROM busybox\nRUN true\n' });
    const cases: Array<[string[], RegExp]> = [
      [['--target', 'nope'], /target stage "nope" could not be found/],
      [['--secret', 'src=/x'], /--secret.*id= is required/],
      [['--output', 'type=weird'], /unsupported --output type/],
      [['--progress', 'fancy'], /invalid --progress/],
      [['--network', 'bridge'], /invalid --network/],
      [['-f', join(ctx, 'Missing.Dockerfile')], /failed to read dockerfile/],
      [['-t', 'Bad:Tag:x'], /invalid tag "Bad:Tag:x"/],
    ];
    for (const [args, re] of cases) {
      const r = await buildCli(root, ctx, args);
      expect(r.code, args.join(' ')).not.toBe(0);
      const last = r.stderr.trim().split('\n').pop() as string;
      expect(last, args.join(' ')).toMatch(re);
      expect(r.stderr).not.toMatch(/^\s+at /m);
    }
    const missing = await runCli(['build', '--progress', 'plain', join(ctx, 'nope')], { root });
    expect(missing.code).not.toBe(0);
    expect(missing.stderr.trim()).toMatch(/unable to prepare context: path ".*nope" not found/);
  });

  it('parse and expansion errors carry the Dockerfile position', async () => {
    const ctx = context({ Dockerfile: 'FROM busybox\nSTOPSIGNAL NOTASIGNAL\n' });
    const r = await buildCli(root, ctx, []);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n').pop()).toMatch(/^Dockerfile:2:\d+: .*NOTASIGNAL/);
    const ctx2 = context({ Dockerfile: 'FROM busybox\nFROB x\n' });
    const r2 = await buildCli(root, ctx2, []);
    expect(r2.code).not.toBe(0);
    expect(r2.stderr.trim().split('\n').pop()).toMatch(/Dockerfile:2/);
  });

  it('an image that is not in the store and cannot be pulled fails cleanly', async () => {
    const ctx = context({ Dockerfile: 'FROM 127.0.0.1:9/nothing/here:1\nRUN true\n' });
    const r = await buildCli(root, ctx, []);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n').pop()).toMatch(/failed to resolve source metadata for 127\.0\.0\.1:9\/nothing\/here:1/);
  });

  it('COPY --from= and --mount from= an image that cannot be pulled say "failed to solve" once, as BuildKit', async () => {
    for (const line of ['COPY --from=127.0.0.1:9/nothing/here:1 /x /x', 'RUN --mount=from=127.0.0.1:9/nothing/here:1,target=/x true']) {
      const r = await buildCli(root, context({ Dockerfile: `FROM busybox\n${line}\n` }), []);
      expect(r.code).toBe(1);
      const last = r.stderr.trim().split('\n').pop()!;
      expect(last).toMatch(/^ERROR: failed to solve: 127\.0\.0\.1:9\/nothing\/here:1: failed to resolve source metadata for 127\.0\.0\.1:9\/nothing\/here:1/);
      expect(r.stderr.match(/failed to solve/g)).toHaveLength(1);
      expect(r.stderr).toContain(`   2 | >>> ${line}\n`);
    }
  });
});
