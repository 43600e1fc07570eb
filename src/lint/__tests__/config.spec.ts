/**
 * BuildKit's `# check=` directive and BUILDKIT_DOCKERFILE_CHECK build arg, hadolint's inline and
 * global ignore pragmas, config file, severity overrides and failure threshold; parse and semantic
 * errors as findings; stagecraft's multi-stage rules (formerly SC1001..SC4006) under their new ids.
 */
import { describe, expect, it } from 'vitest';
import { failsThreshold, lintText, parseCheckOptions, parseHadolintConfig, type LintOptions } from '../index.js';

const lint = (text: string, opts: LintOptions = {}) => lintText(text, { file: 'Dockerfile', ...opts });
const ids = (text: string, opts: LintOptions = {}) => lint(text, opts).findings.map((f) => `${f.rule}@${f.line}`);

describe('check directive and build arg (BuildKit semantics)', () => {
  const df = 'FROM alpine:3 as base\nCMD echo hi\n';
  it('skip=A,B drops those checks; skip=all drops every build check but not hadolint rules', () => {
    expect(ids(df)).toEqual(expect.arrayContaining(['FromAsCasing@1', 'JSONArgsRecommended@2', 'DL3025@2']));
    const skipped = ids(`# check=skip=FromAsCasing,JSONArgsRecommended\n${df}`);
    expect(skipped).not.toContain('FromAsCasing@2');
    expect(skipped).not.toContain('JSONArgsRecommended@3');
    expect(skipped).toContain('DL3025@3');
    const all = ids(`# check=skip=all\n${df}`);
    expect(all.filter((x) => /^[A-Z][a-z]/.test(x) && !x.startsWith('DL'))).toEqual([]);
    expect(all).toContain('DL3025@3');
  });
  it('error=true makes build checks errors and yields BuildKit\'s lint violation error', () => {
    const r = lint(`# check=error=true\n${df}`);
    expect(r.findings.find((f) => f.rule === 'FromAsCasing')?.level).toBe('error');
    expect(r.checkError).toMatch(/^lint violation found for rules: /);
    expect(r.checkError).toContain('JSONArgsRecommended');
    expect(lint(`# check=error=true\nFROM alpine:3\n`).checkError).toBeUndefined();
  });
  it('BUILDKIT_DOCKERFILE_CHECK replaces the directive', () => {
    const withArg = ids(`# check=skip=all\n${df}`, { buildArgs: { BUILDKIT_DOCKERFILE_CHECK: 'skip=JSONArgsRecommended' } });
    expect(withArg).toContain('FromAsCasing@2');
    expect(withArg).not.toContain('JSONArgsRecommended@3');
  });
  it('experimental checks run only when enabled', () => {
    const d = 'FROM alpine:3\n# the version\nARG VERSION=1\n';
    expect(ids(d)).not.toContain('InvalidDefinitionDescription@3');
    expect(ids(`# check=experimental=InvalidDefinitionDescription\n${d}`)).toContain('InvalidDefinitionDescription@4');
  });
  it('a bad check option is a positioned finding, as BuildKit words it', () => {
    expect(() => parseCheckOptions('bogus')).toThrow('invalid check option "bogus"');
    expect(() => parseCheckOptions('error=maybe')).toThrow(/failed to parse check option "error=maybe"/);
    const f = lint('# check=bogus\nFROM alpine:3\n').findings.find((x) => x.rule === 'InvalidDockerfile');
    expect(f && `${f.line}:${f.col} ${f.message}`).toBe('1:1 failed to parse check options: invalid check option "bogus"');
  });
});

