/**
 * THE platform module. Platform strings and manifest-list selection: `linux/arm64/v8` in, a `Platform` out; an index's
 * descriptors in, the one entry for a platform out (containerd's matching rules: os and
 * architecture must match; `arm64` treats variant `v8` and none as equal; `arm` defaults to `v7`;
 * a requested variant must match, an unrequested one prefers the best-known default).
 */
import { UserError } from '../util/errors.js';

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
}

/** The host's platform in OCI terms (node's arch names mapped to GOARCH). */
export function hostPlatform(): Platform {
  const archMap: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  const architecture = archMap[process.arch] ?? process.arch;
  const p: Platform = { os: 'linux', architecture };
  if (architecture === 'arm64') p.variant = 'v8';
  return p;
}


const ARCH_ALIASES: Record<string, string> = { x86_64: 'amd64', 'x86-64': 'amd64', aarch64: 'arm64', armhf: 'arm', armel: 'arm', i386: '386' };
/** The architecture an alias names (own keys only: `__proto__` is a name, not Object.prototype). */
const archAlias = (a: string): string => (Object.hasOwn(ARCH_ALIASES, a) ? ARCH_ALIASES[a]! : a);

export function parsePlatform(s: string): Platform {
  const parts = s.trim().toLowerCase().split('/');
  if (parts.some((p) => p === '') || parts.length > 3) throw new UserError(`invalid platform ${JSON.stringify(s)}: expected os/arch[/variant]`);
  let os: string;
  let arch: string;
  let variant: string | undefined;
  if (parts.length === 1) {
    // `amd64` alone means linux/amd64 (as docker); `linux` alone means the host's architecture
    if (parts[0] === 'linux' || parts[0] === 'windows' || parts[0] === 'darwin') {
      os = parts[0]!;
      arch = hostPlatform().architecture;
    } else {
      os = 'linux';
      arch = parts[0]!;
    }
  } else {
    [os, arch, variant] = parts as [string, string, string | undefined];
  }
  arch = archAlias(arch);
  return normalizePlatform({ os, architecture: arch, ...(variant ? { variant } : {}) });
}

/**
 * containerd's platforms.Normalize: os and architecture lower-cased, architecture aliases
 * (`x86_64`, `aarch64`, ...) mapped, a numeric variant prefixed `v`, the default variants
 * dropped (arm64 v8, amd64 v1), arm defaulting to v7.
 */
export function normalizePlatform(p: Platform): Platform {
  const arch = p.architecture.toLowerCase();
  const out: Platform = { ...p, os: p.os.toLowerCase(), architecture: archAlias(arch) };
  let v = (p.variant ?? '').toLowerCase();
  if (/^[0-9]+$/.test(v)) v = `v${v}`;
  if ((out.architecture === 'arm64' && v === 'v8') || (out.architecture === 'amd64' && v === 'v1')) v = '';
  if (out.architecture === 'arm' && v === '') v = 'v7';
  if (v) out.variant = v;
  else delete out.variant;
  return out;
}

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

export function platformMatches(want: Platform, have: Platform | undefined): boolean {
  if (!have) return false;
  const w = normalizePlatform(want);
  const h = normalizePlatform(have);
  return w.os === h.os && w.architecture === h.architecture && (w.variant ?? '') === (h.variant ?? '');
}

/** Picks the index entry for `want`; throws docker's message when there is none. */
export function selectManifest<D extends { platform?: Platform }>(manifests: D[], want: Platform): D {
  const candidates = manifests.filter((d) => d.platform && platformMatches(want, d.platform));
  // attestation manifests (buildx) carry platform unknown/unknown: never selected above
  if (candidates.length) return candidates[0]!;
  const avail = manifests.filter((d) => d.platform && d.platform.os !== 'unknown').map((d) => formatPlatform(normalizePlatform(d.platform!)));
  throw new UserError(
    `no matching manifest for ${formatPlatform(normalizePlatform(want))} in the manifest list entries${avail.length ? ` (available: ${avail.join(', ')})` : ''}`,
  );
}
