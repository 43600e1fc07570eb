/** Typed instructions: fields, raw arguments, flag validation and BuildKit's error wording. */
import { describe, expect, it } from 'vitest';
import { expandRunMounts, parseDockerfile, parseGoDuration, ShellLex } from '../index.js';
import type { Instruction, RunInstruction } from '../index.js';
import { UserError } from '../../util/errors.js';

function one(line: string): Instruction {
  return parseDockerfile(`FROM scratch\n${line}\n`).stages[0]!.instructions[0]!;
}
function errorOf(src: string): string {
  try {
    parseDockerfile(src, { file: 'Dockerfile' });
  } catch (e) {
    if (e instanceof UserError) return e.format();
    throw e;
  }
  throw new Error('expected an error');
}

describe('typed instructions', () => {
  it('FROM with --platform and AS (name lower-cased)', () => {
    const df = parseDockerfile('ARG V=1\nFROM --platform=$BUILDPLATFORM golang:${V} AS Build\nFROM scratch\n');
    expect(df.globalArgs).toHaveLength(1);
    expect(df.stages[0]!.from).toMatchObject({ kind: 'FROM', image: 'golang:${V}', name: 'build', platform: '$BUILDPLATFORM' });
    expect(df.stages[1]!.from.name).toBeUndefined();
  });
  it('RUN shell and exec form, network, security, mounts', () => {
    expect(one('RUN echo "$HOME"  &&  ls')).toMatchObject({ kind: 'RUN', command: 'echo "$HOME"  &&  ls', json: false });
    expect(one('RUN ["sh", "-c", "x"]')).toMatchObject({ command: ['sh', '-c', 'x'], json: true });
    const r = one(
      'RUN --network=none --security=insecure --mount=type=cache,target=/root/.cache,id=$ID,sharing=locked,mode=0755,uid=1000 --mount=type=secret,id=tok,env=TOKEN,required --mount=from=build,source=/out,target=/in,rw make',
    ) as RunInstruction;
    expect(r.network).toBe('none');
    expect(r.security).toBe('insecure');
    expect(r.mounts).toHaveLength(3);
    expect(r.mounts[0]).toMatchObject({ type: 'cache', target: '/root/.cache', id: '$ID', sharing: 'locked', mode: 0o755, uid: 1000, readonly: false });
    expect(r.mounts[1]).toMatchObject({ type: 'secret', id: 'tok', env: 'TOKEN', required: true, readonly: true });
    expect(r.mounts[2]).toMatchObject({ type: 'bind', from: 'build', source: '/out', target: '/in', readonly: false });
  });
  it('expands mount values at build time', () => {
    const r = one('RUN --mount=type=cache,target=$DIR,id=${ID:-def},uid=$U true') as RunInstruction;
    const m = expandRunMounts(r.mounts, new ShellLex(), { DIR: '/cache', U: '7' });
    expect(m[0]).toMatchObject({ type: 'cache', target: '/cache', id: 'def', uid: 7 });
    expect(() => expandRunMounts(r.mounts, new ShellLex(), { DIR: '/c', U: 'x' })).toThrow('invalid value x for uid');
  });
  it('CMD / ENTRYPOINT / SHELL keep json', () => {
    expect(one('CMD ["a"]')).toMatchObject({ kind: 'CMD', command: ['a'], json: true });
    expect(one('ENTRYPOINT exec foo')).toMatchObject({ kind: 'ENTRYPOINT', command: 'exec foo', json: false });
    expect(one('SHELL ["/bin/bash", "-c"]')).toMatchObject({ kind: 'SHELL', shell: ['/bin/bash', '-c'], json: true });
  });
  it('ENV / LABEL / ARG keep raw values', () => {
    expect(one('ENV A="x y" B=$A')).toMatchObject({ pairs: [{ key: 'A', value: '"x y"', legacy: false }, { key: 'B', value: '$A', legacy: false }] });
    expect(one('ENV A x y')).toMatchObject({ pairs: [{ key: 'A', value: 'x y', legacy: true }] });
    expect(one('LABEL "a b"=c')).toMatchObject({ kind: 'LABEL', pairs: [{ key: '"a b"', value: 'c' }] });
    expect(one('ARG A B=2 C=')).toMatchObject({ args: [{ key: 'A' }, { key: 'B', value: '2' }, { key: 'C', value: '' }] });
  });
  it('EXPOSE, VOLUME, USER, WORKDIR, STOPSIGNAL, MAINTAINER', () => {
    expect(one('EXPOSE 80/tcp $P')).toMatchObject({ kind: 'EXPOSE', ports: ['80/tcp', '$P'] });
    expect(one('VOLUME /a /b')).toMatchObject({ kind: 'VOLUME', volumes: ['/a', '/b'], json: false });
    expect(one('VOLUME ["/a"]')).toMatchObject({ volumes: ['/a'], json: true });
    expect(one('USER app:app')).toMatchObject({ kind: 'USER', user: 'app:app' });
    expect(one('WORKDIR /src/$X')).toMatchObject({ kind: 'WORKDIR', path: '/src/$X' });
    expect(one('STOPSIGNAL SIGTERM')).toMatchObject({ kind: 'STOPSIGNAL', signal: 'SIGTERM' });
    expect(one('MAINTAINER me <me@x>')).toMatchObject({ kind: 'MAINTAINER', maintainer: 'me <me@x>' });
  });
  it('COPY / ADD flags as typed fields', () => {
    expect(one('COPY --from=build --chown=1:1 --chmod=644 --link --parents --exclude=*.md --exclude=tmp a b /d/')).toMatchObject({
      kind: 'COPY',
      from: 'build',
      chown: '1:1',
      chmod: '644',
      link: true,
      parents: true,
      exclude: ['*.md', 'tmp'],
      sources: ['a', 'b'],
      dest: '/d/',
    });
    expect(one('COPY ["a b", "/c d"]')).toMatchObject({ sources: ['a b'], dest: '/c d', json: true, link: false, parents: false, exclude: [] });
    expect(one('ADD --checksum=sha256:abc --keep-git-dir=true --link=false https://x/y.tgz /')).toMatchObject({
      kind: 'ADD',
      checksum: 'sha256:abc',
      keepGitDir: true,
      link: false,
    });
  });
  it('HEALTHCHECK', () => {
    expect(one('HEALTHCHECK NONE')).toMatchObject({ test: ['NONE'] });
    expect(one('HEALTHCHECK --interval=5s --timeout=1m30s --retries=3 CMD curl -f x')).toMatchObject({
      test: ['CMD-SHELL', 'curl -f x'],
      interval: 5e9,
      timeout: 90e9,
      retries: 3,
    });
    expect(one('HEALTHCHECK CMD ["x", "y"]')).toMatchObject({ test: ['CMD', 'x', 'y'], json: true });
  });
  it('ONBUILD', () => {
    expect(one('ONBUILD COPY . /app')).toMatchObject({ kind: 'ONBUILD', trigger: 'COPY', expression: 'COPY . /app' });
  });
  it('every node keeps pos, endLine and original', () => {
    const df = parseDockerfile('FROM a\n  RUN x \\\n   y\n');
    const run = df.stages[0]!.instructions[0]!;
    expect(run.pos).toEqual({ line: 2, col: 3 });
    expect(run.endLine).toBe(3);
    expect(run.original).toBe('RUN x    y');
  });
  it('Go durations', () => {
    expect(parseGoDuration('1h2m3.5s')).toBe(3723.5e9);
    expect(parseGoDuration('0')).toBe(0);
    expect(() => parseGoDuration('10')).toThrow('missing unit');
    expect(() => parseGoDuration('x')).toThrow('invalid duration');
    expect(() => parseGoDuration('5sec')).toThrow('time: unknown unit "sec" in duration "5sec"');
  });
});

