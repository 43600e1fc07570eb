/** The planner: ARG scoping, stage resolution, errors, cycles, pruning, --target, parallel groups. */
import { describe, expect, it } from 'vitest';
import { parseDockerfile, ShellLex } from '../../dockerfile/index.js';
import { planBuild, planToJson, renderPlanDot, renderPlanText, resolveStageRef, stageArgValue } from '../index.js';
import type { PlanOptions } from '../index.js';
import { UserError } from '../../util/errors.js';

const AMD64 = { os: 'linux', architecture: 'amd64' };
const ARM64 = { os: 'linux', architecture: 'arm64', variant: 'v8' };
const plan = (src: string, opts: PlanOptions = {}) =>
  planBuild(parseDockerfile(src, { file: 'Dockerfile' }), { platform: AMD64, buildPlatform: AMD64, ...opts });
function errorOf(src: string, opts: PlanOptions = {}): string {
  try {
    plan(src, opts);
  } catch (e) {
    if (e instanceof UserError) return e.format();
    throw e;
  }
  throw new Error('expected an error');
}

describe('ARG scoping', () => {
  const SRC = 'ARG BASE=alpine\nARG TAG=3.19\nARG FULL=${BASE}:${TAG}\nFROM ${FULL} AS one\nARG TAG\nARG OTHER=x\nFROM $BASE\n';
  it('global ARGs expand in FROM lines, in order', () => {
    const p = plan(SRC);
    expect(p.globalArgs).toEqual({ BASE: 'alpine', TAG: '3.19', FULL: 'alpine:3.19' });
    expect(p.stages.map((s) => s.baseName)).toEqual(['alpine:3.19', 'alpine']);
    expect(p.stages[0]!.base).toEqual({ kind: 'image', ref: 'alpine:3.19' });
  });
  it('--build-arg overrides global defaults', () => {
    const p = plan(SRC, { buildArgs: { TAG: 'edge', NOPE: '1' } });
    expect(p.stages[0]!.baseName).toBe('alpine:edge');
    expect(p.unusedBuildArgs).toEqual(['NOPE']);
  });
  it('inside a stage an ARG must be re-declared; bare re-declaration takes the global value', () => {
    const p = plan(SRC, { buildArgs: { OTHER: 'o' }, target: 'one' });
    const [tag, other] = p.stages[0]!.instructions.map((i) => (i.kind === 'ARG' ? i.args[0]! : undefined));
    expect(stageArgValue(p, tag!, (s) => s)).toBe('3.19');
    expect(stageArgValue(p, other!, (s) => s)).toBe('o');
    expect(stageArgValue(p, { key: 'UNDECLARED_GLOBAL' }, (s) => s)).toBeUndefined();
    expect(stageArgValue(p, { key: 'D', value: 'dflt' }, (s) => s.toUpperCase())).toBe('DFLT');
    expect(p.unusedBuildArgs).toEqual([]);
  });
  it('predefined platform ARGs are usable in FROM without declaration', () => {
    const p = plan('FROM --platform=$BUILDPLATFORM golang AS b\nFROM img-${TARGETARCH}${TARGETVARIANT}\n', { platform: ARM64 });
    expect(p.stages[0]!.platform).toBe('linux/amd64');
    expect(p.stages[1]!.baseName).toBe('img-arm64');
    expect(p.platformArgs).toMatchObject({ TARGETPLATFORM: 'linux/arm64', TARGETOS: 'linux', TARGETARCH: 'arm64', TARGETVARIANT: '', BUILDPLATFORM: 'linux/amd64', BUILDOS: 'linux', BUILDARCH: 'amd64', BUILDVARIANT: '' });
    const arm = plan('FROM x\n', { platform: { os: 'linux', architecture: 'arm' } });
    expect(arm.platformArgs).toMatchObject({ TARGETPLATFORM: 'linux/arm/v7', TARGETVARIANT: 'v7' });
    expect(stageArgValue(p, { key: 'TARGETOS' }, (s) => s)).toBe('linux');
  });
  it('a FROM that expands to nothing is an error', () => {
    expect(errorOf('ARG X\nFROM ${X}\n')).toBe('Dockerfile:2:1: base name (${X}) should not be blank');
  });
  it('expansion errors in global ARGs and FROM are positioned', () => {
    expect(errorOf('ARG X=${Y:?unset}\nFROM a\n')).toBe('Dockerfile:1:1: failed to process "${Y:?unset}": Y: unset');
    expect(errorOf('FROM a${\n')).toBe(`Dockerfile:1:1: failed to process "a\${": syntax error: missing '}'`);
  });
});

