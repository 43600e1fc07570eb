/**
 * SSH agent forwarding for `RUN --mount=type=ssh` (BuildKit's session/sshforward).
 * In: the `--ssh` specs (`default|ID[=SOCKET|KEY[,KEY...]]`, parsed by `parseSsh`). Out: per ssh
 * mount of a RUN, a fresh listening socket in a private temp dir, chowned and chmodded to the
 * mount's uid/gid/mode, which the engine bind-mounts at the mount's target.
 *
 * `SshAgents.open` resolves the specs once per build, like buildx does before solving: an ID given
 * no path uses $SSH_AUTH_SOCK; a path is either one agent socket or key files, which are loaded into
 * a private `ssh-agent` (openssh-client) started for the build and killed by `close()`. Every
 * connection to a mount's socket is forwarded to that agent read-only, as BuildKit's readOnlyAgent:
 * listing keys, signing and unlocking pass, adding, removing, locking and extensions are refused
 * with SSH_AGENT_FAILURE, so a build cannot empty the user's agent. The socket lives outside the
 * rootfs: it never enters a layer, the history or a cache key.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { chmod, chown, rm } from 'node:fs/promises';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve as resolvePath } from 'node:path';
import { UserError, errnoText } from '../util/errors.js';

/** One `--ssh` flag: an agent ID and its socket or key files (none: $SSH_AUTH_SOCK). */
export interface SshSpec {
  id: string;
  paths: string[];
}

export const DEFAULT_SSH_ID = 'default';

/** `default`, `ID=SOCKET`, `ID=KEY[,KEY...]` (buildx's ParseSSHSpecs; an empty ID is `default`). */
export function parseSsh(s: string): SshSpec {
  const i = s.indexOf('=');
  const id = (i < 0 ? s : s.slice(0, i)).trim() || DEFAULT_SSH_ID;
  const paths = i < 0 ? [] : s.slice(i + 1).split(',');
  if (s.trim() === '' || (paths.length > 1 && paths.some((p) => p === ''))) {
    throw new UserError(`invalid --ssh ${JSON.stringify(s)} (expected default|ID[=SOCKET|KEY[,KEY...]])`);
  }
  return { id, paths };
}

/** The mount's socket file options (BuildKit's SSHOpt). */
export interface SshSocketOpts {
  uid: number;
  gid: number;
  mode: number;
}

/** A socket made for one mount; `close()` stops it and removes its directory. */
export interface SshSocket {
  path: string;
  close(): Promise<void>;
}

// SSH agent protocol (draft-miller-ssh-agent): uint32 length, then the message type byte
const SSH_AGENT_FAILURE = 5;
const SSH_AGENTC_REQUEST_IDENTITIES = 11;
const SSH_AGENTC_SIGN_REQUEST = 13;
const SSH_AGENTC_UNLOCK = 23;
/** what BuildKit's readOnlyAgent lets through */
const FORWARDED = new Set([SSH_AGENTC_REQUEST_IDENTITIES, SSH_AGENTC_SIGN_REQUEST, SSH_AGENTC_UNLOCK]);
const FAILURE_REPLY = Buffer.from([0, 0, 0, 1, SSH_AGENT_FAILURE]);
/** OpenSSH's AGENT_MAX_LEN for requests; Go's agent client accepts replies up to 16 MiB */
const MAX_REQUEST = 256 * 1024;
const MAX_REPLY = 16 << 20;
/** sun_path is 108 bytes with its NUL */
const MAX_SOCKET_PATH = 107;

/** The agents of one build, by ID. */
export class SshAgents {
  private sources = new Map<string, string>();
  private agents: ChildProcess[] = [];
  private dirs: string[] = [];
  private readonly killAll = (): void => {
    for (const a of this.agents) a.kill('SIGTERM');
  };

  private constructor(private readonly given: boolean) {}

  /** Resolves the specs: sockets are checked, key files loaded into a private ssh-agent. */
  static async open(specs: SshSpec[], env: NodeJS.ProcessEnv = process.env): Promise<SshAgents> {
    const a = new SshAgents(specs.length > 0);
    try {
      for (const spec of specs) {
        const id = spec.id || DEFAULT_SSH_ID;
        if (a.sources.has(id)) throw new UserError(`duplicate agent ID ${JSON.stringify(id)}`);
        a.sources.set(id, await a.resolve(id, spec.paths, env));
      }
    } catch (e) {
      await a.close();
      throw e;
    }
    return a;
  }

