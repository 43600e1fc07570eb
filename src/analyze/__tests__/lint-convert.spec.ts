import { describe, expect, it } from 'vitest';
import { parseDockerfile } from '../../dockerfile/index.js';
import { planBuild } from '../../plan/index.js';
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
