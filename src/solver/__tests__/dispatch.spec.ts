/**
 * Unit specs of the pure parts of the solver: the step dispatcher (config, history, actions),
 * --mount parsing, Go formatting helpers, cache keys, flag parsers and the DAG scheduler.
 */
import { describe, expect, it } from 'vitest';
import { ShellLex, parseRunMount, resolveRunMount } from '../../dockerfile/index.js';
import { stepKey } from '../cachekey.js';
import {
  dispatchStep,
  goDuration,
  initStageState,
  parsePortSpec,
  resolveDest,
  type DispatchContext,
  type RunAction,
  type CopyAction,
} from '../dispatch.js';
import { parseBuildContext, parseOutput, parseSecret } from '../options.js';
import { runDag } from '../scheduler.js';
import type { Step } from '../types.js';

const lex = new ShellLex('\\');
const ctx = (buildArgValues: Record<string, string> = {}): DispatchContext => ({
  lexer: { processWord: (w, e) => lex.processWord(w, e), processWords: (w, e) => lex.processWords(w, e) },
  globalArgs: { TARGETARCH: 'amd64', G: 'global' },
  buildArgValues,
  platform: { os: 'linux', architecture: 'amd64' },
});
const pos = (original: string): { line: number; endLine: number; original: string } => ({ line: 1, endLine: 1, original });

