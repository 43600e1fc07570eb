/**
 * `--ssh` parsing and the per-mount agent socket: requests reach the agent only when BuildKit's
 * read-only agent would let them (list, sign, unlock), refused ones are answered SSH_AGENT_FAILURE,
 * replies keep request order, messages split across reads are reassembled. No root needed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ShellLex, parseRunMount, resolveRunMount } from '../../dockerfile/index.js';
import { stepKey } from '../cachekey.js';
import { dispatchStep, initStageState, type DispatchContext, type RunAction } from '../dispatch.js';

const parseMount = (raw: string, workdir: string) => resolveRunMount(parseRunMount(raw), (v) => v, workdir);
import { SshAgents, parseSsh } from '../ssh.js';

describe('parseSsh', () => {
  it('reads default, ID=SOCKET and ID=KEY,KEY like buildx', () => {
    expect(parseSsh('default')).toEqual({ id: 'default', paths: [] });
    expect(parseSsh('default=')).toEqual({ id: 'default', paths: [''] });
    expect(parseSsh('gh=/run/agent.sock')).toEqual({ id: 'gh', paths: ['/run/agent.sock'] });
    expect(parseSsh('k=/a/id_ed25519,/b/id_rsa')).toEqual({ id: 'k', paths: ['/a/id_ed25519', '/b/id_rsa'] });
    expect(parseSsh('=/x.sock')).toEqual({ id: 'default', paths: ['/x.sock'] });
  });
  it('rejects an empty value or an empty path among several', () => {
    expect(() => parseSsh('')).toThrow(/^invalid --ssh ""/);
    expect(() => parseSsh('a=/k1,')).toThrow(/^invalid --ssh "a=\/k1,"/);
  });
});

describe('RUN --mount=type=ssh dispatch', () => {
  const lex = new ShellLex('\\');
  const ctx: DispatchContext = {
    lexer: { processWord: (w, e) => lex.processWord(w, e), processWords: (w, e) => lex.processWords(w, e) },
    globalArgs: {},
    buildArgValues: {},
    platform: { os: 'linux', architecture: 'amd64' },
  };
  const run = (mounts: string[], env: string[] = []): RunAction => {
    const st = initStageState({ kind: 'image', config: { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, config: { Env: env } } }, ctx.platform, '');
    const step = { line: 1, endLine: 1, original: 'RUN x', kind: 'run' as const, cmd: ['x'], shellForm: true, heredocs: [], mounts: mounts.map((m) => parseRunMount(m)) };
    return dispatchStep(st, step, ctx).action as RunAction;
  };

  it('defaults id to "default" and targets to /run/buildkit/ssh_agent.N; SSH_AUTH_SOCK is the first', () => {
    const a = run(['type=ssh,id=gh,mode=0640', 'type=cache,target=/c', 'type=ssh', 'type=ssh,target=rel']);
    expect(a.mounts.filter((m) => m.type === 'ssh').map((m) => [m.id, m.target, m.mode])).toEqual([
      ['gh', '/run/buildkit/ssh_agent.0', 0o640],
      ['default', '/run/buildkit/ssh_agent.1', undefined],
      ['default', '/rel', undefined],
    ]);
    expect(a.env).toContain('SSH_AUTH_SOCK=/run/buildkit/ssh_agent.0');
    expect(run(['type=ssh'], ['SSH_AUTH_SOCK=/mine']).env.filter((e) => e.startsWith('SSH_AUTH_SOCK='))).toEqual(['SSH_AUTH_SOCK=/mine']);
    expect(run([]).env.some((e) => e.startsWith('SSH_AUTH_SOCK='))).toBe(false);
    expect(() => parseMount('type=ssh,source=/x', '/')).toThrow('ssh does not support source');
  });

  it('keys a step by the mount options (BuildKit SSHOpt), which hold no host path', () => {
    const key = (mounts: string[]): string => stepKey('sha256:p', run(mounts), {});
    expect(key(['type=ssh'])).toBe(key(['type=ssh']));
    expect(key(['type=ssh'])).not.toBe(key([]));
    expect(key(['type=ssh'])).not.toBe(key(['type=ssh,mode=0666']));
    expect(key(['type=ssh'])).not.toBe(key(['type=ssh,required']));
  });
});

const frame = (type: number, body: number[] = []): Buffer => {
  const b = Buffer.alloc(5 + body.length);
  b.writeUInt32BE(1 + body.length, 0);
  b[4] = type;
  Buffer.from(body).copy(b, 5);
  return b;
};

describe('SshAgents', () => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  /** An agent answering each request, in order, with a reply carrying its type; type 13 is slow. */
  async function agent(): Promise<{ sock: string; seen: number[] }> {
    const dir = mkdtempSync(join(tmpdir(), 'sc-ssh-test-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const sock = join(dir, 'a.sock');
    const seen: number[] = [];
    const server: Server = createServer((c) => {
      let replies = Promise.resolve();
      c.on('data', (d: Buffer) => {
        for (let i = 0; i < d.length; i += 4 + d.readUInt32BE(i)) {
          const t = d[i + 4];
          seen.push(t);
          replies = replies.then(() => new Promise((r) => setTimeout(r, t === 13 ? 50 : 0))).then(() => void c.write(frame(100 + t)));
        }
      });
    });
    await new Promise<void>((r) => server.listen(sock, r));
    cleanups.push(() => new Promise((r) => server.close(r)));
    return { sock, seen };
  }

  /** Sends `data` in the given chunks and collects `n` reply types. */
  async function exchange(path: string, chunks: Buffer[], n: number): Promise<number[]> {
    const c: Socket = connect(path);
    await new Promise((r) => c.once('connect', r));
    const got: number[] = [];
    let buf = Buffer.alloc(0);
    const done = new Promise<void>((res) => {
      c.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
          got.push(buf[4]);
          buf = buf.subarray(4 + buf.readUInt32BE(0));
        }
        if (got.length >= n) res();
      });
    });
    for (const ch of chunks) {
      c.write(ch);
      await new Promise((r) => setTimeout(r, 5));
    }
    await done;
    c.destroy();
    return got;
  }

  it('forwards list/sign/unlock, refuses the rest, keeps reply order', async () => {
    const a = await agent();
    const agents = await SshAgents.open([{ id: 'default', paths: [a.sock] }]);
    cleanups.push(() => agents.close());
    const s = await agents.mount('default', { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, mode: 0o600 });
    expect(s).toBeDefined();
    cleanups.push(() => s?.close());
    expect(statSync(s!.path).mode & 0o777).toBe(0o600);
    expect(statSync(s!.path).isSocket()).toBe(true);
    // sign (answered late), add identity, remove all, list, lock, unlock, extension
    const all = Buffer.concat([frame(13, [1, 2, 3]), frame(17), frame(19), frame(11), frame(22), frame(23), frame(27)]);
    // split inside a length prefix and inside a body
    const got = await exchange(s!.path, [all.subarray(0, 2), all.subarray(2, 7), all.subarray(7)], 7);
    expect(got).toEqual([113, 5, 5, 111, 5, 123, 5]);
    expect(a.seen).toEqual([13, 11, 23]);
    await s!.close();
    expect(() => statSync(s!.path)).toThrow();
  });

  it('knows which IDs were given and words a missing one like BuildKit', async () => {
    const none = await SshAgents.open([]);
    expect(await none.mount('default', { uid: 0, gid: 0, mode: 0o600 })).toBeUndefined();
    expect(none.missingMessage('default')).toBe('no SSH key "default" forwarded from the client');
    const a = await agent();
    const some = await SshAgents.open([{ id: 'x', paths: [a.sock] }]);
    expect(some.has('x')).toBe(true);
    expect(some.missingMessage('default')).toBe('unset ssh forward key default');
    await expect(SshAgents.open([{ id: 'default', paths: [] }], {})).rejects.toThrow('invalid empty ssh agent socket: make sure SSH_AUTH_SOCK is set');
    const viaEnv = await SshAgents.open([{ id: 'default', paths: [''] }], { SSH_AUTH_SOCK: a.sock });
    expect(viaEnv.has('default')).toBe(true);
  });
});
