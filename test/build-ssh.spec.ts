/**
 * RUN --mount=type=ssh and `build --ssh`: the agent is reachable inside the RUN at the mount's
 * target (default /run/buildkit/ssh_agent.N) with SSH_AUTH_SOCK pointing at it, the socket has the
 * mount's mode/uid/gid, the agent is forwarded read-only (a build cannot remove the user's keys),
 * key files work through a private agent that is gone after the build, a required mount without
 * --ssh fails naming its line, an optional one is skipped, and neither the socket nor where --ssh
 * pointed appears in the layers, the config or the cache key.
 *
 * The busybox image has no ssh client; the host's `ssh-add` (openssh-client) is bind-mounted into
 * the RUN with its shared libraries and started through their dynamic loader.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { basename, join } from 'node:path';
import { importBusybox, isRoot, tmp } from './helpers/index.js';
import { buildCli, buildOk, cachedVertices, context, imageConfig, imageTree, layerEntries } from './helpers/build.js';

const SSH_ADD = ['/usr/bin/ssh-add', '/bin/ssh-add'].find((p) => existsSync(p));
const haveOpenssh = !!SSH_ADD && ['/usr/bin/ssh-agent', '/usr/bin/ssh-keygen'].every((p) => existsSync(p));

/** ssh-add plus its shared libraries and their loader (as `ld.so`), copied into `dir`. */
function copySshAdd(dir: string): void {
  mkdirSync(dir, { recursive: true });
  copyFileSync(SSH_ADD as string, join(dir, 'ssh-add'));
  for (const line of execFileSync('ldd', [SSH_ADD as string], { encoding: 'utf8' }).split('\n')) {
    const lib = /=>\s+(\/\S+)/.exec(line)?.[1];
    const loader = /^\s*(\/\S+)\s+\(/.exec(line)?.[1];
    if (lib) copyFileSync(lib, join(dir, basename(lib)));
    if (loader) copyFileSync(loader, join(dir, 'ld.so'));
  }
}
/** the shell words that run the host's ssh-add inside the RUN */
const SSH_ADD_IN = '/opt/t/ld.so --library-path /opt/t /opt/t/ssh-add';
const TOOLS = '--mount=type=bind,source=tools,target=/opt/t';

function keygen(dir: string, name: string): { key: string; fingerprint: string } {
  const key = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', key]);
  const fingerprint = execFileSync('ssh-keygen', ['-l', '-f', `${key}.pub`], { encoding: 'utf8' }).split(' ')[1];
  return { key, fingerprint };
}

const agents: ChildProcess[] = [];
/** a real `ssh-agent -a SOCK` holding `keys` */
async function startAgent(keys: string[]): Promise<string> {
  const sock = join(tmp('sc-agent-'), 'agent.sock');
  const child = spawn('ssh-agent', ['-D', '-a', sock], { stdio: ['ignore', 'pipe', 'inherit'] });
  agents.push(child);
  await new Promise((res, rej) => {
    child.stdout?.once('data', res);
    child.once('error', rej);
  });
  for (const k of keys) execFileSync('ssh-add', ['-q', k], { env: { ...process.env, SSH_AUTH_SOCK: sock } });
  return sock;
}

function agentKeys(sock: string): string {
  return execFileSync('ssh-add', ['-l'], { env: { ...process.env, SSH_AUTH_SOCK: sock }, encoding: 'utf8' });
}

/** A fake agent that records each connection's request types and knows no keys. */
async function fakeAgent(): Promise<{ sock: string; requests: number[][]; server: Server }> {
  const sock = join(tmp('sc-fake-agent-'), 'agent.sock');
  const requests: number[][] = [];
  const server = createServer((c) => {
    const seen: number[] = [];
    requests.push(seen);
    let buf = Buffer.alloc(0);
    c.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
        const type = buf[4];
        seen.push(type);
        buf = buf.subarray(4 + buf.readUInt32BE(0));
        // SSH_AGENT_IDENTITIES_ANSWER with no keys; SSH_AGENT_SUCCESS to anything else
        c.write(type === 11 ? Buffer.from([0, 0, 0, 5, 12, 0, 0, 0, 0]) : Buffer.from([0, 0, 0, 1, 6]));
      }
    });
    c.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(sock, r));
  return { sock, requests, server };
}

