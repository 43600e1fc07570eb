/**
 * The converter on golden files: each fixtures/<case>/ holds a single-stage Dockerfile (and the
 * context's package.json / tsconfig.json when the case needs them) and expected.Dockerfile, the
 * converted text. UPDATE_GOLDEN=1 rewrites the expected files (review the diff). Then the parts:
 * package classification, slim variants, the shell command splitter, and the verdict of --verify.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDockerfile, splitCommands, joinCommands } from '../../dockerfile/index.js';
import { planBuild } from '../../plan/index.js';
import type { UserError } from '../../util/errors.js';
import { convertDockerfile, runtimePackages, slimVariant, imageRuntime, verifyConversion, type RunOutput } from '../index.js';

const FIX = join(import.meta.dirname, 'fixtures');
const read = (dir: string, f: string) => (existsSync(join(dir, f)) ? readFileSync(join(dir, f), 'utf8') : undefined);

describe('convert: golden files', () => {
  for (const name of readdirSync(FIX).sort()) {
    it(name, () => {
      const dir = join(FIX, name);
      const r = convertDockerfile(read(dir, 'Dockerfile')!, { file: `${name}/Dockerfile`, packageJson: read(dir, 'package.json'), tsconfig: read(dir, 'tsconfig.json') });
      if (process.env.UPDATE_GOLDEN) writeFileSync(join(dir, 'expected.Dockerfile'), r.text);
      expect(r.text).toBe(read(dir, 'expected.Dockerfile'));
      // the output is a valid two-stage Dockerfile whose final stage needs the build stage
      const df = parseDockerfile(r.text);
      expect(df.stages).toHaveLength(2);
      expect(planBuild(df, {}).stages.every((s) => s.needed)).toBe(true);
    });
  }
});

describe('convert: decisions', () => {
  const conv = (text: string, input = {}) => convertDockerfile(text, input);

  it('the issue\'s case: npm is not installed in the final stage, and nothing there runs npm', () => {
    const r = conv(read(join(FIX, 'apt-node'), 'Dockerfile')!, { packageJson: '{"dependencies":{"a":"1"}}' });
    const final = r.text.split(/\n\n(?=FROM )/)[1]!;
    expect(final).not.toMatch(/\bnpm\b/);
    expect(final).toMatch(/apt-get install -y --no-install-recommends nodejs &&/);
    expect(r.droppedPackages).toEqual(['npm']);
  });

  it('CMD npm start on apt node becomes the start script (no npm needed) or keeps npm installed', () => {
    const text = 'FROM debian:bookworm\nRUN apt-get update && apt-get install -y nodejs npm\nWORKDIR /a\nCOPY . .\nRUN npm ci\nCMD ["npm", "start"]\n';
    expect(conv(text, { packageJson: '{"scripts":{"start":"node main.js"}}' }).text).toContain('CMD ["node", "main.js"]');
    const kept = conv(text, { packageJson: '{"scripts":{"start":"node main.js | tee log"}}' });
    expect(kept.text).toMatch(/FROM debian:bookworm\nRUN apt-get update && \\\n {4}apt-get install -y nodejs npm\n/);
    expect(kept.text).toContain('CMD ["npm", "start"]');
  });

  it('a stage name is kept on the final stage (so --target works on both); the build stage avoids it', () => {
    const r = conv('FROM node:20 AS build\nWORKDIR /a\nCOPY . .\nRUN npm ci\nCMD ["node", "x.js"]\n');
    expect(r.text).toMatch(/FROM node:20 AS builder\n/);
    expect(r.text).toMatch(/FROM node:20-slim AS build\n/);
    expect(r.text).toContain('COPY --from=builder /a /a');
  });

  it('--artifact and --final-base override what it detected', () => {
    const r = conv('FROM golang:1.22\nWORKDIR /s\nCOPY . .\nRUN go build -o bin/app .\nCMD ["bin/app"]\n', { artifacts: ['bin/app', '/etc/app.yaml'], finalBase: 'gcr.io/distroless/static' });
    expect(r.finalBase).toBe('gcr.io/distroless/static');
    expect(r.text).toContain('COPY --from=build /s/bin/app /s/bin/app\nCOPY --from=build /etc/app.yaml /etc/app.yaml\n');
  });

  it('refuses a Dockerfile that is already multi-stage, with its position', () => {
    expect(() => conv('FROM a\nFROM b\n', { file: 'D' })).toThrow(/already has 2 stages/);
    let err: UserError | undefined;
    try {
      convertDockerfile('FROM a\nRUN x\nFROM b\n', { file: 'D' });
    } catch (e) {
      err = e as UserError;
    }
    expect(err?.format()).toBe('D:3:1: already has 2 stages; convert takes a single-stage Dockerfile');
  });
});

describe('convert: packages, images, shell commands', () => {
  it('splits runtime from build packages (JDK → JRE, apk --virtual groups, versions kept)', () => {
    expect(runtimePackages(['nodejs=18.19.0-1', 'npm', 'ca-certificates', 'libpq-dev', 'libpq5', 'build-essential', 'python3-pip'])).toEqual({
      keep: ['nodejs=18.19.0-1', 'ca-certificates', 'libpq5'],
      dropped: ['npm', 'libpq-dev', 'build-essential', 'python3-pip'],
    });
    expect(runtimePackages(['openjdk-17-jdk-headless', 'maven', 'default-jdk']).keep).toEqual(['openjdk-17-jre-headless', 'default-jre-headless']);
    expect(runtimePackages(['npm', 'git'], new Set(['npm'])).keep).toEqual(['npm']);
  });

  it('knows the slim variants of official images and leaves others alone', () => {
    expect(slimVariant('node:20')).toBe('node:20-slim');
    expect(slimVariant('node')).toBe('node:slim');
    expect(slimVariant('node:20-bookworm')).toBe('node:20-bookworm-slim');
    expect(slimVariant('docker.io/library/python:3.12-bookworm')).toBe('docker.io/library/python:3.12-slim-bookworm');
    expect(slimVariant('python:${PY}')).toBe('python:${PY}-slim');
    expect(slimVariant('eclipse-temurin:21-jdk')).toBe('eclipse-temurin:21-jre');
    expect(slimVariant('debian:bookworm')).toBe('debian:bookworm-slim');
    for (const same of ['node:20-alpine', 'python:3.12-slim', 'node@sha256:abc', 'ghcr.io/x/node:20', 'golang:1.22', 'node-base:bookworm']) expect(slimVariant(same)).toBeUndefined();
    expect(imageRuntime('golang:1.22')).toBe('go');
    expect(imageRuntime('debian:bookworm')).toBeUndefined();
  });

  it('splits a RUN into commands at top-level && || ; (not inside quotes or subshells) and joins them back', () => {
    const cmds = splitCommands(`apt-get update && apt-get install -y "a && b" x || true; (cd /x && make) ; echo 'q;r'`);
    expect(cmds.map((c) => [c.text, c.op])).toEqual([
      ['apt-get update', '&&'],
      ['apt-get install -y "a && b" x', '||'],
      ['true', ';'],
      ['(cd /x && make)', ';'],
      ["echo 'q;r'", ''],
    ]);
    expect(joinCommands(cmds)).toBe(`apt-get update && apt-get install -y "a && b" x || true; (cd /x && make); echo 'q;r'`);
  });
});

describe('convert --verify: the verdict', () => {
  const fx = (a: RunOutput, b: RunOutput) => ({
    build: async (w: 'original' | 'converted') => (w === 'original' ? `sha256:${'a'.repeat(64)}` : `sha256:${'b'.repeat(64)}`),
    run: async (id: string) => (id.startsWith('sha256:a') ? a : b),
    size: async (id: string) => (id.startsWith('sha256:a') ? 300_000_000 : 120_000_000),
  });
  it('same stdout and exit code: OK, with both sizes', async () => {
    const v = await verifyConversion(fx({ exitCode: 0, stdout: 'x\n', stderr: '' }, { exitCode: 0, stdout: 'x\n', stderr: 'other stderr is fine' }));
    expect(v.ok).toBe(true);
    expect(v.report).toEqual(['original:  aaaaaaaaaaaa  300MB', 'converted: bbbbbbbbbbbb  120MB  (-60.0%)', 'verify: OK: both exit 0 with the same output (2 bytes)']);
  });
  it('a different exit code or stdout fails, naming the first differing line', async () => {
    const v = await verifyConversion(fx({ exitCode: 0, stdout: 'a\nb\n', stderr: '' }, { exitCode: 127, stdout: 'a\n', stderr: 'sh: npm: not found\n' }));
    expect(v.ok).toBe(false);
    expect(v.differences[0]).toBe('exit code: original 0, converted 127');
    expect(v.differences[1]).toBe('stdout differs:\nline 2: original "b", converted ""');
    expect(v.report.join('\n')).toContain('sh: npm: not found');
  });
});