describe('stage resolution', () => {
  it('FROM <earlier stage>, case-insensitive', () => {
    const p = plan('FROM alpine AS Base\nFROM BASE\nFROM scratch\nCOPY --from=1 / /\n');
    expect(p.stages[1]!.base).toEqual({ kind: 'stage', index: 0 });
    expect(p.stages[2]!.base).toEqual({ kind: 'scratch' });
    expect(p.stages[2]!.dependsOn).toEqual([1]);
    expect(p.stages[1]!.dependsOn).toEqual([0]);
  });
  it('COPY --from: name, index or image; RUN --mount from=', () => {
    const p = plan(
      'FROM alpine AS a\nFROM alpine AS b\nFROM alpine\nCOPY --from=A /x /x\nCOPY --from=1 /y /y\nCOPY --from=nginx:1.25 /z /z\nRUN --mount=type=bind,from=b,target=/m --mount=type=cache,target=/c true\n',
    );
    const s = p.stages[2]!;
    expect(s.dependsOn).toEqual([0, 1]);
    expect(s.sources.map((x) => x.resolved)).toEqual([
      { kind: 'stage', index: 0 },
      { kind: 'stage', index: 1 },
      { kind: 'image', ref: 'nginx:1.25' },
      { kind: 'stage', index: 1 },
    ]);
    expect(s.sources[3]).toMatchObject({ instruction: 3, mount: 0, from: 'b' });
  });
  it('a FROM naming a later stage is an image (BuildKit only sees earlier stages there)', () => {
    const p = plan('FROM later AS first\nFROM alpine AS later\n', { target: 'first' });
    expect(p.stages[0]!.base).toEqual({ kind: 'image', ref: 'later' });
  });
  it('a stage used before it is defined: "needs to be defined before current stage"', () => {
    expect(errorOf('FROM alpine AS a\nCOPY --from=b /x /x\nFROM alpine AS b\nFROM a\n')).toBe(
      'Dockerfile:2:1: cannot copy from stage "b", it needs to be defined before current stage "a"',
    );
    expect(errorOf('FROM alpine AS s0\nCOPY --from=1 /x /x\nFROM alpine\nCOPY --from=0 /y /y\n', { target: 's0' })).toMatch(
      /circular dependency/,
    );
    expect(errorOf('FROM alpine AS s0\nCOPY --from=1 /x /x\nFROM alpine\n', { target: 's0' })).toBe(
      'Dockerfile:2:1: cannot copy from stage "1", it needs to be defined before current stage "s0"',
    );
    // BuildKit names a target by stage name only (checked against Docker 26.1): not by index, not as stage-N
    expect(errorOf('FROM alpine\nRUN true\nFROM alpine AS two\n', { target: '0' })).toBe('target stage "0" could not be found');
    expect(errorOf('FROM alpine\nRUN true\nFROM alpine AS two\n', { target: 'stage-0' })).toBe('target stage "stage-0" could not be found');
    expect(errorOf('FROM alpine AS a\nRUN --mount=from=b,target=/b true\nFROM alpine AS b\nCOPY --from=a / /\n', { target: 'a' })).toMatch(
      /circular dependency/,
    );
    expect(errorOf('FROM alpine AS a\nRUN --mount=from=b,target=/b true\nFROM alpine AS b\n', { target: 'a' })).toBe(
      'Dockerfile:2:1: cannot mount from stage "b", it needs to be defined before current stage "a"',
    );
  });
  it('one resolver: the solver (ONBUILD triggers, sources) gets the planner\'s answers and errors', () => {
    const stages = [{ name: 'a' }, {}, { name: 'b' }];
    expect(resolveStageRef(stages, 'A', 2)).toBe(0);
    expect(resolveStageRef(stages, '1', 2)).toBe(1);
    expect(resolveStageRef(stages, 'alpine', 2)).toBeUndefined();
    expect(resolveStageRef(stages, 'a', 2, { replaced: new Set(['a']) })).toBeUndefined(); // a named context wins
    expect(() => resolveStageRef(stages, '7', 2)).toThrow('invalid stage index 7');
    expect(() => resolveStageRef(stages, '-1', 2)).toThrow('invalid stage index -1'); // Go's Atoi, as BuildKit
    expect(() => resolveStageRef(stages, 'b', 1)).toThrow('cannot copy from stage "b", it needs to be defined before current stage "stage-1"');
    expect(() => resolveStageRef(stages, 'b', 0, { what: 'mount' })).toThrow('cannot mount from stage "b", it needs to be defined before current stage "a"');
  });
  it('forward references in stages the target does not need are not errors (not built)', () => {
    const p = plan('FROM alpine AS a\nFROM alpine AS b\nCOPY --from=c / /\nFROM alpine AS c\n', { target: 'a' });
    expect(p.stages.map((s) => s.needed)).toEqual([true, false, false]);
  });
  it('cycles are errors, even in stages the target does not need', () => {
    expect(errorOf('FROM alpine AS a\nCOPY --from=b / /\nFROM alpine AS b\nCOPY --from=a / /\nFROM alpine AS c\n')).toBe(
      'Dockerfile:1:1: circular dependency detected on stage: a',
    );
    expect(errorOf('FROM alpine AS x\nFROM alpine AS self\nCOPY --from=self /x /x\n')).toBe(
      'Dockerfile:2:1: circular dependency detected on stage: self',
    );
    expect(errorOf('FROM alpine\nFROM alpine\nCOPY --from=1 /x /x\n')).toBe('Dockerfile:2:1: circular dependency detected on stage: stage-1');
  });
  it('invalid index and duplicate names', () => {
    expect(errorOf('FROM alpine\nCOPY --from=5 / /\n')).toBe('Dockerfile:2:1: invalid stage index 5');
    expect(errorOf('FROM alpine AS x\nFROM alpine AS X\n')).toBe('Dockerfile:2:1: duplicate stage name "x"');
  });
  it('variables in --from are refused', () => {
    expect(() => plan('FROM a AS b\nFROM c\nCOPY --from=$S / /\n')).toThrow("'from' doesn't support variable expansion");
  });
});