describe('hadolint ignores, config and levels', () => {
  it('an inline pragma applies to the next instruction only; a global one to the file', () => {
    const d = 'FROM debian:12\n# hadolint ignore=DL3003,DL3059\nRUN cd /tmp\nRUN cd /var\n';
    expect(ids(d).filter((x) => x.startsWith('DL3003'))).toEqual(['DL3003@4']);
    expect(ids(d, { disableIgnorePragma: true }).filter((x) => x.startsWith('DL3003'))).toEqual(['DL3003@3', 'DL3003@4']);
    const g = '# hadolint global ignore=DL3003 # accepted\nFROM debian:12\nRUN cd /tmp\nRUN cd /var\n';
    expect(ids(g).filter((x) => x.startsWith('DL3003'))).toEqual([]);
  });
  it('a pragma can name BuildKit checks too', () => {
    expect(ids('FROM alpine:3\n# hadolint ignore=JSONArgsRecommended,DL3025\nCMD echo hi\n')).toEqual([]);
  });
  it('.hadolint.yaml: ignored, override, trustedRegistries, label-schema, failure-threshold', () => {
    const cfg = parseHadolintConfig(`# comment
ignored:
  - DL3008
  - DL3015
override:
  error: [DL3009]
  style:
    - DL3059
trustedRegistries:
  - docker.io
  - "*.gcr.io"
label-schema:
  version: semver
strict-labels: true
failure-threshold: warning
`);
    expect(cfg).toMatchObject({ ignored: ['DL3008', 'DL3015'], override: { error: ['DL3009'], style: ['DL3059'] }, trustedRegistries: ['docker.io', '*.gcr.io'], labelSchema: { version: 'semver' }, strictLabels: true, failureThreshold: 'warning' });
    const r = lint('FROM quay.io/a/b:1\nRUN apt-get update && apt-get install -y c\nRUN true\n', { ignored: cfg.ignored, override: cfg.override, trustedRegistries: cfg.trustedRegistries, labelSchema: cfg.labelSchema });
    const by = new Map(r.findings.map((f) => [f.rule, f]));
    expect(by.has('DL3008')).toBe(false);
    expect(by.get('DL3009')?.level).toBe('error');
    expect(by.get('DL3059')?.level).toBe('style');
    expect(by.has('DL3026')).toBe(true);
    expect(by.has('DL3049')).toBe(true);
    expect(() => parseHadolintConfig('failure-threshold: loud\n', 'x.yaml')).toThrow(/x\.yaml: invalid failure threshold "loud"/);
    expect(() => parseHadolintConfig('a: b\n  - c\n', 'x.yaml')).toThrow(/x\.yaml:2: /);
  });
  it('exit rule: 1 when a finding is at or above the threshold', () => {
    const f = lint('FROM alpine:3\nRUN true\nRUN true\n').findings; // DL3059 info only
    expect(f.map((x) => x.level)).toEqual(['info']);
    expect(failsThreshold(f, 'info')).toBe(true);
    expect(failsThreshold(f, 'warning')).toBe(false);
    expect(failsThreshold(f, 'none')).toBe(false);
  });
});

describe('errors are findings with positions, never aborts', () => {
  it('duplicate stage names, undefined ARG in FROM, an empty FROM ${BASE}', () => {
    const r = lint('ARG BASE\nFROM ${BASE} AS a\nFROM alpine:${TAG} AS a\nRUN true\n');
    const got = r.findings.map((f) => `${f.rule}@${f.line}:${f.col}`);
    expect(got).toEqual(expect.arrayContaining(['InvalidDefaultArgInFrom@2:1', 'DuplicateStageName@3:1', 'DL3024@3:1', 'UndefinedArgInFrom@3:1']));
  });
  it('a syntax error is one InvalidDockerfile finding at its position', () => {
    const r = lint('FROM alpine:3\nRUN <<EOF\necho\n');
    expect(r.findings.map((f) => `${f.rule} ${f.level} ${f.line}:${f.col} ${f.message}`)).toEqual(['InvalidDockerfile error 2:1 unterminated heredoc']);
    const notDf = lint('just some text\n');
    expect(notDf.findings[0]?.rule).toBe('InvalidDockerfile');
  });
  it('an instruction before FROM', () => {
    expect(ids('RUN true\nFROM alpine:3\n')).toEqual(expect.arrayContaining(['InvalidDockerfile@1', 'DL3061@1']));
  });
});

