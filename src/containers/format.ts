/**
 * `ps` output with Docker's wording: `CONTAINER ID  IMAGE  COMMAND  CREATED  STATUS  PORTS  NAMES`,
 * `Up 3 seconds`, `Exited (0) 2 minutes ago`, `Created`, COMMAND quoted and cut to 20 characters
 * with `…`, 12-hex ids; `--format json` prints one object per line like `docker ps --format json`.
 * Pure: records + now in, text out.
 */
import { humanDuration, tabulate } from '../image/index.js';
import type { ContainerRecord } from './records.js';

/** docker's formatter.Ellipsis: at most `max` characters, the last one `…` when cut. */
export function ellipsis(s: string, max: number): string {
  const chars = [...s];
  if (chars.length <= max) return s;
  return `${chars.slice(0, max - 1).join('')}…`;
}

/** Go's strconv.Quote for the common cases (quotes, backslashes, control characters). */
export function goQuote(s: string): string {
  return JSON.stringify(s);
}

export function commandOf(r: ContainerRecord): string {
  return [...r.config.entrypoint, ...r.config.cmd].join(' ');
}

export function statusOf(r: ContainerRecord, now = Date.now()): string {
  const since = (t?: string) => humanDuration(Math.max(0, now - (t ? Date.parse(t) : now)));
  switch (r.state.status) {
    case 'running':
      return `Up ${since(r.state.startedAt)}`;
    case 'exited':
      return `Exited (${r.state.exitCode ?? 0}) ${since(r.state.finishedAt)} ago`;
    default:
      return 'Created';
  }
}

export function createdOf(r: ContainerRecord, now = Date.now()): string {
  return `${humanDuration(Math.max(0, now - Date.parse(r.created)))} ago`;
}

export function formatPs(recs: ContainerRecord[], opts: { all?: boolean; quiet?: boolean; format?: string; noTrunc?: boolean } = {}, now = Date.now()): string {
  const shown = opts.all ? recs : recs.filter((r) => r.state.status === 'running');
  const id = (r: ContainerRecord) => (opts.noTrunc ? r.id : r.id.slice(0, 12));
  if (opts.quiet) return shown.map((r) => `${id(r)}\n`).join('');
  const cmd = (r: ContainerRecord) => goQuote(opts.noTrunc ? commandOf(r) : ellipsis(commandOf(r), 20));
  if (opts.format === 'json') {
    return shown
      .map((r) =>
        `${JSON.stringify({
          Command: cmd(r),
          CreatedAt: r.created,
          ID: id(r),
          Image: r.config.image,
          Labels: '',
          LocalVolumes: '0',
          Mounts: r.config.mounts.map((m) => m.target).join(','),
          Names: r.name,
          Networks: r.config.network,
          Ports: '',
          RunningFor: createdOf(r, now),
          Size: '0B',
          State: r.state.status,
          Status: statusOf(r, now),
        })}\n`,
      )
      .join('');
  }
  if (opts.format && opts.format !== 'table') throw new Error(`unsupported --format ${opts.format} (table or json)`);
  const rows = [['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES']];
  for (const r of shown) rows.push([id(r), r.config.image, cmd(r), createdOf(r, now), statusOf(r, now), '', r.name]);
  return tabulate(rows);
}