describe('target, pruning and parallel groups', () => {
  const SRC = [
    'FROM golang AS deps', // 0
    'FROM deps AS build-api', // 1
    'FROM deps AS build-web', // 2
    'FROM alpine AS unused', // 3
    'FROM node AS docs', // 4
    'FROM scratch AS final', // 5
    'COPY --from=build-api /api /api',
    'COPY --from=build-web /web /web',
    'FROM final AS debug', // 6
    'COPY --from=docs / /docs',
  ].join('\n');
  it('defaults to the last stage', () => {
    const p = plan(SRC);
    expect(p.target).toBe(6);
    expect(p.stages.filter((s) => s.needed).map((s) => s.index)).toEqual([0, 1, 2, 4, 5, 6]);
    expect(p.order).toEqual([[0, 4], [1, 2], [5], [6]]);
  });
  it('--target prunes stages the target does not need', () => {
    const p = plan(SRC, { target: 'FINAL' });
    expect(p.target).toBe(5);
    expect(p.stages.map((s) => s.needed)).toEqual([true, true, true, false, false, true, false]);
    expect(p.order).toEqual([[0], [1, 2], [5]]);
  });
  it('an unknown target is an error', () => {
    expect(errorOf(SRC, { target: 'nope' })).toBe('target stage "nope" could not be found');
  });
  it('JSON, text and dot renderings', () => {
    const p = plan(SRC, { target: 'final' });
    const j = planToJson(p);
    expect(j.target).toBe('final');
    expect(j.stages[3]).toEqual({ index: 3, name: 'unused', base: { kind: 'image', ref: 'alpine' }, dependsOn: [], needed: false });
    expect(j.stages[5]!.dependsOn).toEqual([1, 2]);
    expect(j.order).toEqual([[0], [1, 2], [5]]);
    const unnamed = planToJson(plan('FROM a\nFROM b\n'));
    expect(unnamed.target).toBe(1);
    expect(unnamed.stages[0]!.name).toBeNull();
    const text = renderPlanText(p);
    expect(text).toContain('target: 5 (final)');
    expect(text).toMatch(/3\s+unused\s+alpine\s+-\s+no \(skipped\)/);
    expect(text).toContain('2. 1 (build-api), 2 (build-web)');
    const dot = renderPlanDot(p);
    expect(dot).toMatch(/^digraph stages \{/);
    expect(dot).toContain('stage1 -> stage5 [label="COPY --from"];');
    expect(dot).toContain('stage3 [label="3 (unused)", style=dashed, color=gray];');
  });
});

describe('parity with BuildKit ARG scoping', () => {
  // The ENV values `docker build --build-arg H=fromcli` (Docker 26.1 / BuildKit) produced for this file.
  it('stage ARGs resolve like BuildKit', () => {
    const src = [
      'ARG G=global', 'ARG H', 'ARG B=${G}-b', 'FROM busybox', 'ARG G', 'ARG H=stagedefault', 'ARG B', 'ARG TARGETARCH', 'ARG NOTGLOBAL',
      'ARG D=x${G}', 'ENV G=$G H=$H T=$TARGETARCH N=${NOTGLOBAL:-unset} P=${TARGETPLATFORM:-undeclared} B=$B D=$D', '',
    ].join('\n');
    const p = plan(src, { buildArgs: { H: 'fromcli' } });
    const lex = new ShellLex();
    const env: Record<string, string> = {};
    let out: string[] = [];
    for (const ins of p.stages[0]!.instructions) {
      if (ins.kind === 'ARG') {
        for (const a of ins.args) {
          const v = stageArgValue(p, a, (raw) => lex.processWord(raw, env));
          if (v !== undefined) env[a.key] = v;
        }
      }
      if (ins.kind === 'ENV') out = ins.pairs.map((kv) => `${kv.key}=${lex.processWord(kv.value, env)}`);
    }
    expect(out).toEqual(['G=global', 'H=fromcli', 'T=amd64', 'N=unset', 'P=undeclared', 'B=global-b', 'D=xglobal']);
  });
});