  has(id: string): boolean {
    return this.sources.has(id);
  }

  /** BuildKit's error for a required mount whose ID was not given to --ssh. */
  missingMessage(id: string): string {
    // no --ssh at all: the daemon finds no ssh session; else the client's provider answers
    return this.given ? `unset ssh forward key ${id}` : `no SSH key ${JSON.stringify(id)} forwarded from the client`;
  }

  /** A new socket forwarding to agent `id`, or undefined when that ID was not given. */
  async mount(id: string, opts: SshSocketOpts): Promise<SshSocket | undefined> {
    const upstream = this.sources.get(id);
    if (upstream === undefined) return undefined;
    const dir = privateDir('sc-ssh-');
    const path = join(dir, 'ssh_auth_sock');
    const conns = new Set<Socket>();
    const server = createServer((c) => forwardReadOnly(c, upstream, conns));
    try {
      await listen(server, path);
      await chown(path, opts.uid, opts.gid);
      await chmod(path, opts.mode & 0o777);
    } catch (e) {
      server.close();
      await rm(dir, { recursive: true, force: true });
      throw e;
    }
    return {
      path,
      close: async () => {
        server.close();
        for (const c of conns) c.destroy();
        await rm(dir, { recursive: true, force: true }).catch(() => undefined);
      },
    };
  }

  /** Kills the private agents and removes their directories. */
  async close(): Promise<void> {
    const exits = this.agents.map((c) => (c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => c.once('exit', () => r()))));
    this.killAll();
    await Promise.all(exits);
    this.agents = [];
    process.off('exit', this.killAll);
    for (const d of this.dirs.splice(0)) await rm(d, { recursive: true, force: true }).catch(() => undefined);
  }

  /** The agent socket to forward to for one spec (BuildKit's toDialer). */
  private async resolve(id: string, given: string[], env: NodeJS.ProcessEnv): Promise<string> {
    let paths = given;
    if (paths.length === 0 || (paths.length === 1 && paths[0] === '')) {
      const sock = env.SSH_AUTH_SOCK;
      if (!sock) throw new UserError('invalid empty ssh agent socket: make sure SSH_AUTH_SOCK is set');
      paths = [sock];
    }
    const fail = (msg: string): UserError => new UserError(`failed to convert agent config for ID: ${JSON.stringify(id)}: ${msg}`);
    let socket: string | undefined;
    const keys: Array<{ path: string; data: Buffer }> = [];
    for (const p of paths) {
      if (socket !== undefined) throw fail('only single socket allowed');
      let isSocket: boolean;
      try {
        isSocket = statSync(p).isSocket();
      } catch (e) {
        throw fail(`stat ${p}: ${errnoText(e)}`);
      }
      if (isSocket) {
        socket = resolvePath(p);
        continue;
      }
      let data: Buffer;
      try {
        data = readFileSync(p).subarray(0, 100 * 1024);
      } catch (e) {
        throw fail(`failed to read ${p}: ${errnoText(e)}`);
      }
      // golang.org/x/crypto/ssh's ParseRawPrivateKey words; ssh-add judges the rest
      if (!/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(data.toString('latin1'))) throw fail(`failed to parse ${p}: ssh: no key found`);
      if (isPassphraseProtected(data)) throw fail(`failed to parse ${p}: ssh: this private key is passphrase protected`);
      keys.push({ path: p, data });
    }
    if (socket !== undefined) {
      if (keys.length) throw fail('invalid combination of keys and sockets');
      return socket;
    }
    const sock = await this.startAgent();
    for (const k of keys) await addKey(sock, k.path, k.data, (msg) => fail(`failed to parse ${k.path}: ${msg}`));
    return sock;
  }

  /** `ssh-agent -D -a SOCK`: a foreground agent of our own, killed by close(). */
  private async startAgent(): Promise<string> {
    const dir = privateDir('sc-ssh-agent-');
    this.dirs.push(dir);
    const sock = join(dir, 'agent.sock');
    const child = spawn('ssh-agent', ['-D', '-a', sock], { stdio: ['ignore', 'pipe', 'pipe'] });
    if (this.agents.length === 0) process.on('exit', this.killAll);
    this.agents.push(child);
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    // it prints `SSH_AUTH_SOCK=...` once the socket listens
    await new Promise<void>((res, rej) => {
      child.once('error', (e: NodeJS.ErrnoException) =>
        rej(e.code === 'ENOENT' ? new UserError('ssh-agent not found on this host (install openssh-client); --ssh with key files needs it') : e),
      );
      child.once('exit', (code) => rej(new UserError(`ssh-agent exited ${code}: ${lastLine(stderr)}`)));
      child.stdout?.once('data', () => res());
    });
    child.stdout?.resume();
    return sock;
  }
}

