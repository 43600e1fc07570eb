/**
 * The CLI owns its flags and words its errors like docker (without a daemon): `run --env-file` is
 * stagecraft's, whatever Node runs the bin; `tag` refuses a 300-character name as build -t and
 * pull do; a bad `run` flag exits 125; `run` pulls an image it does not have; nothing says
 * "Error response from daemon"; `system df -v` is docker's verbose listing.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, cli, importBusybox, isRoot, runCli, tmp } from './helpers/index.js';
import { startRegistry, type RegistryInstance } from './helpers/registry.js';

const exec = promisify(execFile);

describe('docker fidelity of the CLI', () => {
  let root: string;
  beforeAll(async () => {
    root = tmp('sc-fid-');
    await importBusybox(root);
  });

  it('run --env-file is read by stagecraft, not by node (the bin itself is run)', async () => {
    const env = { ...process.env, STAGECRAFT_ROOT: root };
    const missing = await exec(CLI, ['run', '--rm', '--env-file', '/nonexistent/env', 'busybox', 'true'], { env }).catch((e: { code: number; stderr: string }) => e);
    expect(missing.stderr).not.toMatch(/^node:/m);
    expect(missing.stderr).toContain('/nonexistent/env');
    expect((missing as { code?: number }).code).toBe(125);
    if (!isRoot) return;
    const f = join(tmp(), 'vars.env');
    writeFileSync(f, 'SC_FROM_FILE=yes\n');
    const r = await exec(CLI, ['run', '--rm', '--env-file', f, 'busybox', 'sh', '-c', 'echo $SC_FROM_FILE'], { env });
    expect(r.stdout).toBe('yes\n');
  });

  it('tag refuses a name longer than 255 characters, as build -t does', async () => {
    const long = 'a'.repeat(300);
    const r = await runCli(['tag', 'busybox', long], { root });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^invalid reference format: repository name must not be more than 255 characters/);
    expect((await cli(['images', '--format', '{{.Repository}}'], { root })).stdout).not.toContain('aaaa');
  });

  it('a bad run flag exits 125; no message says "Error response from daemon"', async () => {
    const r = await runCli(['run', '--no-such-flag', 'busybox'], { root });
    expect(r.code).toBe(125);
    expect(r.stderr).toContain("unknown option '--no-such-flag'");
    const m = await runCli(['rm', 'no-such-container'], { root });
    expect(m.stderr).toBe('No such container: no-such-container\n');
  });

  it("a bad flag of any docker command exits 125 (docker's CLI); a wrong argument count 1; lint and analyze keep 1", async () => {
    for (const args of [['images', '--bogus'], ['ps', '--bogus'], ['build', '--bogus', '.'], ['build', '-t'], ['system', 'df', '--bogus'], ['rmi', '--bogus', 'x']]) {
      const r = await runCli(args, { root });
      expect(r.code, args.join(' ')).toBe(125);
      expect(r.stderr).toMatch(/^error: (unknown option|option .* argument missing)/);
    }
    for (const args of [['tag'], ['images', 'a', 'b', 'c'], ['lint', '--bogus'], ['analyze', '--bogus', 'x']]) {
      expect((await runCli(args, { root })).code, args.join(' ')).toBe(1);
    }
  });

  it('system df -v is the verbose listing of docker (four sections, its columns), not --version', async () => {
    const r = await cli(['system', 'df', '-v'], { root });
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('Images space usage:');
    expect(lines[2]).toMatch(/^REPOSITORY +TAG +IMAGE ID +CREATED +SIZE +SHARED SIZE +UNIQUE SIZE +CONTAINERS$/);
    expect(r.stdout).toMatch(/^busybox +latest +[0-9a-f]{12} +.+ ago +\d[\d.]*[kMG]?B +\d[\d.]*[kMG]?B +\d[\d.]*[kMG]?B +\d+$/m);
    expect(r.stdout).toMatch(/\n\nContainers space usage:\n\nCONTAINER ID +IMAGE +COMMAND +LOCAL VOLUMES +SIZE +CREATED +STATUS +NAMES\n/);
    expect(r.stdout).toContain('\nLocal Volumes space usage:\n\nVOLUME NAME   LINKS     SIZE\n');
    expect(r.stdout).toMatch(/\nBuild cache usage: \d[\d.]*[kMG]?B\n\nCACHE ID +CACHE TYPE +SIZE +CREATED +LAST USED +USAGE +SHARED\n/);
    const json = JSON.parse((await cli(['system', 'df', '--verbose', '--format', 'json'], { root })).stdout) as Record<string, unknown[]>;
    expect(Object.keys(json)).toEqual(['Images', 'Containers', 'Volumes', 'BuildCache']);
    expect(json.Images?.[0]).toMatchObject({ Repository: 'busybox', Tag: 'latest', Containers: expect.any(String), SharedSize: expect.any(String), UniqueSize: expect.any(String) });
    if (!isRoot) return;
    // a container's copy-on-write bytes, in docker's units (1234567 bytes: 1.23MB)
    await cli(['run', '--name', 'df-probe', 'busybox', 'sh', '-c', 'head -c 1234567 /dev/zero > /f'], { root });
    const c = await cli(['system', 'df', '-v'], { root });
    expect(c.stdout).toMatch(/^[0-9a-f]{12} +busybox +"sh -c 'head -c 1234…" +0 +1\.23MB +.+ ago +Exited \(0\) .+ ago +df-probe$/m);
    expect(c.stdout).toMatch(/^busybox +latest +.* 1$/m); // CONTAINERS: one uses it
    await cli(['rm', 'df-probe'], { root });
  });

  describe.runIf(isRoot)('run pulls a missing image', () => {
    let reg: RegistryInstance;
    beforeAll(async () => {
      reg = await startRegistry();
    });
    afterAll(async () => reg?.stop());
    it('pulls it, says so like docker, and runs it', async () => {
      const ref = `${reg.host}/fid/busybox:v1`;
      await cli(['tag', 'busybox', ref], { root });
      await cli(['push', ref], { root });
      const fresh = tmp('sc-fid-fresh-');
      const r = await cli(['run', '--rm', ref, 'echo', 'hello'], { root: fresh });
      expect(r.stdout).toBe('hello\n');
      expect(r.stderr).toContain(`Unable to find image '${ref}' locally`);
      expect(r.stderr).toContain(`Status: Downloaded newer image for ${ref}`);
    });
  });
});