describe.skipIf(!isRoot || !haveOpenssh)('build: ssh', () => {
  let root: string;
  let keysDir: string;
  let k1: ReturnType<typeof keygen>;
  let k2: ReturnType<typeof keygen>;
  let sockA: string;
  let sockB: string;
  const withTools = (dockerfile: string): string => {
    const c = context({ Dockerfile: dockerfile });
    copySshAdd(join(c, 'tools'));
    return c;
  };

  beforeAll(async () => {
    root = tmp('sc-root-');
    await importBusybox(root);
    keysDir = tmp('sc-keys-');
    k1 = keygen(keysDir, 'one');
    k2 = keygen(keysDir, 'two');
    sockA = await startAgent([k1.key]);
    sockB = await startAgent([k1.key]);
  });
  afterAll(() => {
    for (const a of agents) a.kill();
  });

  const DEFAULT_DF = `FROM busybox
RUN ${TOOLS} --mount=type=ssh sh -c 'echo "$SSH_AUTH_SOCK" > /sock-env; stat -c "%a %u %g %F" "$SSH_AUTH_SOCK" > /sock-stat; ${SSH_ADD_IN} -l > /keys; ${SSH_ADD_IN} -D 2>/dev/null; echo $? > /delete-rc'
`;

  it('forwards the agent at /run/buildkit/ssh_agent.0 (SSH_AUTH_SOCK, 0600 root), read-only', async () => {
    const c = withTools(DEFAULT_DF);
    await buildOk(root, c, ['-t', 'ssh:default', '--ssh', 'default'], { env: { SSH_AUTH_SOCK: sockA } });
    const tree = await imageTree(root, 'ssh:default');
    expect(readFileSync(join(tree, 'sock-env'), 'utf8')).toBe('/run/buildkit/ssh_agent.0\n');
    expect(readFileSync(join(tree, 'sock-stat'), 'utf8')).toBe('600 0 0 socket\n');
    expect(readFileSync(join(tree, 'keys'), 'utf8')).toContain(k1.fingerprint);
    // removing keys is refused (BuildKit's readOnlyAgent) and the agent keeps its key
    expect(readFileSync(join(tree, 'delete-rc'), 'utf8').trim()).not.toBe('0');
    expect(agentKeys(sockA)).toContain(k1.fingerprint);
  });

  it('keeps the socket out of the image, its layers and config, and out of the cache key', async () => {
    const tree = await imageTree(root, 'ssh:default');
    expect(existsSync(join(tree, 'run/buildkit'))).toBe(false);
    for (const l of await layerEntries(root, 'ssh:default')) {
      for (const e of l) {
        expect(e.path).not.toMatch(/ssh_agent|run\/buildkit|\.sock$/);
        expect(e.type).not.toBe('socket');
      }
    }
    const cfg = await imageConfig(root, 'ssh:default');
    expect(JSON.stringify(cfg.config?.Env)).not.toContain('SSH_AUTH_SOCK');
    expect(JSON.stringify(cfg)).not.toContain('ssh_agent');
    expect(JSON.stringify(cfg)).not.toContain(sockA);
    // another agent socket, given as ID=SOCKET: same key, the RUN is cached
    const c = withTools(DEFAULT_DF);
    const r = await buildOk(root, c, ['-t', 'ssh:default2', '--ssh', `default=${sockB}`]);
    expect(cachedVertices(r.stderr).filter((n) => n.includes('RUN'))).toHaveLength(1);
  });

  it('honours id, target, mode, uid and gid; SSH_AUTH_SOCK is the first ssh mount; a second gets ssh_agent.1', async () => {
    const c = withTools(`FROM busybox
USER app
RUN ${TOOLS} --mount=type=ssh,id=deploy,target=/tmp/agent.sock,mode=0660,uid=1000,gid=1000,required --mount=type=ssh sh -c 'echo "$SSH_AUTH_SOCK" > /tmp/env; stat -c "%a %u %g %F" /tmp/agent.sock > /tmp/stat; ${SSH_ADD_IN} -l > /tmp/keys; test -S /run/buildkit/ssh_agent.1 && echo yes > /tmp/second'
`);
    await buildOk(root, c, ['-t', 'ssh:opts', '--ssh', `deploy=${sockA}`, '--ssh', `default=${sockB}`]);
    const tree = await imageTree(root, 'ssh:opts');
    expect(readFileSync(join(tree, 'tmp/env'), 'utf8')).toBe('/tmp/agent.sock\n');
    expect(readFileSync(join(tree, 'tmp/stat'), 'utf8')).toBe('660 1000 1000 socket\n');
    expect(readFileSync(join(tree, 'tmp/keys'), 'utf8')).toContain(k1.fingerprint);
    expect(readFileSync(join(tree, 'tmp/second'), 'utf8')).toBe('yes\n');
    expect(existsSync(join(tree, 'tmp/agent.sock'))).toBe(false);
  });

  it('forwards only listing and signing to the agent it was given', async () => {
    const fake = await fakeAgent();
    try {
      const c = withTools(`FROM busybox
RUN ${TOOLS} --mount=type=ssh,id=fake sh -c '${SSH_ADD_IN} -l; echo $? > /list-rc; ${SSH_ADD_IN} -D; echo $? > /delete-rc'
`);
      const r = await buildOk(root, c, ['-t', 'ssh:fake', '--ssh', `fake=${fake.sock}`]);
      expect(r.stderr).toContain('The agent has no identities.');
      const tree = await imageTree(root, 'ssh:fake');
      expect(readFileSync(join(tree, 'list-rc'), 'utf8')).toBe('1\n');
      expect(readFileSync(join(tree, 'delete-rc'), 'utf8')).not.toBe('0\n');
      // the agent saw the container's connections, but only the REQUEST_IDENTITIES (11)
      expect(fake.requests.length).toBeGreaterThanOrEqual(1);
      expect(fake.requests.flat()).toEqual([11]);
    } finally {
      fake.server.close();
    }
  });

  it('fails a required mount whose ID was not given, naming the Dockerfile line', async () => {
    const c = context({ Dockerfile: 'FROM busybox\nRUN --mount=type=ssh,required=true true\n' });
    const r = await buildCli(root, c, [], { env: { SSH_AUTH_SOCK: sockA } });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('Dockerfile:2');
    expect(r.stderr).toContain('>>> RUN --mount=type=ssh,required=true true');
    expect(r.stderr.trim().split('\n').pop()).toBe('ERROR: failed to solve: no SSH key "default" forwarded from the client');
    // --ssh was given, but for another ID
    const r2 = await buildCli(root, c, ['--ssh', `other=${sockA}`]);
    expect(r2.code).not.toBe(0);
    expect(r2.stderr.trim().split('\n').pop()).toBe('ERROR: failed to solve: unset ssh forward key default');
  });

  it('skips an optional mount without --ssh (SSH_AUTH_SOCK still set, no socket); same cache key', async () => {
    const df = `FROM busybox
RUN --mount=type=ssh sh -c 'echo "$SSH_AUTH_SOCK" > /env; test -e /run/buildkit/ssh_agent.0 && echo present > /present || echo absent > /present'
`;
    const c = context({ Dockerfile: df });
    await buildOk(root, c, ['-t', 'ssh:optional'], { env: { SSH_AUTH_SOCK: '' } });
    const tree = await imageTree(root, 'ssh:optional');
    expect(readFileSync(join(tree, 'env'), 'utf8')).toBe('/run/buildkit/ssh_agent.0\n');
    expect(readFileSync(join(tree, 'present'), 'utf8')).toBe('absent\n');
    expect(existsSync(join(tree, 'run/buildkit'))).toBe(false);
    const r = await buildOk(root, c, ['-t', 'ssh:optional2', '--ssh', `default=${sockA}`]);
    expect(cachedVertices(r.stderr).filter((n) => n.includes('RUN'))).toHaveLength(1);
  });

  it('serves key files through a private agent that is gone after the build', async () => {
    const c = withTools(`FROM busybox
RUN ${TOOLS} --mount=type=ssh,id=keys,required sh -c '${SSH_ADD_IN} -l > /keys'
`);
    // ssh-add refuses group/world-readable key files; BuildKit does not care
    execFileSync('chmod', ['0644', k2.key]);
    await buildOk(root, c, ['-t', 'ssh:keys', '--ssh', `keys=${k1.key},${k2.key}`]);
    const keys = readFileSync(join(await imageTree(root, 'ssh:keys'), 'keys'), 'utf8');
    expect(keys).toContain(k1.fingerprint);
    expect(keys).toContain(k2.fingerprint);
    const ps = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
    expect(ps).not.toMatch(/ssh-agent -D -a \S*sc-ssh-agent-/);
  });

  it('rejects bad --ssh values with one line', async () => {
    const c = context({ Dockerfile: 'FROM busybox\nRUN true\n' });
    const missing = await buildCli(root, c, ['--ssh', 'default=/nonexistent/agent.sock']);
    expect(missing.code).not.toBe(0);
    // one line: checked before the build starts, like buildx
    expect(missing.stderr.trim()).toBe(
      'failed to convert agent config for ID: "default": stat /nonexistent/agent.sock: no such file or directory',
    );
    const noSock = await buildCli(root, c, ['--ssh', 'default'], { env: { SSH_AUTH_SOCK: '' } });
    expect(noSock.stderr.trim()).toBe('invalid empty ssh agent socket: make sure SSH_AUTH_SOCK is set');
    const mixed = await buildCli(root, c, ['--ssh', `default=${k1.key},${sockA}`]);
    expect(mixed.stderr.trim()).toBe('failed to convert agent config for ID: "default": invalid combination of keys and sockets');
    const dup = await buildCli(root, c, ['--ssh', `a=${sockA}`, '--ssh', `a=${sockB}`]);
    expect(dup.stderr.trim()).toBe('duplicate agent ID "a"');
    const bad = await buildCli(root, c, ['--ssh', 'default=a,,b']);
    expect(bad.stderr.trim()).toBe('invalid --ssh "default=a,,b" (expected default|ID[=SOCKET|KEY[,KEY...]])');
    const enc = join(keysDir, 'enc');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'secret-pass', '-f', enc]);
    const r = await buildCli(root, c, ['--ssh', `default=${enc}`]);
    expect(r.stderr.trim()).toBe(`failed to convert agent config for ID: "default": failed to parse ${enc}: ssh: this private key is passphrase protected`);
    const pub = await buildCli(root, c, ['--ssh', `default=${k1.key}.pub`]);
    expect(pub.stderr.trim()).toBe(`failed to convert agent config for ID: "default": failed to parse ${k1.key}.pub: ssh: no key found`);
  });
});