describe('stagecraft rules (multi-stage baggage), under descriptive ids', () => {
  it('the classic single-stage compile and its caches', () => {
    const r = ids(`FROM node
WORKDIR /app
COPY . .
RUN npm ci && npx tsc
CMD node dist/app.js
`);
    expect(r).toEqual(expect.arrayContaining(['CompilerInFinalStage@4', 'DevDependenciesInFinalStage@4', 'NpmCacheInShippedStage@4', 'JSONArgsRecommended@5']));
    expect(lint('FROM node:20\nRUN npm ci\n').findings.find((f) => f.rule === 'NpmCacheInShippedStage')?.message).toMatch(/^npm's cache \(~\/\.npm\) stays in stage 0, which ships/);
    expect(lint('FROM node:20 AS app\nRUN npm ci\n').findings.find((f) => f.rule === 'NpmCacheInShippedStage')?.message).toMatch(/ stays in stage "app", which ships/);
  });
  it('build dependencies purged in the same RUN are not baggage (official images\' pattern)', () => {
    const python = `FROM debian:12-slim
RUN set -eux; \\
  savedAptMark="$(apt-mark showmanual)"; \\
  apt-get update; apt-get install -y --no-install-recommends gcc make libssl-dev; \\
  ./configure --enable-optimizations; make -j "$(nproc)"; make install; \\
  apt-mark auto '.*' > /dev/null; apt-mark manual $savedAptMark; \\
  apt-get purge -y --auto-remove -o APT::AutoRemove::RecommendsImportant=false; \\
  rm -rf /var/lib/apt/lists/*
`;
    expect(ids(python)).not.toContain('CompilerInFinalStage@2');
    expect(ids('FROM alpine:3\nRUN apk add --no-cache --virtual .build-deps gcc=1 && make && apk del .build-deps\n')).not.toContain('CompilerInFinalStage@2');
    expect(ids('FROM debian:12\nRUN apt-get update && apt-get install -y c=1 && apt-get dist-clean\n')).not.toContain('DL3009@2');
  });
  it('a final stage FROM a build stage, whole-workdir copies, unused stages', () => {
    const r = ids(`FROM debian:12 AS build
WORKDIR /app
RUN apt-get update && apt-get install -y gcc
FROM debian:12 AS unused
RUN false
FROM build AS final
COPY --from=build /app /app
`);
    expect(r).toEqual(expect.arrayContaining(['DL3015@3', 'DL3009@3', 'UnusedStage@4', 'FinalStageFromBuildStage@6', 'CopyWholeStage@7']));
    expect(r).not.toContain('UnusedStage@1');
  });
  it("the seed's trap: a system directory copied from a stage on the same base", () => {
    const r = ids(`FROM python:3.11-slim AS build
WORKDIR /app
RUN pip install --no-cache-dir pandas
FROM build AS tested
FROM python:3.11-slim
COPY --from=build /usr/local/lib/python3.11/site-packages /usr/local/lib/python3.11/site-packages
COPY --from=tested /usr/lib/node_modules/ /usr/lib/node_modules/
COPY --from=build /opt/venv /opt/venv
COPY --from=build /usr/local/bin/app /usr/local/bin/app
`);
    expect(r.filter((x) => x.startsWith('SystemDirFromSameBase'))).toEqual(['SystemDirFromSameBase@6', 'SystemDirFromSameBase@7']);
  });
  it('credential files, quoted git URLs in ADD', () => {
    const r = ids('FROM alpine:3\nCOPY .npmrc /root/.npmrc\nADD "git@github.com:moby/buildkit.git#v0.10.1" /src\n');
    expect(r).toContain('SecretFileCopied@2');
    expect(r.filter((x) => x.startsWith('DL3020'))).toEqual([]);
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
USER node
CMD ["node", "dist/app.js"]
`).findings.map((f) => f.rule),
    ).toEqual([]);
  });
});
