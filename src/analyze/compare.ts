/**
 * Two images side by side (typically a single-stage and a multi-stage build of the same app):
 * sizes, layers, efficiency, baggage in each, the biggest directories that only one of them has,
 * and a verdict in plain words, including the seed's trap: a "multi-stage" image that came out bigger.
 */
import { humanSize } from '../util/human.js';
import { findLeaks, type Leak } from './leaks.js';
import type { ImageModel } from './model.js';
import { diffPackages, findPackages, type PackageChange, type PackageReport } from './packages.js';
import { sizeReport, type Bucket, type SizeReport } from './size.js';

export interface ImageSummary {
  name: string;
  id: string;
  /** Bytes of all layers: the size `docker images` shows, what is stored, pushed and pulled. */
  bytes: number;
  /** Bytes of the files visible in the final tree. */
  visibleBytes: number;
  duplicatedBytes: number;
  layers: number;
  stages: string[];
  /** dive's efficiency, wasted bytes and user-wasted percent (see dive.ts). */
  efficiency: number;
  wastedBytes: number;
  userWastedPercent: number;
  /** stagecraft's: visible / all layer bytes, and the bytes later layers hide. */
  visibleRatio: number;
  hiddenBytes: number;
  leaks: Leak[];
  leakedBytes: number;
  /** How many packages of each ecosystem the image has. */
  packageCounts: Record<string, number>;
}

export interface Comparison {
  a: ImageSummary;
  b: ImageSummary;
  /** b.bytes - a.bytes */
  delta: number;
  /** Directories whose visible bytes differ most between the two. */
  dirDiff: Array<{ dir: string; a: number; b: number }>;
  /** Packages added, removed or changed from a to b, biggest first. */
  packages: PackageChange[];
  /** Verdict lines, most important first. */
  verdict: string[];
}

export function summarize(img: ImageModel, report: SizeReport = sizeReport(img), pkgs: PackageReport = findPackages(img, report.tree)): ImageSummary {
  const leaks = findLeaks(report.tree, { img, packages: pkgs });
  const packageCounts: Record<string, number> = {};
  for (const p of pkgs.packages) packageCounts[p.ecosystem] = (packageCounts[p.ecosystem] ?? 0) + 1;
  const stages = [
    ...new Set(
      img.layers.flatMap((l) => {
        const a = l.attribution;
        if (!a) return [];
        const own = a.stage ?? (a.stageIndex !== undefined ? `stage-${a.stageIndex}` : undefined);
        return [own, a.from].filter((s): s is string => !!s);
      }),
    ),
  ];
  return {
    name: img.name,
    id: img.id,
    bytes: report.totalBytes,
    visibleBytes: report.finalBytes,
    duplicatedBytes: report.duplicatedBytes,
    layers: img.layers.length,
    stages,
    efficiency: report.efficiency,
    wastedBytes: report.wastedBytes,
    userWastedPercent: report.userWastedPercent,
    visibleRatio: report.visibleRatio,
    hiddenBytes: report.hiddenBytes,
    leaks,
    leakedBytes: leaks.reduce((s, l) => s + l.bytes, 0),
    packageCounts,
  };
}

function dirMap(b: Bucket[]): Map<string, number> {
  return new Map(b.map((x) => [x.key, x.bytes]));
}

export function compareImages(a: ImageModel, b: ImageModel): Comparison {
  const ra = sizeReport(a);
  const rb = sizeReport(b);
  const pa = findPackages(a, ra.tree);
  const pb = findPackages(b, rb.tree);
  const sa = summarize(a, ra, pa);
  const sb = summarize(b, rb, pb);
  const packages = diffPackages(pa.packages, pb.packages);
  const da = dirMap(ra.byDirWritten);
  const db = dirMap(rb.byDirWritten);
  const dirs = new Set([...da.keys(), ...db.keys()]);
  const dirDiff = [...dirs]
    .map((dir) => ({ dir, a: da.get(dir) ?? 0, b: db.get(dir) ?? 0 }))
    .filter((d) => d.a !== d.b)
    .sort((x, y) => Math.abs(y.b - y.a) - Math.abs(x.b - x.a) || x.dir.localeCompare(y.dir))
    .slice(0, 10);
  const delta = sb.bytes - sa.bytes;
  const verdict: string[] = [];
  const pct = sa.bytes === 0 ? 0 : (Math.abs(delta) / sa.bytes) * 100;
  const multiA = sa.stages.length > 1;
  const multiB = sb.stages.length > 1;
  if (delta > 0 && multiB && !multiA) {
    verdict.push(`WARNING: the multi-stage image ${sb.name} is ${humanSize(delta)} (${pct.toFixed(1)}%) LARGER than the single-stage ${sa.name}: the final stage carries what the build stage was meant to leave behind.`);
  } else if (delta < 0) {
    verdict.push(`${sb.name} is ${humanSize(-delta)} (${pct.toFixed(1)}%) smaller than ${sa.name}.`);
  } else if (delta > 0) {
    verdict.push(`${sb.name} is ${humanSize(delta)} (${pct.toFixed(1)}%) larger than ${sa.name}.`);
  } else {
    verdict.push(`${sa.name} and ${sb.name} have the same size.`);
  }
  for (const s of [sa, sb]) {
    if (s.leaks.length > 0) {
      const kinds = [...new Set(s.leaks.map((l) => l.what))].slice(0, 4).join(', ');
      verdict.push(`${s.name} carries ${humanSize(s.leakedBytes)} of build-time baggage (${kinds}${s.leaks.length > 4 ? ', ...' : ''}).`);
    } else {
      verdict.push(`${s.name}: no build-time baggage found.`);
    }
  }
  for (const s of [sa, sb]) {
    if (s.duplicatedBytes > 0) verdict.push(`${s.name} stores ${humanSize(s.duplicatedBytes)} twice: a later layer copies files identical to ones the image already has (e.g. COPY --from=<stage> / /).`);
    else if (s.hiddenBytes > 0) verdict.push(`${s.name} stores ${humanSize(s.hiddenBytes)} that later layers delete or overwrite.`);
  }
  const gone = packages.filter((p) => p.change === 'removed');
  const added = packages.filter((p) => p.change === 'added');
  const names = (ps: PackageChange[]): string => `${ps.slice(0, 5).map((p) => p.name).join(', ')}${ps.length > 5 ? ', ...' : ''}`;
  if (gone.length) verdict.push(`${sb.name} drops ${gone.length} package(s) that ${sa.name} has, ${humanSize(gone.reduce((s, p) => s + p.aBytes, 0))} (${names(gone)}).`);
  if (added.length) verdict.push(`${sb.name} adds ${added.length} package(s), ${humanSize(added.reduce((s, p) => s + p.bBytes, 0))} (${names(added)}).`);
  const grew = dirDiff.filter((d) => d.b > d.a).slice(0, 3);
  if (delta > 0 && grew.length > 0) {
    verdict.push(`Where ${sb.name} grew: ${grew.map((d) => `${d.dir} +${humanSize(d.b - d.a)}`).join(', ')}.`);
  }
  return { a: sa, b: sb, delta, dirDiff, packages, verdict };
}
