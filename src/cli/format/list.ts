/**
 * `images` output like the docker CLI: the store's image records → one row per tag (`<none>` for
 * an untagged image), filtered like the daemon (`--filter dangling|reference|before|since|label|
 * until` and the REPOSITORY[:TAG] argument, which docker turns into a reference filter), then
 * rendered through docker's formatter: the default table, `json`, `table …` or any Go template
 * over docker's image context fields. Pure (takes records and "now").
 */
import type { ImageRecord } from '../../store/index.js';
import { normalizeRef, splitRef } from '../../store/index.js';
import { Filters, parseUntil, pathMatch } from '../../util/filters.js';
import { UserError } from '../../util/errors.js';
import { GoStruct, renderFormat } from '../../util/template.js';
import { goTimeString, humanSince, humanSize, humanSize4 } from '../../util/human.js';

export interface ListOptions {
  digests?: boolean;
  quiet?: boolean;
  /** `table` (default), `json` or a Go template */
  format?: string;
  /** full `sha256:` IDs */
  noTrunc?: boolean;
  /** the REPOSITORY[:TAG] argument: a reference filter */
  filter?: string;
  /** `--filter` values */
  filters?: Filters;
  /** resolves before=/since= images; throws docker's "No such image" */
  resolve?: (ref: string) => ImageRecord;
  /** image config labels by manifest digest (for label=) */
  labels?: Map<string, Record<string, string> | undefined>;
}

export interface ImageRow {
  repo: string;
  tag: string;
  rec: ImageRecord;
}

const DEFAULT_TABLE = 'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}\t{{.Size}}';
const DEFAULT_TABLE_DIGEST = 'table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}\t{{.Size}}';

/** docker's column titles for the image context */
export const IMAGE_HEADER: Record<string, string> = {
  ID: 'IMAGE ID',
  Repository: 'REPOSITORY',
  Tag: 'TAG',
  Digest: 'DIGEST',
  CreatedSince: 'CREATED',
  CreatedAt: 'CREATED AT',
  Size: 'SIZE',
  Containers: 'CONTAINERS',
  VirtualSize: 'SIZE',
  SharedSize: 'SHARED SIZE',
  UniqueSize: 'UNIQUE SIZE',
};

export const IMAGE_FILTERS = ['dangling', 'label', 'before', 'since', 'reference', 'until'];

/** docker's "No such image: NAME:latest" as the daemon words it */
export function noSuchImage(ref: string): Error {
  let name = ref;
  try {
    name = normalizeRef(ref);
  } catch {
    /* not a reference: as given */
  }
  return new UserError(`No such image: ${name}`);
}

const createdMs = (r: ImageRecord): number => (r.created ? Date.parse(r.created) || 0 : 0);

/** The daemon's image list: filters applied, newest first, one row per tag. */
export function selectImages(recs: ImageRecord[], opts: ListOptions = {}, now = Date.now()): ImageRow[] {
  const f = opts.filters ?? new Filters();
  f.validate(IMAGE_FILTERS);
  const refs = [...f.get('reference'), ...(opts.filter ? [opts.filter] : [])];
  const dangling = f.bool('dangling');
  const last = (k: string): ImageRecord | undefined => {
    const v = f.get(k);
    if (!v.length) return undefined;
    if (!opts.resolve) throw new Error(`${k}= needs a resolver`);
    let r: ImageRecord | undefined;
    for (const x of v) r = opts.resolve(x);
    return r;
  };
  const before = last('before');
  const since = last('since');
  const until = f.get('until').map((v) => parseUntil(v, now));
  const sorted = [...recs].sort((a, b) => (b.created ?? '').localeCompare(a.created ?? '') || a.id.localeCompare(b.id));
  const rows: ImageRow[] = [];
  for (const r of sorted) {
    const t = createdMs(r);
    if (before && t >= createdMs(before)) continue;
    if (since && t <= createdMs(since)) continue;
    if (until.some((u) => t > u)) continue;
    if (f.has('label') && !f.matchLabels(opts.labels?.get(r.manifestDigest))) continue;
    const tags = [...r.refs].sort().filter((ref) => refs.length === 0 || refs.some((p) => pathMatch(p, ref) || pathMatch(p, splitRef(ref)[0])));
    if (tags.length === 0) {
      // untagged: dangling, unless its tags were only filtered away
      if (dangling === false || refs.length > 0 || r.refs.length > 0) continue;
      rows.push({ repo: '<none>', tag: '<none>', rec: r });
      continue;
    }
    if (dangling === true) continue;
    for (const ref of tags) {
      const [repo, tag] = splitRef(ref);
      rows.push({ repo, tag, rec: r });
    }
  }
  return rows;
}

/** docker's image context for one row */
export function imageContext(row: ImageRow, noTrunc: boolean, now = Date.now()): GoStruct {
  const r = row.rec;
  const created = r.created ? Date.parse(r.created) : NaN;
  return new GoStruct('*formatter.imageContext', {
    ID: noTrunc ? r.configDigest : r.id,
    Repository: row.repo,
    Tag: row.tag,
    Digest: r.manifestDigest,
    CreatedSince: Number.isFinite(created) ? humanSince(r.created, now) : '',
    CreatedAt: Number.isFinite(created) ? goTimeString(created) : '',
    Size: humanSize(r.size),
    Containers: 'N/A',
    VirtualSize: humanSize4(r.size),
    SharedSize: 'N/A',
    UniqueSize: 'N/A',
  });
}

/** docker's NewImageFormat: the default tables, `{{.ID}}` for -q, a custom table gets DIGEST with --digests. */
export function imageFormat(source: string | undefined, quiet?: boolean, digests?: boolean): string {
  if (!source || source === 'table') return quiet ? '{{.ID}}' : digests ? DEFAULT_TABLE_DIGEST : DEFAULT_TABLE;
  if (source.startsWith('table') && digests && !source.includes('{{.Digest}}')) return `${source}\t{{.Digest}}`;
  return source;
}

export function formatImages(recs: ImageRecord[], opts: ListOptions = {}, now = Date.now()): string {
  const rows = selectImages(recs, opts, now);
  return renderFormat(imageFormat(opts.format, opts.quiet, opts.digests), rows.map((r) => imageContext(r, !!opts.noTrunc, now)), IMAGE_HEADER);
}
