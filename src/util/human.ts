/**
 * Docker's human-readable units, byte-for-byte (github.com/docker/go-units): sizes in decimal units
 * with 3 significant digits (`1.98MB`, `288MB`, `7.8kB`) and durations like `About an hour`.
 * Plus a text/tabwriter-compatible column formatter (minwidth 10, padding 3, like the docker CLI).
 */
import { tabwrite } from './tabwriter.js';

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];

/** Go's fmt "%.{prec}g": exponent form when exp < -4 or exp >= prec; trailing zeros dropped */
export function goFormatG(x: number, prec: number): string {
  if (x === 0) return '0';
  const [mant, e] = x.toExponential(prec - 1).split('e') as [string, string];
  const exp = Number(e);
  const strip = (t: string): string => (t.includes('.') ? t.replace(/0+$/, '').replace(/\.$/, '') : t);
  if (exp < -4 || exp >= prec) return `${strip(mant)}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  return strip(x.toFixed(Math.max(0, prec - 1 - exp)));
}

/** units.HumanSizeWithPrecision: decimal units, `precision` significant digits */
export function humanSizeWithPrecision(bytes: number, precision: number): string {
  let size = bytes;
  let i = 0;
  while (size >= 1000 && i < UNITS.length - 1) {
    size /= 1000;
    i++;
  }
  return `${goFormatG(size, precision)}${UNITS[i]}`;
}

/** 3 significant digits: `docker images` and `history` SIZE */
export const humanSize = (bytes: number): string => humanSizeWithPrecision(bytes, 3);

/** units.HumanSize, 4 significant digits: `system df`, `prune`'s reclaimed space, VirtualSize */
export const humanSize4 = (bytes: number): string => humanSizeWithPrecision(bytes, 4);

/** units.HumanDuration */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.trunc(ms / 60000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.round(ms / 3600000); // d.Round(time.Hour).Hours()
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.trunc(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.trunc(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24 / 30)} months`;
  return `${Math.trunc(ms / 3600000 / 24 / 365)} years`;
}

/** "2 minutes ago" from an RFC 3339 time; "N/A" when unknown */
export function humanSince(created: string | undefined, now = Date.now()): string {
  if (!created) return 'N/A';
  const t = Date.parse(created);
  if (!Number.isFinite(t) || t <= 0) return 'N/A';
  return `${humanDuration(Math.max(0, now - t))} ago`;
}

/** Columns like Go's tabwriter.NewWriter(out, 10, 1, 3, ' ', 0): every cell but the last padded. */
export function tabulate(rows: string[][]): string {
  return tabwrite(rows.map((r) => `${r.join('\t')}\n`).join(''));
}

/**
 * Go's time.Time.String() of a Unix time in UTC, as the docker CLI prints CreatedAt:
 * `2026-11-27 12:42:32 +0000 UTC` (whole seconds: the API gives Unix seconds).
 */
export function goTimeString(ms: number): string {
  return `${new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, '')} +0000 UTC`;
}

/** RFC 3339 in UTC with whole seconds, as `docker history` prints CreatedAt: `2026-11-27T12:42:32Z` */
export function rfc3339Seconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
}

/** docker's formatter.Ellipsis: at most `max` characters, the last one `…` when cut. */
export function ellipsis(s: string, max: number): string {
  const chars = [...s];
  if (chars.length <= max) return s;
  return `${chars.slice(0, max - 1).join('')}…`;
}
