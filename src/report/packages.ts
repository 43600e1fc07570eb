/**
 * Terminal sections for packages, package changes between two images, and secrets. In: analysis
 * data; out: text (docker's column layout).
 */
import { humanSize, tabulate } from '../util/human.js';
import type { Package, PackageChange, PackageReport } from '../analyze/packages.js';
import type { Secret } from '../analyze/secrets.js';

const trunc = (s: string, n: number): string => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

function flags(p: Package): string {
  return [p.dev ? 'dev' : '', p.tool ?? '', p.neededBy ? `for ${p.neededBy}` : ''].filter(Boolean).join(', ');
}

/**
 * Packages the build installed (every layer the build made), biggest first; the base image's
 * packages as a count per ecosystem. `all` lists every package.
 */
export function renderPackages(r: PackageReport, userLayers: Set<number>, all = false): string {
  const shown = r.packages.filter((p) => (all || userLayers.has(p.layer)) && !(p.ecosystem === 'go' && p.bytes === 0 && p.files === 0));
  const rest = r.packages.filter((p) => !shown.includes(p) && !(p.ecosystem === 'go' && p.files === 0));
  const out: string[] = [];
  if (r.packages.length === 0) out.push('Packages: none found');
  else {
    const total = shown.reduce((s, p) => s + p.bytes, 0);
    out.push(`Packages${all ? '' : ' installed by the build'} (${shown.length}, ${humanSize(total)}):`);
    if (shown.length) {
      const rows = [...shown].sort((a, b) => b.bytes - a.bytes || a.name.localeCompare(b.name));
      out.push(tabulate([['TYPE', 'NAME', 'VERSION', 'ARCH', 'SIZE', 'LAYER', 'STAGE', 'NOTE', 'INSTRUCTION'], ...rows.map((p) => [p.ecosystem, p.name, trunc(p.version, 24), p.arch ?? '', humanSize(p.bytes), String(p.layer), p.stage, flags(p), trunc(p.instruction, 60)])]).trimEnd());
    }
    if (rest.length) {
      const counts = new Map<string, number>();
      for (const p of rest) counts.set(p.ecosystem, (counts.get(p.ecosystem) ?? 0) + 1);
      out.push(`From the base image: ${[...counts].map(([e, n]) => `${n} ${e}`).join(', ')} package(s), ${humanSize(rest.reduce((s, p) => s + p.bytes, 0))} (--packages all lists them)`);
    }
  }
  for (const n of r.notes) out.push(`note: ${n}`);
  return `${out.join('\n')}\n`;
}

export function renderPackageChanges(changes: PackageChange[], a: string, b: string): string {
  if (changes.length === 0) return `Packages: the same in ${a} and ${b}\n`;
  const rows = changes.map((c) => [c.change, c.ecosystem, c.name, c.a ?? '', c.b ?? '', c.change === 'added' ? `+${humanSize(c.bBytes)}` : c.change === 'removed' ? `-${humanSize(c.aBytes)}` : `${c.bBytes >= c.aBytes ? '+' : '-'}${humanSize(Math.abs(c.bBytes - c.aBytes))}`]);
  return `Packages (${a} -> ${b}):\n${tabulate([['CHANGE', 'TYPE', 'NAME', a, b, 'SIZE'], ...rows]).trimEnd()}\n`;
}

export function renderSecrets(secrets: Secret[]): string {
  if (secrets.length === 0) return 'Secrets: none found\n';
  const rows = secrets.map((s) => [s.what, s.path, humanSize(s.bytes), String(s.layer), s.visible ? 'in the final tree' : `${s.hiddenHow ?? 'deleted'} by layer ${s.hiddenBy ?? '?'}, still in layer ${s.layer}`, trunc(s.instruction, 60)]);
  return `Secrets in the image's layers (${secrets.length}):\n${tabulate([['SECRET', 'PATH', 'SIZE', 'LAYER', 'STATUS', 'ADDED BY'], ...rows]).trimEnd()}\n`;
}
