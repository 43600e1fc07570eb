/** Image names: docker's familiar normalization and validation. */
import { describe, expect, it } from 'vitest';
import { UserError } from '../../util/errors.js';
import { normalizeRef, normalizeTag, qualifiedRef } from '../refs.js';

describe('references', () => {
  it('normalizes to familiar name:tag', () => {
    expect(normalizeTag('busybox')).toBe('busybox:latest');
    expect(normalizeTag('docker.io/library/busybox:1.36')).toBe('busybox:1.36');
    expect(normalizeTag('index.docker.io/foo/bar')).toBe('foo/bar:latest');
    expect(normalizeTag('localhost:5000/app')).toBe('localhost:5000/app:latest');
    expect(normalizeTag('ghcr.io/o/r:v1.2_3')).toBe('ghcr.io/o/r:v1.2_3');
    expect(normalizeRef(`busybox@sha256:${'a'.repeat(64)}`)).toBe(`busybox@sha256:${'a'.repeat(64)}`);
    expect(qualifiedRef('busybox:latest')).toBe('docker.io/library/busybox:latest');
    expect(qualifiedRef('localhost:5000/app:v')).toBe('localhost:5000/app:v');
  });
  it('rejects invalid names with UserError', () => {
    for (const bad of ['Busybox', 'a:b:c', 'x@sha256:12', '', 'a//b', '-a', 'a:-tag', `a:${'t'.repeat(200)}`]) {
      expect(() => normalizeTag(bad), bad).toThrow(UserError);
    }
    expect(() => normalizeTag(`a@sha256:${'a'.repeat(64)}`)).toThrow(/digest/);
  });
});
