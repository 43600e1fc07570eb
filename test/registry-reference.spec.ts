/**
 * Image references parsed as Docker does (cases from distribution/reference's normalize tests),
 * platform selection from a manifest list, and WWW-Authenticate parsing.
 */
import { describe, expect, it } from 'vitest';
import { parseReference } from '../src/reference/reference.js';
import { parsePlatform, selectManifest } from '../src/reference/platform.js';
import { parseWwwAuthenticate } from '../src/registry/auth.js';
import { UserError } from '../src/util/errors.js';

const D = `sha256:${'a'.repeat(64)}`;

describe('parseReference', () => {
  const ok: [string, string, string][] = [
    // input, full, familiar
    ['busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['busybox:1.36', 'docker.io/library/busybox:1.36', 'busybox:1.36'],
    ['library/busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['docker.io/busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['index.docker.io/busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['docker.io/library/busybox:musl', 'docker.io/library/busybox:musl', 'busybox:musl'],
    ['user/app', 'docker.io/user/app:latest', 'user/app:latest'],
    ['user/app/sub', 'docker.io/user/app/sub:latest', 'user/app/sub:latest'],
    ['test_com', 'docker.io/library/test_com:latest', 'test_com:latest'],
    ['test.com:tag', 'docker.io/library/test.com:tag', 'test.com:tag'],
    ['test.com:5000', 'docker.io/library/test.com:5000', 'test.com:5000'],
    ['test.com/repo:tag', 'test.com/repo:tag', 'test.com/repo:tag'],
    ['test:5000/repo', 'test:5000/repo:latest', 'test:5000/repo:latest'],
    ['localhost/foo', 'localhost/foo:latest', 'localhost/foo:latest'],
    ['localhost:5000/x/y:v1', 'localhost:5000/x/y:v1', 'localhost:5000/x/y:v1'],
    ['127.0.0.1:5000/a-b/c__d.e:1.0-rc_1', '127.0.0.1:5000/a-b/c__d.e:1.0-rc_1', '127.0.0.1:5000/a-b/c__d.e:1.0-rc_1'],
    ['[::1]:5000/foo', '[::1]:5000/foo:latest', '[::1]:5000/foo:latest'],
    [`busybox@${D}`, `docker.io/library/busybox@${D}`, `busybox@${D}`],
    [`test:5000/repo:tag@${D}`, `test:5000/repo:tag@${D}`, `test:5000/repo:tag@${D}`],
    ['Uppercase.com/foo', 'Uppercase.com/foo:latest', 'Uppercase.com/foo:latest'],
  ];
  for (const [input, full, familiar] of ok) {
    it(`${input} → ${full}`, () => {
      const r = parseReference(input);
      expect(r.toString()).toBe(full);
      expect(r.familiar).toBe(familiar);
      expect(`${r.registry}/${r.repository}`).toBe(r.name);
    });
  }

  it('splits registry, repository, tag and digest', () => {
    const r = parseReference(`localhost:5000/x/y:t@${D}`);
    expect(r).toMatchObject({ registry: 'localhost:5000', repository: 'x/y', tag: 't', digest: D });
    expect(parseReference(`x@${D}`).tag).toBeUndefined();
    expect(parseReference('x', { defaultTag: null }).tag).toBeUndefined();
  });

  const bad: [string, RegExp][] = [
    ['', /at least one component/],
    ['Busybox', /must be lowercase/],
    ['localhost:5000/Foo', /must be lowercase/],
    ['busybox:tag with space', /invalid reference format/],
    ['busybox:-tag', /invalid tag format/],
    [`busybox:${'t'.repeat(129)}`, /invalid tag format/],
    ['busybox@sha256:abc', /invalid digest format/],
    [`busybox@md5:${'a'.repeat(32)}`, /unsupported digest algorithm/],
    [`busybox@sha256:${'a'.repeat(63)}b1`, /digest length/],
    ['a'.repeat(64), /64-byte hexadecimal/],
    ['-busybox', /invalid reference format/],
    ['busybox/', /invalid reference format/],
    ['http://x/y', /invalid reference format/],
    ['a//b', /invalid reference format/],
    [`x/${'a'.repeat(260)}`, /not be more than 255/],
  ];
  for (const [input, re] of bad) {
    it(`rejects ${JSON.stringify(input.length > 40 ? `${input.slice(0, 40)}…` : input)}`, () => {
      let err: unknown;
      try {
        parseReference(input);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(UserError);
      expect((err as Error).message).toMatch(re);
      expect((err as Error).message).not.toContain('\n');
    });
  }
});

describe('platforms', () => {
  const list = [
    { mediaType: 'm', digest: 'sha256:1', size: 1, platform: { os: 'linux', architecture: 'amd64' } },
    { mediaType: 'm', digest: 'sha256:2', size: 1, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
    { mediaType: 'm', digest: 'sha256:3', size: 1, platform: { os: 'linux', architecture: 'arm', variant: 'v6' } },
    { mediaType: 'm', digest: 'sha256:4', size: 1, platform: { os: 'unknown', architecture: 'unknown' } },
  ];
  it('parses os/arch[/variant] with aliases', () => {
    expect(parsePlatform('linux/amd64')).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(parsePlatform('linux/aarch64')).toEqual({ os: 'linux', architecture: 'arm64' });
    expect(parsePlatform('linux/arm64/v8')).toEqual({ os: 'linux', architecture: 'arm64' });
    expect(parsePlatform('linux/arm')).toEqual({ os: 'linux', architecture: 'arm', variant: 'v7' });
    expect(() => parsePlatform('linux//x')).toThrow(UserError);
  });
  it('selects the matching entry and explains a miss', () => {
    expect(selectManifest(list, parsePlatform('linux/amd64')).digest).toBe('sha256:1');
    expect(selectManifest(list, parsePlatform('linux/arm64')).digest).toBe('sha256:2');
    expect(selectManifest(list, parsePlatform('linux/arm/v6')).digest).toBe('sha256:3');
    expect(() => selectManifest(list, parsePlatform('linux/s390x'))).toThrow(/no matching manifest for linux\/s390x.*available: linux\/amd64, linux\/arm64, linux\/arm\/v6/);
  });
});

describe('WWW-Authenticate', () => {
  it('parses bearer and basic challenges', () => {
    expect(parseWwwAuthenticate('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"')).toEqual([
      { scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull' } },
    ]);
    expect(parseWwwAuthenticate('Basic realm="x y"')).toEqual([{ scheme: 'basic', params: { realm: 'x y' } }]);
    expect(parseWwwAuthenticate('Bearer realm="r",error="insufficient_scope",scope="a:b:pull,push"')[0]!.params.scope).toBe('a:b:pull,push');
  });
});
