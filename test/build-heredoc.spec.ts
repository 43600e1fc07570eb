/**
 * Heredocs: `RUN <<EOF` runs the body with the shell, a body starting with `#!` runs as a script
 * with its own interpreter, a heredoc inside a shell command is passed to the shell, and
 * `COPY <<EOF` writes a file (variables expanded unless the delimiter is quoted).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { importBusybox, isRoot, tmp } from './helpers/index.js';
import { buildOk, context, imageTree } from './helpers/build.js';

const DOCKERFILE = [
  'FROM busybox',
  'RUN <<EOF',
  'echo one > /h1',
  'echo two >> /h1',
  'EOF',
  'RUN <<EOF',
  '#!/bin/sh',
  'echo "script $0" > /h2',
  'EOF',
  'RUN cat <<EOF > /h3',
  'inline $HOME',
  'EOF',
  'ARG NAME=world',
  'COPY <<EOF /greeting',
  'hello $NAME',
  'EOF',
  "COPY <<'EOF' /raw",
  'hello $NAME',
  'EOF',
  '',
].join('\n');

describe.skipIf(!isRoot)('build: heredocs', () => {
  let tree: string;
  let out: string;
  beforeAll(async () => {
    const root = tmp('sc-root-');
    await importBusybox(root);
    out = (await buildOk(root, context({ Dockerfile: DOCKERFILE }), ['-t', 'here:t'])).stderr;
    tree = await imageTree(root, 'here:t');
  });

  it('RUN <<EOF runs the body with the shell', () => {
    expect(readFileSync(join(tree, 'h1'), 'utf8')).toBe('one\ntwo\n');
    expect(out).toMatch(/\[2\/6\] RUN <<EOF \(echo one > \/h1\.\.\.\)/);
  });

  it('a #! body runs as a script', () => {
    expect(readFileSync(join(tree, 'h2'), 'utf8')).toBe('script /dev/pipes/EOF\n');
  });

  it('a heredoc inside a command goes to the shell', () => {
    expect(readFileSync(join(tree, 'h3'), 'utf8')).toBe('inline /root\n');
  });

  it('COPY <<EOF writes a 0644 file, expanded unless the delimiter is quoted', () => {
    expect(readFileSync(join(tree, 'greeting'), 'utf8')).toBe('hello world\n');
    expect(statSync(join(tree, 'greeting')).mode & 0o777).toBe(0o644);
    expect(readFileSync(join(tree, 'raw'), 'utf8')).toBe('hello $NAME\n');
  });
});
