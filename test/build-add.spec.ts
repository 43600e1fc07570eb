/**
 * ADD through the build engine: a local archive is extracted, a URL is downloaded (from a
 * loopback HTTP server) and verified with --checksum, and both are cached by content.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { importBusybox, isRoot, tmp } from './helpers/index.js';
import { buildCli, buildOk, cachedVertices, context, imageTree } from './helpers/build.js';

const BODY = 'downloaded body\n';
let body = BODY;

describe.skipIf(!isRoot)('build: ADD', () => {
  let root: string;
  let server: Server;
  let base: string;
  beforeAll(async () => {
    root = tmp('sc-root-');
    await importBusybox(root);
    server = createServer((req, res) => {
      if (req.url === '/file.txt') {
        res.writeHead(200, { 'content-type': 'text/plain', 'last-modified': 'Wed, 01 Jan 2025 00:00:00 GMT' });
        res.end(body);
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('extracts a local archive and downloads a URL with --checksum', async () => {
    const ctx = context({ 'src/a.txt': 'a\n', 'src/sub/b.txt': 'b\n' });
    execFileSync('tar', ['-C', join(ctx, 'src'), '-czf', join(ctx, 'bundle.tar.gz'), '.']);
    const sum = createHash('sha256').update(BODY).digest('hex');
    const df = `FROM busybox
ADD bundle.tar.gz /unpacked/
ADD --checksum=sha256:${sum} ${base}/file.txt /dl/
ADD --chmod=755 src/a.txt /bin-a
ADD --unpack=false bundle.tar.gz /kept/
`;
    writeDf(ctx, df);
    const r = await buildOk(root, ctx, ['-t', 'add:t']);
    expect(r.stderr).toContain('ADD bundle.tar.gz /unpacked/');
    const tree = await imageTree(root, 'add:t');
    expect(readFileSync(join(tree, 'unpacked/sub/b.txt'), 'utf8')).toBe('b\n');
    expect(readFileSync(join(tree, 'dl/file.txt'), 'utf8')).toBe(BODY);
    expect(statSync(join(tree, 'bin-a')).mode & 0o777).toBe(0o755);
    expect(statSync(join(tree, 'kept/bundle.tar.gz')).isFile()).toBe(true);
    const again = await buildOk(root, ctx, ['-t', 'add:t']);
    expect(cachedVertices(again.stderr).filter((n) => n.includes('ADD bundle') || n.includes('--chmod'))).toHaveLength(2);

    // without --checksum the URL's content is part of the key: a changed remote file re-runs ADD
    writeDf(ctx, `FROM busybox\nADD ${base}/file.txt /dl/\n`);
    await buildOk(root, ctx, ['-t', 'add:url']);
    expect(cachedVertices((await buildOk(root, ctx, ['-t', 'add:url'])).stderr)).toHaveLength(1);
    body = 'changed body\n';
    expect(cachedVertices((await buildOk(root, ctx, ['-t', 'add:url'])).stderr)).toHaveLength(0);
    expect(readFileSync(join(await imageTree(root, 'add:url'), 'dl/file.txt'), 'utf8')).toBe('changed body\n');

    writeDf(ctx, df.replace(sum, '0'.repeat(64)));
    const bad = await buildCli(root, ctx, ['-t', 'add:bad']);
    expect(bad.code).not.toBe(0);
  });
});

function writeDf(dir: string, text: string): void {
  execFileSync('sh', ['-c', `cat > '${join(dir, 'Dockerfile')}'`], { input: text });
}
