import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDockerfile } from '../../dockerfile/index.js';
import { planBuild } from '../../plan/index.js';
import { convertToMultiStage } from '../convert.js';
import { lintDockerfile } from '../lint.js';

const lint = (text: string) => {
  const df = parseDockerfile(text, { file: 'Dockerfile' });
  return lintDockerfile(df, planBuild(df, {}));
};
const rules = (text: string) => lint(text).map((f) => `${f.rule}@${f.line}`);

describe('lint', () => {
  it('flags the classic single-stage compile and its caches', () => {
    const r = rules(`FROM node
WORKDIR /app
COPY . .
RUN npm ci && npx tsc
CMD node dist/app.js
`);
    expect(r).toEqual(['SC1001@1', 'SC1005@4', 'SC2001@4', 'SC2002@4', 'SC4001@5']);
    expect(lint('FROM node:20\nRUN npm ci\n').find((f) => f.rule === 'SC1005')?.message).toMatch(/^npm's cache \(~\/\.npm\) stays in stage 0, which ships/);
    expect(lint('FROM node:20 AS app\nRUN npm ci\n').find((f) => f.rule === 'SC1005')?.message).toMatch(/ stays in stage "app", which ships/);
  });
  it('flags a final stage that inherits a build stage, whole-workdir copies and unused stages', () => {
    const r = rules(`FROM debian:12 AS build
WORKDIR /app
RUN apt-get update && apt-get install -y gcc
FROM debian:12 AS unused
RUN false
FROM build AS final
COPY --from=build /app /app
`);
    expect(r).toContain('SC1002@3');
    expect(r).toContain('SC1003@3');
    expect(r).toContain('SC2005@4');
    expect(r).toContain('SC2003@6');
    expect(r).toContain('SC2004@7');
    expect(r).not.toContain('SC2005@1');
  });
  it("flags the seed's trap: a system directory copied from a stage on the same base", () => {
    const r = rules(`FROM python:3.11-slim AS build
WORKDIR /app
RUN pip install --no-cache-dir pandas
FROM build AS tested
FROM python:3.11-slim
COPY --from=build /usr/local/lib/python3.11/site-packages /usr/local/lib/python3.11/site-packages
COPY --from=tested /usr/lib/node_modules/ /usr/lib/node_modules/
COPY --from=build /opt/venv /opt/venv
COPY --from=build /usr/local/bin/app /usr/local/bin/app
`);
    expect(r.filter((x) => x.startsWith('SC2006'))).toEqual(['SC2006@6', 'SC2006@7']);
    // another base: nothing is stored twice
    expect(rules(`FROM golang:1.22 AS build
RUN go build -o /usr/local/bin/app .
FROM debian:12
COPY --from=build /usr/local/lib /usr/local/lib
`).filter((x) => x.startsWith('SC2006'))).toEqual([]);
  });
  it('flags secrets in ARG/ENV and credential files, casing and relative WORKDIR', () => {
    const r = rules(`ARG GITHUB_TOKEN
FROM alpine:3.20 as base
ENV DB_PASSWORD=x
COPY .npmrc /root/.npmrc
WORKDIR app
MAINTAINER me
ADD notes.txt /x
`);
    expect(r).toEqual(['SC3001@1', 'SC4005@2', 'SC3001@3', 'SC3002@4', 'SC4004@5', 'SC4003@6', 'SC4006@7']);
    expect(lint('FROM alpine:3.20 as base\n')[0].message).toBe("'as' and 'FROM' keywords' casing do not match");
  });
  it('is quiet on a clean multi-stage Dockerfile', () => {
    expect(
      lint(`FROM node:20 AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci
COPY . .
RUN npx tsc
FROM node:20-slim
WORKDIR /app
COPY --from=build /app/dist ./dist
CMD ["node", "dist/app.js"]
`),
    ).toEqual([]);
  });
});

describe('convert', () => {
  const example = join(import.meta.dirname, '../../../examples/fruit-cost');
  it('turns the example single-stage Dockerfile into a build stage and a slim final stage', () => {
    const df = parseDockerfile(readFileSync(join(example, 'Dockerfile.single'), 'utf8'), { file: 'Dockerfile.single' });
    const r = convertToMultiStage(df, { packageJson: readFileSync(join(example, 'package.json'), 'utf8'), tsconfig: readFileSync(join(example, 'tsconfig.json'), 'utf8') });
    expect(r.ecosystem).toBe('node');
    expect(r.artifacts).toEqual(['/app/dist']);
    const out = parseDockerfile(r.text);
    expect(out.stages.map((s) => s.name)).toEqual(['build', undefined]);
    const final = out.stages[1].instructions.map((i) => i.original);
    expect(final).toContain('COPY --from=build /app/dist /app/dist');
    expect(final.some((l) => l.includes('npm ci'))).toBe(false); // no runtime dependencies
    expect(final[final.length - 1]).toBe('CMD ["node", "dist/app.js"]');
    expect(out.stages[0].instructions.some((i) => i.kind === 'CMD')).toBe(false);
    const plan = planBuild(out, {});
    expect(plan.stages.every((s) => s.needed)).toBe(true);
  });
  it('keeps secret mounts and omits devDependencies when the app has runtime dependencies', () => {
    const df = parseDockerfile(`FROM node:20
WORKDIR /app
COPY package*.json ./
RUN --mount=type=secret,id=ca NODE_EXTRA_CA_CERTS=/run/secrets/ca npm ci
COPY . .
RUN npm run build
EXPOSE 8080
CMD ["node", "build/server.js"]
`);
    const r = convertToMultiStage(df, { packageJson: '{"dependencies":{"express":"4"}}', tsconfig: '{"compilerOptions":{"outDir":"build"}}' });
    expect(r.text).toContain('RUN --mount=type=secret,id=ca NODE_EXTRA_CA_CERTS=/run/secrets/ca npm ci --omit=dev --no-audit --no-fund && npm cache clean --force');
    expect(r.text).toContain('COPY --from=build /app/build /app/build');
    expect(r.text.trimEnd().split('\n').slice(-2)).toEqual(['EXPOSE 8080', 'CMD ["node", "build/server.js"]']);
  });
  it('python: installs into a prefix and copies it, like the seed intends', () => {
    const df = parseDockerfile(`FROM python:3.11-slim
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY app.py .
CMD ["python", "app.py"]
`);
    const r = convertToMultiStage(df);
    expect(r.ecosystem).toBe('python');
    expect(r.text).toContain('RUN pip install --prefix=/install --no-cache-dir -r requirements.txt');
    const final = parseDockerfile(r.text).stages[1].instructions.map((i) => i.original);
    expect(final).toEqual(['WORKDIR /app', 'COPY --from=build /install /usr/local', 'COPY app.py .', 'CMD ["python", "app.py"]']);
  });
  it('go: copies the binary; refuses a Dockerfile that is already multi-stage with a position', () => {
    const r = convertToMultiStage(parseDockerfile('FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN go build -o /out/app ./cmd/app\nENTRYPOINT ["/out/app"]\n'));
    expect(r.text).toContain('COPY --from=build /out/app /out/app');
    expect(() => convertToMultiStage(parseDockerfile('FROM a\nFROM b\n', { file: 'D' }))).toThrow(/already has 2 stages/);
  });
});