describe('errors: FILE:LINE:COL and BuildKit wording', () => {
  it('unknown instruction, with a suggestion', () => {
    expect(errorOf('FROM a\n  RUNN x\n')).toBe('Dockerfile:2:3: unknown instruction: RUNN (did you mean RUN?)');
    expect(errorOf('FROM a\nFROBNICATE x\n')).toBe('Dockerfile:2:1: unknown instruction: FROBNICATE');
    expect(errorOf('FROM a\ncopi a b\n')).toBe('Dockerfile:2:1: unknown instruction: copi (did you mean copy?)');
  });
  it('bad flags point at the flag', () => {
    expect(errorOf('FROM a\nCOPY --foo=bar a b\n')).toBe('Dockerfile:2:6: unknown flag: foo (did you mean from?)');
    expect(errorOf('FROM a\nCOPY --from a b\n')).toBe('Dockerfile:2:6: missing a value on flag: from');
    expect(errorOf('FROM a\nCOPY --link=maybe a b\n')).toBe('Dockerfile:2:6: expecting boolean value for flag link, not: maybe');
    expect(errorOf('FROM a\nCOPY --chown=a --chown=b a b\n')).toBe('Dockerfile:2:16: duplicate flag specified: chown');
    expect(errorOf('FROM a\nRUN --mount=type=tmpfs,target=/t,uid=1 x\n')).toBe('Dockerfile:2:5: uid not allowed for "tmpfs" type mounts');
    expect(errorOf('FROM a\nRUN --mount=type=nfs,target=/t x\n')).toBe('Dockerfile:2:5: unsupported mount type "nfs"');
    expect(errorOf('FROM a\nRUN --mount=from=$S,target=/t x\n')).toBe(
      "Dockerfile:2:5: 'from' doesn't support variable expansion, define alias stage instead",
    );
    expect(errorOf('FROM a\nADD --parents a b\n')).toBe('Dockerfile:2:5: unknown flag: parents');
    expect(errorOf('FROM a\nRUN --network=bridge x\n')).toBe('Dockerfile:2:5: invalid network mode "bridge"');
    expect(errorOf('FROM a\nRUN --security=open x\n')).toBe('Dockerfile:2:5: security "open" is not valid');
    expect(errorOf('FROM a\nRUN --mount=type=secret x\n')).toBe('Dockerfile:2:5: invalid secret mount. one of source, target required');
    expect(errorOf('FROM a\nRUN --mount=type=cache,target=/c,size=1m x\n')).toBe("Dockerfile:2:5: unexpected key 'size' for mount type 'cache'");
    expect(errorOf('FROM a\nRUN --mount=type=bind,target=/c,ro=maybe x\n')).toBe('Dockerfile:2:5: invalid value for ro: maybe');
    expect(errorOf('FROM a\nRUN --mount=type=bind,target=a\\"b x\n')).toMatch(/^Dockerfile:2:5: failed to parse csv mounts/);
    expect(errorOf('FROM a\nHEALTHCHECK --interval=1us CMD x\n')).toBe('Dockerfile:2:13: Interval "interval" cannot be less than 1ms');
  });
  it('argument-count errors', () => {
    expect(errorOf('FROM a\nCOPY a\n')).toBe(
      'Dockerfile:2:1: COPY requires at least two arguments, but only one was provided. Destination could not be determined',
    );
    expect(errorOf('FROM a b\n')).toBe('Dockerfile:1:1: FROM requires either one or three arguments');
    expect(errorOf('FROM a AS 1x\n')).toBe(`Dockerfile:1:1: invalid name for build stage: "1x", name can't start with a number or contain symbols`);
    expect(errorOf('FROM a\nENV x\n')).toBe('Dockerfile:2:1: ENV must have two arguments');
    expect(errorOf('FROM a\nUSER\n')).toBe('Dockerfile:2:1: USER requires exactly one argument');
    expect(errorOf('FROM a\nSHELL sh -c\n')).toBe('Dockerfile:2:1: SHELL requires the arguments to be in JSON form');
    expect(errorOf('FROM a\nHEALTHCHECK CONNECT x\n')).toBe('Dockerfile:2:1: Unknown type "CONNECT" in HEALTHCHECK (try CMD)');
    expect(errorOf('FROM a\nONBUILD ONBUILD RUN x\n')).toBe("Dockerfile:2:1: Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
    expect(errorOf('FROM a\nARG =x\n')).toBe('Dockerfile:2:1: ARG names can not be blank');
  });
  it('an instruction before the first FROM (other than ARG)', () => {
    expect(errorOf('ARG A\nRUN x\nFROM a\n')).toBe('Dockerfile:2:1: no build stage in current context');
  });
});

/** Messages recorded from `docker build` (Docker 26.1, buildx 0.13 / BuildKit) on the same input. */
describe('parity with BuildKit messages', () => {
  const cases: [string, string][] = [
    ['FROM busybox\nRUNN x\n', 'unknown instruction: RUNN (did you mean RUN?)'],
    ['FROM busybox\nrunn x\n', 'unknown instruction: runn (did you mean run?)'],
    ['FROM busybox\nCOPY --foo=bar a b\n', 'unknown flag: foo (did you mean from?)'],
    ['FROM busybox\nCOPY --chown=a --chown=b a b\n', 'duplicate flag specified: chown'],
    ['FROM busybox\nCOPY --link= a b\n', 'missing a value on flag: link'],
    ['FROM busybox\nRUN <<EOF\necho hi\n', 'unterminated heredoc'],
    ['# escape=`\n# escape=`\nFROM busybox\n', 'only one escape parser directive can be used'],
    ['FROM busybox\nONBUILD FROM x\n', "FROM isn't allowed as an ONBUILD trigger"],
    ['FROM busybox\nRUN --mount=type=secret true\n', 'invalid secret mount. one of source, target required'],
    ['FROM busybox\nRUN --mount=type=cache,target=/c,sharing=bogus true\n', 'unsupported sharing value "bogus"'],
    ['FROM busybox\nRUN --network=bridge true\n', 'invalid network mode "bridge"'],
    ['# only comment\n', 'file with no instructions'],
    ['RUN true\nFROM busybox\n', 'no build stage in current context'],
  ];
  for (const [src, msg] of cases) {
    it(msg, () => expect(errorOf(src)).toMatch(new RegExp(`^Dockerfile:\\d+:\\d+: ${msg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`)));
  }
});

describe('RUN with a NUL byte', () => {
  it('is refused at the instruction (file:line:col), not at the process', () => {
    expect(() => parseDockerfile('FROM busybox\nRUN echo a\u0000b\n', { file: 'Dockerfile' })).toThrow(
      /^the command contains a NUL byte, which no process argument can hold$/,
    );
    try {
      parseDockerfile('FROM busybox\nRUN ["echo", "a\\u0000b"]\n', { file: 'Dockerfile' });
      expect.unreachable();
    } catch (e) {
      expect((e as UserError).format()).toBe('Dockerfile:2:1: the command contains a NUL byte, which no process argument can hold');
    }
  });
});
