/**
 * Docker's human-readable units, byte-for-byte (github.com/docker/go-units): sizes in decimal units
 * with 3 significant digits (`1.98MB`, `288MB`, `7.8kB`) and durations like `About an hour`.
 * Plus a text/tabwriter-compatible column formatter (minwidth 10, padding 3, like the docker CLI).
 */

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

/** units.HumanSize: decimal units, 3 significant digits */
export function humanSize(bytes: number): string {
  let size = bytes;
  let i = 0;
  while (size >= 1000 && i < UNITS.length - 1) {
    size /= 1000;
    i++;
  }
  return `${goFormatG(size, 3)}${UNITS[i]}`;
}

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
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, [...c].length)));
  return rows
    .map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(Math.max(10, (widths[i] as number) + 3)))).join(''))
    .map((l) => `${l}\n`)
    .join('');
}