/** `ssh-add -` with the key on stdin: no permission check on the file, no passphrase prompt (no tty). */
function addKey(sock: string, path: string, data: Buffer, fail: (msg: string) => UserError): Promise<void> {
  return new Promise((res, rej) => {
    const env: NodeJS.ProcessEnv = { ...process.env, SSH_AUTH_SOCK: sock, SSH_ASKPASS_REQUIRE: 'never' };
    delete env.DISPLAY;
    const p = spawn('ssh-add', ['-q', '-'], { env, stdio: ['pipe', 'ignore', 'pipe'], detached: true });
    let stderr = '';
    p.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    p.once('error', (e: NodeJS.ErrnoException) => rej(e.code === 'ENOENT' ? new UserError(`ssh-add not found on this host (install openssh-client); needed for --ssh key file ${path}`) : e));
    p.once('close', (code) => (code === 0 ? res() : rej(fail(lastLine(stderr).replace(/^Error loading key "\(stdin\)": /, '') || `ssh-add exited ${code}`))));
    p.stdin?.on('error', () => undefined);
    p.stdin?.end(data);
  });
}

/** An OpenSSH key with a cipher other than "none", or an encrypted PEM key. */
function isPassphraseProtected(data: Buffer): boolean {
  const text = data.toString('latin1');
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(text)) return true;
  const m = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]*?)-----END OPENSSH PRIVATE KEY-----/.exec(text);
  if (!m) return false;
  const blob = Buffer.from(m[1].replace(/\s+/g, ''), 'base64');
  const magic = 'openssh-key-v1\0';
  if (blob.length < magic.length + 4 || blob.toString('latin1', 0, magic.length) !== magic) return false;
  const n = blob.readUInt32BE(magic.length);
  return blob.toString('latin1', magic.length + 4, magic.length + 4 + n) !== 'none';
}

/**
 * Serves one connection from the container: each request is forwarded to the agent at `upstream`
 * or refused, and replies go back in request order.
 */
function forwardReadOnly(client: Socket, upstream: string, conns: Set<Socket>): void {
  const up = connect(upstream);
  for (const s of [client, up]) {
    conns.add(s);
    s.on('error', () => undefined);
    s.on('close', () => {
      conns.delete(s);
      client.destroy();
      up.destroy();
    });
  }
  // replies in request order: null = waiting for the agent's answer
  const replies: Array<Buffer | null> = [];
  const flush = (): void => {
    while (replies.length && replies[0] !== null) client.write(replies.shift() as Buffer);
  };
  readFrames(client, MAX_REQUEST, (frame) => {
    if (FORWARDED.has(frame[4])) {
      replies.push(null);
      up.write(frame);
    } else {
      replies.push(FAILURE_REPLY);
      flush();
    }
  });
  readFrames(up, MAX_REPLY, (frame) => {
    const i = replies.indexOf(null);
    if (i < 0) return void up.destroy(); // an answer nobody asked for
    replies[i] = frame;
    flush();
  });
}

/** Calls `onFrame` with each complete length-prefixed message (prefix included). */
function readFrames(s: Socket, max: number, onFrame: (frame: Buffer) => void): void {
  let buf: Buffer = Buffer.alloc(0);
  s.on('data', (d: Buffer) => {
    buf = buf.length ? Buffer.concat([buf, d]) : d;
    while (buf.length >= 4) {
      const n = buf.readUInt32BE(0);
      if (n === 0 || n > max) return void s.destroy();
      if (buf.length < 4 + n) break;
      onFrame(buf.subarray(0, 4 + n));
      buf = buf.subarray(4 + n);
    }
  });
}

function listen(server: Server, path: string): Promise<void> {
  return new Promise((res, rej) => {
    server.once('error', rej);
    server.listen(path, () => {
      server.off('error', rej);
      res();
    });
  });
}

/** A new 0700 directory whose socket paths fit in sun_path (BuildKit: os.TempDir). */
function privateDir(prefix: string): string {
  const base = join(tmpdir(), prefix).length + 32 <= MAX_SOCKET_PATH ? tmpdir() : '/tmp';
  return mkdtempSync(join(base, prefix));
}

function lastLine(s: string): string {
  return s.trim().split('\n').filter(Boolean).pop()?.trim() ?? '';
}