describe('dispatchStep', () => {
  it('scratch starts like BuildKit’s empty image', () => {
    const st = initStageState({ kind: 'scratch' }, { os: 'linux', architecture: 'amd64' }, '');
    expect(st.config.config).toEqual({ Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], WorkingDir: '/' });
  });

  it('ARG feeds RUN env and history, not the config; ENV wins in expansion', () => {
    const st = initStageState({ kind: 'image', config: { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, config: { Env: ['PATH=/bin'] } } }, { os: 'linux', architecture: 'amd64' }, 's');
    st.cmdTotal = 2;
    const c = ctx({ V: 'cli' });
    dispatchStep(st, { ...pos('ARG V=def G'), kind: 'arg', args: [{ key: 'V', value: 'def' }, { key: 'G' }] }, c);
    dispatchStep(st, { ...pos('ENV E=$V-$G'), kind: 'env', pairs: [{ key: 'E', value: '$V-$G' }] }, c);
    const r = dispatchStep(st, { ...pos('RUN echo $E'), kind: 'run', cmd: ['echo $E'], shellForm: true, heredocs: [], mounts: [] }, c);
    const a = r.action as RunAction;
    expect(a.args).toEqual(['/bin/sh', '-c', 'echo $E']);
    expect(a.env).toEqual(['PATH=/bin', 'V=cli', 'G=global', 'E=cli-global']);
    expect(st.config.config?.Env).toEqual(['PATH=/bin', 'E=cli-global']);
    expect(r.history?.created_by).toBe('RUN |2 V=cli G=global /bin/sh -c echo $E # buildkit');
    expect(r.name).toBe('[s 1/2] RUN echo cli-global');
  });

  it('exec-form RUN, WORKDIR relative and "/", COPY destination and history', () => {
    const st = initStageState({ kind: 'scratch' }, { os: 'linux', architecture: 'amd64' }, '');
    const run = dispatchStep(st, { ...pos('RUN ["a","b c"]'), kind: 'run', cmd: ['a', 'b c'], shellForm: false, heredocs: [], mounts: [] }, ctx());
    expect(run.history?.created_by).toBe('RUN a b c # buildkit');
    const w1 = dispatchStep(st, { ...pos('WORKDIR /'), kind: 'workdir', value: '/' }, ctx());
    expect(w1.action).toBeUndefined();
    expect(w1.history).toMatchObject({ created_by: 'WORKDIR /', empty_layer: true });
    const w2 = dispatchStep(st, { ...pos('WORKDIR a/b/'), kind: 'workdir', value: 'a/b/' }, ctx());
    expect(w2.action).toEqual({ type: 'workdir', path: '/a/b', user: '' });
    expect(w2.history?.created_by).toBe('WORKDIR /a/b');
    expect(w2.history?.empty_layer).toBeUndefined();
    const cp = dispatchStep(st, { ...pos('COPY --chown=1:2 x y/'), kind: 'copy', srcs: ['x'], dest: 'y/', heredocs: [], exclude: [], chown: '1:2', from: 'build' }, ctx());
    expect((cp.action as CopyAction).dest).toBe('/a/b/y/');
    expect(cp.history?.created_by).toBe('COPY --chown=1:2 x y/ # buildkit');
  });

  it('CMD/ENTRYPOINT follow SHELL; ENTRYPOINT drops an inherited Cmd', () => {
    const st = initStageState({ kind: 'image', config: { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, config: { Cmd: ['sh'] } } }, { os: 'linux', architecture: 'amd64' }, '');
    dispatchStep(st, { ...pos('SHELL ["bash","-c"]'), kind: 'shell', shell: ['bash', '-c'] }, ctx());
    const e = dispatchStep(st, { ...pos('ENTRYPOINT run it'), kind: 'entrypoint', cmd: ['run it'], shellForm: true }, ctx());
    expect(st.config.config?.Entrypoint).toEqual(['bash', '-c', 'run it']);
    expect(st.config.config?.Cmd).toBeUndefined();
    expect(e.history?.created_by).toBe('ENTRYPOINT ["bash" "-c" "run it"]');
  });

  it('EXPOSE, VOLUME, STOPSIGNAL, HEALTHCHECK history texts', () => {
    const st = initStageState({ kind: 'scratch' }, { os: 'linux', architecture: 'amd64' }, '');
    expect(dispatchStep(st, { ...pos('EXPOSE 80 90/udp'), kind: 'expose', words: ['80', '90/udp'] }, ctx()).history?.created_by).toBe('EXPOSE map[80/tcp:{} 90/udp:{}]');
    expect(dispatchStep(st, { ...pos('VOLUME /a /b'), kind: 'volume', words: ['/a', '/b'] }, ctx()).history?.created_by).toBe('VOLUME [/a /b]');
    expect(() => dispatchStep(st, { ...pos('STOPSIGNAL NOPE'), kind: 'stopsignal', value: 'NOPE' }, ctx())).toThrow(/Invalid signal/);
    const h = dispatchStep(st, { ...pos('HEALTHCHECK NONE'), kind: 'healthcheck', test: ['NONE'] }, ctx());
    expect(h.history?.created_by).toBe('HEALTHCHECK &{["NONE"] "0s" "0s" "0s" "0s" \'\\x00\'}');
  });
});

/** a --mount value as the dispatcher sees it: typed by the front end, then resolved */
const parseMount = (raw: string, workdir: string) => resolveRunMount(parseRunMount(raw), (v) => v, workdir);

