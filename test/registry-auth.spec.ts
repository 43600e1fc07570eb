/**
 * Registry authentication and transport security against real registries: htpasswd basic auth
 * with `login`/`logout` writing Docker's config.json (and a credential helper), TLS with a
 * self-signed CA (refused until trusted through SSL_CERT_FILE / NODE_EXTRA_CA_CERTS, or named with
 * --insecure-registry), and the bearer-token flow with our token server in front of a registry
 * configured with `auth: token:` (the registry itself verifies the JWTs).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, importBusybox, runCli, tmp } from './helpers/index.js';
import { startRegistry, TokenServer, type RegistryInstance } from './helpers/registry.js';
import { Store } from '../src/store/index.js';

let src: string;
let localDigest: string;
const fast = { STAGECRAFT_REGISTRY_BACKOFF_MS: '20', STAGECRAFT_REGISTRY_RETRIES: '2' };

async function digestIn(root: string, ref: string): Promise<string | undefined> {
  return (await (await Store.open(root)).resolveImage(ref))?.manifestDigest;
}

function readConfig(dir: string): { auths?: Record<string, { auth?: string }>; credHelpers?: Record<string, string> } {
  return JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
}

/** A docker-credential-sctest helper (node script) keeping secrets in a dir and logging calls. */
function makeHelper(): { binDir: string; dataDir: string; calls: () => string[] } {
  const binDir = tmp('sc-helper-bin-');
  const dataDir = tmp('sc-helper-data-');
  const script = `#!${process.execPath}
const fs = require('fs'), path = require('path'), crypto = require('crypto');
const dir = ${JSON.stringify(dataDir)};
const action = process.argv[2];
const input = fs.readFileSync(0, 'utf8');
fs.appendFileSync(path.join(dir, 'calls.log'), action + ' ' + (action === 'store' ? JSON.parse(input).ServerURL : input.trim()) + '\\n');
const file = (u) => path.join(dir, crypto.createHash('sha256').update(u).digest('hex') + '.json');
if (action === 'get') {
  const f = file(input.trim());
  if (!fs.existsSync(f)) { process.stdout.write('credentials not found in native keychain\\n'); process.exit(1); }
  process.stdout.write(fs.readFileSync(f));
} else if (action === 'store') {
  const j = JSON.parse(input);
  fs.writeFileSync(file(j.ServerURL), JSON.stringify(j));
} else if (action === 'erase') {
  fs.rmSync(file(input.trim()), { force: true });
}
`;
  const p = join(binDir, 'docker-credential-sctest');
  writeFileSync(p, script);
  // an extensionless CommonJS script: make its directory a CommonJS package
  writeFileSync(join(binDir, 'package.json'), '{"type":"commonjs"}');
  chmodSync(p, 0o755);
  const log = join(dataDir, 'calls.log');
  return { binDir, dataDir, calls: () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []) };
}

beforeAll(async () => {
  src = tmp('sc-src-');
  await importBusybox(src);
  localDigest = (await digestIn(src, 'busybox:latest'))!;
});

