/**
 * `images` output: the store's image records → docker's table, `--format json` lines, or IDs.
 * Pure (takes records and "now").
 */
import type { ImageRecord } from '../store/index.js';
import { UserError } from '../util/errors.js';
import { humanSince, humanSize, tabulate } from './human.js';

export interface ListOptions {
  digests?: boolean;
  quiet?: boolean;
  format?: string;
  /** only images whose repository (or repository:tag) matches */
  filter?: string;
}

interface Row {
  repo: string;
  tag: string;
  digest: string;
  rec: ImageRecord;
}

function splitRef(ref: string): [string, string] {
  const c = ref.lastIndexOf(':');
  if (c > ref.lastIndexOf('/')) return [ref.slice(0, c), ref.slice(c + 1)];
  return [ref, 'latest'];
}

function rowsOf(recs: ImageRecord[], filter?: string): Row[] {
  const sorted = [...recs].sort((a, b) => (b.created ?? '').localeCompare(a.created ?? '') || a.id.localeCompare(b.id));
  const rows: Row[] = [];
  for (const r of sorted) {
    const refs = [...r.refs].sort();
    if (refs.length === 0) rows.push({ repo: '<none>', tag: '<none>', digest: r.manifestDigest, rec: r });
    for (const ref of refs) {
      const [repo, tag] = splitRef(ref);
      rows.push({ repo, tag, digest: r.manifestDigest, rec: r });
    }
  }
  if (!filter) return rows;
  const [frepo, ftag] = filter.includes(':') ? splitRef(filter) : [filter, undefined];
  return rows.filter((x) => x.repo === frepo && (ftag === undefined || x.tag === ftag));
}

export function formatImages(recs: ImageRecord[], opts: ListOptions = {}, now = Date.now()): string {
  const rows = rowsOf(recs, opts.filter);
  if (opts.quiet) return rows.map((r) => `${r.rec.id}\n`).join('');
  if (opts.format === 'json') {
    return rows
      .map((r) => {
        const created = r.rec.created ? new Date(r.rec.created) : undefined;
        const o = {
          Containers: 'N/A',
          CreatedAt: created ? created.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' +0000 UTC').replace(/Z$/, ' +0000 UTC') : '',
          CreatedSince: humanSince(r.rec.created, now),
          Digest: r.digest,
          ID: r.rec.id,
          Repository: r.repo,
          SharedSize: 'N/A',
          Size: humanSize(r.rec.size),
          Tag: r.tag,
          UniqueSize: 'N/A',
          VirtualSize: humanSize(r.rec.size),
        };
        return `${JSON.stringify(o)}\n`;
      })
      .join('');
  }
  if (opts.format && opts.format !== 'table') throw new UserError(`unsupported --format ${opts.format} (use table or json)`);
  const header = opts.digests ? ['REPOSITORY', 'TAG', 'DIGEST', 'IMAGE ID', 'CREATED', 'SIZE'] : ['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'];
  const body = rows.map((r) => {
    const cells = [r.repo, r.tag];
    if (opts.digests) cells.push(r.digest);
    cells.push(r.rec.id, humanSince(r.rec.created, now), humanSize(r.rec.size));
    return cells;
  });
  return tabulate([header, ...body]);
}