describe('helpers', () => {
  it('parseMount defaults like BuildKit', () => {
    expect(parseMount('type=cache,target=/c', '/w')).toMatchObject({ type: 'cache', id: '/c', sharing: 'shared', readonly: false });
    expect(parseMount('target=rel', '/w')).toMatchObject({ type: 'bind', target: '/w/rel', readonly: true });
    expect(parseMount('type=bind,target=/x,rw', '/')).toMatchObject({ readonly: false });
    expect(parseMount('type=secret,id=tok', '/')).toMatchObject({ target: '/run/secrets/tok', readonly: true });
    expect(() => parseMount('type=nope,target=/x', '/')).toThrow(/unsupported mount type/);
  });
  it('Go durations, ports, destinations', () => {
    expect(goDuration(30e9)).toBe('30s');
    expect(goDuration(90e9)).toBe('1m30s');
    expect(goDuration(1.5e9)).toBe('1.5s');
    expect(goDuration(5e8)).toBe('500ms');
    expect(parsePortSpec('8000-8002/udp')).toEqual(['8000/udp', '8001/udp', '8002/udp']);
    expect(resolveDest('/w', '.')).toBe('/w/');
    expect(resolveDest('/w', '../x')).toBe('/x');
    expect(resolveDest('/w', '/abs/')).toBe('/abs/');
  });
  it('flag parsers', () => {
    expect(parseSecret('id=a,src=/f')).toEqual({ id: 'a', src: '/f', env: undefined });
    expect(parseSecret('id=TOKEN')).toEqual({ id: 'TOKEN', env: 'TOKEN' });
    expect(parseOutput('type=oci,dest=o.tar')).toEqual({ type: 'oci', dest: 'o.tar' });
    expect(parseOutput('type=docker,dest=o.tar,oci-mediatypes=true')).toEqual({ type: 'docker', dest: 'o.tar', ociMediaTypes: true });
    expect(parseOutput('type=oci,dest=o.tar,oci-mediatypes=false')).toEqual({ type: 'oci', dest: 'o.tar', ociMediaTypes: false });
    expect(parseOutput('type=docker,dest=o.tar,oci-mediatypes=')).toEqual({ type: 'docker', dest: 'o.tar', ociMediaTypes: true });
    expect(() => parseOutput('type=docker,dest=o.tar,oci-mediatypes=maybe')).toThrow('non-bool value maybe specified for oci-mediatypes');
    expect(parseOutput('./dir')).toEqual({ type: 'local', dest: './dir' });
    expect(parseBuildContext('a=docker-image://busybox')).toEqual(['a', { kind: 'image', ref: 'busybox' }]);
    expect(parseBuildContext('b=oci-layout:///l:tag')).toEqual(['b', { kind: 'oci', path: '/l', ref: 'tag' }]);
    expect(parseBuildContext('c=../dir')).toEqual(['c', { kind: 'dir', path: '../dir' }]);
  });
  it('cache keys: stable, sensitive to inputs and to mount options, never to secret values', () => {
    const run = (mounts: RunAction['mounts'], env: string[] = []): RunAction => ({ type: 'run', args: ['x'], env, cwd: '/', user: '', mounts, pipes: [] });
    const k1 = stepKey('p', run([]), {});
    expect(stepKey('p', run([]), {})).toBe(k1);
    expect(stepKey('q', run([]), {})).not.toBe(k1);
    expect(stepKey('p', run([], ['A=1']), {})).not.toBe(k1);
    // as in BuildKit, the secret mount's options are part of the op that is hashed; its value is
    // not (a ParsedMount never carries it)
    const sec = (id: string, target = `/run/secrets/${id}`) => run([{ type: 'secret', id, target, readonly: true, required: false }]);
    expect(stepKey('p', sec('s'), {})).not.toBe(k1);
    expect(stepKey('p', sec('s'), {})).toBe(stepKey('p', sec('s'), {}));
    expect(stepKey('p', sec('t'), {})).not.toBe(stepKey('p', sec('s'), {}));
    expect(stepKey('p', sec('s', '/x'), {})).not.toBe(stepKey('p', sec('s'), {}));
  });
});

describe('runDag', () => {
  it('starts independent nodes together and dependents after', async () => {
    const log: string[] = [];
    const deps: Record<number, number[]> = { 0: [], 1: [], 2: [0, 1] };
    await runDag([0, 1, 2], (n) => deps[n], async (n) => {
      log.push(`start ${n}`);
      await new Promise((r) => setTimeout(r, 20));
      log.push(`end ${n}`);
      return n;
    });
    expect(log.slice(0, 2).sort()).toEqual(['start 0', 'start 1']);
    expect(log.indexOf('start 2')).toBeGreaterThan(log.indexOf('end 1'));
  });
  it('the first failure rejects the run', async () => {
    await expect(runDag([0, 1], () => [], async (n) => { if (n === 1) throw new Error('boom'); return n; })).rejects.toThrow('boom');
  });
});

// keep the Step type in use for readers of this spec
export type { Step };