describe('basic auth (htpasswd)', () => {
  let reg: RegistryInstance;
  beforeAll(async () => {
    reg = await startRegistry({ htpasswd: { alice: 's3cret pass', bob: 'other' } });
  });
  afterAll(async () => reg?.stop());

  it('refuses anonymous access with a hint to log in', async () => {
    const env = { ...fast, DOCKER_CONFIG: tmp('sc-cfg-') };
    const r = await runCli(['push', 'busybox:latest', `${reg.host}/basic/busybox:v1`], { root: src, env });
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim()).toBe(`${reg.host}: access to basic/busybox denied (HTTP 401): authentication required (run \`stagecraft login\`)`);
  });

  it('login checks the password, writes config.json, and push/pull then work; logout removes it', async () => {
    const cfg = tmp('sc-cfg-');
    const env = { ...fast, DOCKER_CONFIG: cfg };
    const bad = await runCli(['login', reg.host, '-u', 'alice', '--password-stdin'], { env, input: 'wrong\n' });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr.trim()).toBe(`login to ${reg.host} failed: unauthorized: incorrect username or password`);
    expect(existsSync(join(cfg, 'config.json'))).toBe(false);

    const ok = await cli(['login', reg.host, '-u', 'alice', '--password-stdin'], { env, input: 's3cret pass\n' });
    expect(ok.stdout).toContain('Login Succeeded');
    const c = readConfig(cfg);
    expect(Buffer.from(c.auths![reg.host]!.auth!, 'base64').toString()).toBe('alice:s3cret pass');
    expect(statSync(join(cfg, 'config.json')).mode & 0o777).toBe(0o600);

    await cli(['push', 'busybox:latest', `${reg.host}/basic/busybox:v1`], { root: src, env });
    const dst = tmp('sc-dst-');
    await cli(['pull', `${reg.host}/basic/busybox:v1`], { root: dst, env });
    expect(await digestIn(dst, `${reg.host}/basic/busybox:v1`)).toBe(localDigest);

    const out = await cli(['logout', reg.host], { env });
    expect(out.stdout.trim()).toBe(`Removing login credentials for ${reg.host}`);
    expect(readConfig(cfg).auths?.[reg.host]).toBeUndefined();
    const again = await runCli(['pull', `${reg.host}/basic/busybox:v1`], { root: tmp(), env });
    expect(again.stderr).toMatch(/authentication required/);
  });

  it('reads auths keys written with a scheme and path, as older docker versions did', async () => {
    const cfg = tmp('sc-cfg-');
    writeFileSync(join(cfg, 'config.json'), JSON.stringify({ auths: { [`http://${reg.host}/v2/`]: { auth: Buffer.from('bob:other').toString('base64') } } }));
    const dst = tmp('sc-dst-');
    await cli(['pull', `${reg.host}/basic/busybox:v1`], { root: dst, env: { ...fast, DOCKER_CONFIG: cfg } });
    expect(await digestIn(dst, `${reg.host}/basic/busybox:v1`)).toBe(localDigest);
  });

  it('uses credHelpers / credsStore through docker-credential-<name>', async () => {
    const h = makeHelper();
    const cfg = tmp('sc-cfg-');
    writeFileSync(join(cfg, 'config.json'), JSON.stringify({ credHelpers: { [reg.host]: 'sctest' } }));
    const env = { ...fast, DOCKER_CONFIG: cfg, PATH: `${h.binDir}:${process.env.PATH}` };
    const miss = await runCli(['pull', `${reg.host}/basic/busybox:v1`], { root: tmp(), env });
    expect(miss.stderr).toMatch(/authentication required/);
    await cli(['login', reg.host, '-u', 'alice', '--password-stdin'], { env, input: 's3cret pass' });
    // the secret went to the helper, not into the file
    expect(readFileSync(join(cfg, 'config.json'), 'utf8')).not.toContain(Buffer.from('alice:s3cret pass').toString('base64'));
    const dst = tmp('sc-dst-');
    await cli(['pull', `${reg.host}/basic/busybox:v1`], { root: dst, env });
    expect(await digestIn(dst, `${reg.host}/basic/busybox:v1`)).toBe(localDigest);
    expect(h.calls()).toEqual([`get ${reg.host}`, `store ${reg.host}`, `get ${reg.host}`]);

    // credsStore applies to every registry without a credHelpers entry
    const cfg2 = tmp('sc-cfg-');
    writeFileSync(join(cfg2, 'config.json'), JSON.stringify({ credsStore: 'sctest' }));
    await cli(['pull', `${reg.host}/basic/busybox:v1`], { root: tmp(), env: { ...env, DOCKER_CONFIG: cfg2 } });
    await cli(['logout', reg.host], { env: { ...env, DOCKER_CONFIG: cfg2 } });
    expect(h.calls().at(-1)).toBe(`erase ${reg.host}`);
  });
});

describe('TLS with a private CA', () => {
  let reg: RegistryInstance;
  beforeAll(async () => {
    reg = await startRegistry({ tls: true });
  });
  afterAll(async () => reg?.stop());

  it('refuses an untrusted certificate in one line', async () => {
    const r = await runCli(['push', 'busybox:latest', `${reg.host}/tls/busybox:v1`], { root: src, env: { ...fast, DOCKER_CONFIG: tmp() } });
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim()).toMatch(new RegExp(`^${reg.host.replace(/\./g, '\\.')}: TLS certificate not trusted \\(.+\\); add its CA with SSL_CERT_FILE or NODE_EXTRA_CA_CERTS, or name it with --insecure-registry$`));
  });

  it('trusts the CA from SSL_CERT_FILE or NODE_EXTRA_CA_CERTS', async () => {
    await cli(['push', 'busybox:latest', `${reg.host}/tls/busybox:v1`], { root: src, env: { ...fast, DOCKER_CONFIG: tmp(), SSL_CERT_FILE: reg.ca!.caCert } });
    const dst = tmp('sc-dst-');
    await cli(['pull', `${reg.host}/tls/busybox:v1`], { root: dst, env: { ...fast, DOCKER_CONFIG: tmp(), NODE_EXTRA_CA_CERTS: reg.ca!.caCert } });
    expect(await digestIn(dst, `${reg.host}/tls/busybox:v1`)).toBe(localDigest);
  });

  it('skips verification only for a registry named with --insecure-registry', async () => {
    const dst = tmp('sc-dst-');
    await cli(['pull', '--insecure-registry', reg.host, `${reg.host}/tls/busybox:v1`], { root: dst, env: { ...fast, DOCKER_CONFIG: tmp() } });
    expect(await digestIn(dst, `${reg.host}/tls/busybox:v1`)).toBe(localDigest);
  });
});

