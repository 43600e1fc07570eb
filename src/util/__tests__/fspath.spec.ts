import { mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanPath, isWithin, resolveInRoot } from '../fspath.js';

describe('scoped path resolution', () => {
  const root = mkdtempSync(join(tmpdir(), 'fspath-'));
  mkdirSync(join(root, 'a/b'), { recursive: true });
  symlinkSync('/etc', join(root, 'abs'));
  symlinkSync('../../../../..', join(root, 'a/up'));
  symlinkSync('b', join(root, 'a/rel'));
  symlinkSync('loop2', join(root, 'loop1'));
  symlinkSync('loop1', join(root, 'loop2'));

  it('cleans paths without escaping /', () => {
    expect(cleanPath('../../x/./y/')).toBe('/x/y');
    expect(cleanPath('')).toBe('/');
  });
  it('keeps absolute link targets inside the root', () => {
    expect(resolveInRoot(root, '/abs/passwd')).toBe(join(root, 'etc/passwd'));
  });
  it('never climbs above the root through .. links', () => {
    expect(resolveInRoot(root, '/a/up/etc/shadow')).toBe(join(root, 'etc/shadow'));
  });
  it('follows relative links in the middle and leaves the final one unless asked', () => {
    expect(resolveInRoot(root, '/a/rel/f')).toBe(join(root, 'a/b/f'));
    expect(resolveInRoot(root, '/a/rel')).toBe(join(root, 'a/rel'));
    expect(resolveInRoot(root, '/a/rel', true)).toBe(join(root, 'a/b'));
    expect(resolveInRoot(root, '/abs', true)).toBe(join(root, 'etc'));
  });
  it('fails on symlink loops instead of hanging', () => {
    expect(() => resolveInRoot(root, '/loop1/x')).toThrow(/symbolic links/);
  });
  it('isWithin is lexical and exact on prefixes', () => {
    expect(isWithin('/r', '/r/x')).toBe(true);
    expect(isWithin('/r', '/rx')).toBe(false);
    expect(isWithin('/r', '/r')).toBe(true);
  });
});