describe('bearer token auth (token server + registry with auth: token)', () => {
  let ts: TokenServer;
  let reg: RegistryInstance;
  beforeAll(async () => {
    ts = await new TokenServer({ carol: 'tok-pass' }).start();
    reg = await startRegistry({ token: { realm: ts.realm, service: ts.service, issuer: ts.issuer, rootCertBundle: ts.certFile } });
  });
  afterAll(async () => {
    await reg?.stop();
    await ts?.stop();
  });

  it('anonymous tokens cannot push', async () => {
    const r = await runCli(['push', 'busybox:latest', `${reg.host}/tok/busybox:v1`], { root: src, env: { ...fast, DOCKER_CONFIG: tmp() } });
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim()).toBe(`${reg.host}: access to tok/busybox denied (HTTP 401): authentication required (run \`stagecraft login\`)`);
    expect(ts.requests.some((q) => q.status === 200 && q.user === undefined && q.scopes.includes('repository:tok/busybox:pull,push'))).toBe(true);
  });

  it('login gets a token with the password; push works; a wrong password is refused', async () => {
    const cfg = tmp('sc-cfg-');
    const env = { ...fast, DOCKER_CONFIG: cfg };
    const bad = await runCli(['login', reg.host, '-u', 'carol', '-p', 'nope'], { env });
    expect(bad.stderr.trim().split('\n').at(-1)).toBe(`login to ${reg.host} failed: unauthorized: incorrect username or password`);
    await cli(['login', reg.host, '-u', 'carol', '--password-stdin'], { env, input: 'tok-pass' });
    ts.requests = [];
    const p = await cli(['push', 'busybox:latest', `${reg.host}/tok/busybox:v1`], { root: src, env });
    expect(p.stdout).toMatch(/2 uploaded/);
    expect(ts.requests.length).toBeGreaterThan(0);
    expect(ts.requests.every((q) => q.user === 'carol' && q.status === 200)).toBe(true);
  });

  it("uses an identity token (OAuth2 refresh token) from config.json, as docker's credential flow leaves", async () => {
    ts.refreshTokens['rt-for-carol'] = 'carol';
    const cfg = tmp('sc-cfg-');
    writeFileSync(join(cfg, 'config.json'), JSON.stringify({ auths: { [reg.host]: { identitytoken: 'rt-for-carol' } } }));
    ts.requests = [];
    await cli(['push', 'busybox:latest', `${reg.host}/tok/refresh:v1`], { root: src, env: { ...fast, DOCKER_CONFIG: cfg } });
    expect(ts.requests.length).toBeGreaterThan(0);
    expect(ts.requests.every((q) => q.user === 'carol' && q.status === 200)).toBe(true);
    writeFileSync(join(cfg, 'config.json'), JSON.stringify({ auths: { [reg.host]: { identitytoken: 'revoked' } } }));
    const r = await runCli(['push', 'busybox:latest', `${reg.host}/tok/refresh:v2`], { root: src, env: { ...fast, DOCKER_CONFIG: cfg } });
    expect(r.stderr.trim()).toBe(`${reg.host}: authentication failed at ${ts.realm} (HTTP 401)`);
  });

  it('pulls anonymously with one token for all requests of the same scope', async () => {
    ts.requests = [];
    const dst = tmp('sc-dst-');
    await cli(['pull', `${reg.host}/tok/busybox:v1`], { root: dst, env: { ...fast, DOCKER_CONFIG: tmp() } });
    expect(await digestIn(dst, `${reg.host}/tok/busybox:v1`)).toBe(localDigest);
    // manifest + config + layer, one token
    expect(ts.requests).toEqual([{ scopes: ['repository:tok/busybox:pull'], user: undefined, status: 200 }]);
  });
});

