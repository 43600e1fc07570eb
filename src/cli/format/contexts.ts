/**
 * docker's formatter contexts for `history` and `system df` (and `system df -v`'s four sections): the fields a `--format` template sees
 * (`{{.ID}} {{.CreatedSince}} {{.CreatedBy}} {{.Size}} {{.Comment}}`; `{{.Type}} {{.TotalCount}}
 * {{.Active}} {{.Size}} {{.Reclaimable}}`), docker's column titles and default tables. Pure.
 */
import { splitRef, type CacheUsage, type DfRow, type ImageUsage } from '../../store/index.js';
import { containerContext, PS_HEADER, type ContainerRecord } from '../../containers/index.js';
import { GoNil, GoStruct, renderFormat } from '../../util/template.js';
import { ellipsis, humanDuration, humanSize, humanSize4, rfc3339Seconds, tabulate } from '../../util/human.js';
import { IMAGE_HEADER, imageContext } from './list.js';
import { UserError } from '../../util/errors.js';
import type { HistoryRow } from './describe.js';

export const HISTORY_HEADER: Record<string, string> = {
  ID: 'IMAGE',
  CreatedSince: 'CREATED',
  CreatedAt: 'CREATED AT',
  CreatedBy: 'CREATED BY',
  Size: 'SIZE',
  Comment: 'COMMENT',
};

const HISTORY_TABLE = 'table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}';
const HISTORY_TABLE_NONHUMAN = 'table {{.ID}}\t{{.CreatedAt}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}';
/** dates before this are not shown in human units (docker's history epoch) */
const EPOCH_2000 = Date.UTC(2000, 0, 1);

export interface HistoryOptions {
  format?: string;
  quiet?: boolean;
  human?: boolean;
  noTrunc?: boolean;
  /** the image's full ID, shown for the top row with --no-trunc */
  fullId?: string;
}

export function historyContext(row: HistoryRow, opts: HistoryOptions, now = Date.now(), top = false): GoStruct {
  const human = opts.human ?? true;
  const t = row.created ? Math.floor(Date.parse(row.created) / 1000) * 1000 : 0;
  const createdAt = rfc3339Seconds(Number.isFinite(t) ? t : 0);
  const createdBy = row.createdBy.replace(/\t/g, ' ');
  return new GoStruct('*image.historyContext', {
    ID: opts.noTrunc && top && opts.fullId ? opts.fullId : row.id,
    CreatedAt: createdAt,
    CreatedSince: !human ? createdAt : t <= EPOCH_2000 ? '' : `${humanDuration(Math.max(0, now - t))} ago`,
    CreatedBy: opts.noTrunc ? createdBy : ellipsis(createdBy, 45),
    Size: human ? humanSize(row.size) : String(row.size),
    Comment: row.comment,
  });
}

/** `history` through docker's formatter: default (or -H=false) table, -q IDs, json, templates */
export function formatHistoryRows(rows: HistoryRow[], opts: HistoryOptions = {}, now = Date.now()): string {
  const src = opts.format;
  const format = !src || src === 'table' ? (opts.quiet ? '{{.ID}}' : opts.human === false ? HISTORY_TABLE_NONHUMAN : HISTORY_TABLE) : src;
  return renderFormat(format, rows.map((r, i) => historyContext(r, opts, now, i === 0)), HISTORY_HEADER);
}

export const DF_HEADER: Record<string, string> = { Type: 'TYPE', TotalCount: 'TOTAL', Active: 'ACTIVE', Size: 'SIZE', Reclaimable: 'RECLAIMABLE' };
const DF_TABLE = 'table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}';

/** docker's diskUsage*Context: sizes in units.HumanSize, reclaimable with its whole percentage */
export function dfContext(r: DfRow): GoStruct {
  const type = r.type === 'Build Cache' ? 'Builder' : r.type.replace(/\s+/g, '');
  const pct = r.size > 0 && r.type !== 'Build Cache' ? ` (${Math.floor((r.reclaimable * 100) / r.size)}%)` : '';
  return new GoStruct(`*formatter.diskUsage${type}Context`, {
    Type: r.type,
    TotalCount: String(r.total),
    Active: String(r.active),
    Size: humanSize4(r.size),
    Reclaimable: `${humanSize4(r.reclaimable)}${pct}`,
  });
}

export function formatDiskUsage(rows: DfRow[], format?: string): string {
  return renderFormat(!format || format === 'table' ? DF_TABLE : format, rows.map(dfContext), DF_HEADER);
}

export interface DiskUsageVerbose {
  images: ImageUsage[];
  /** each container with its copy-on-write bytes and the IMAGE column ps would show */
  containers: Array<{ rec: ContainerRecord; size: number; image: string }>;
  caches: CacheUsage[];
}

const DF_IMAGES = 'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}';
const DF_CONTAINERS = 'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}';
const DF_VOLUMES = 'table {{.Name}}\t{{.Links}}\t{{.Size}}';

/**
 * `system df -v` as docker's verboseWrite prints it: "Images space usage:" (one row per image, its
 * first tag; SHARED SIZE = its layers other images use too), "Containers space usage:", "Local
 * Volumes space usage:" (stagecraft has no volumes: the header alone) and "Build cache usage:" with
 * the RUN cache mounts (CACHE TYPE exec.cachemount).
 */
export function formatDiskUsageVerbose(d: DiskUsageVerbose, format = 'table', now = Date.now()): string {
  if (format !== 'table' && format !== 'json') throw new UserError(`--format ${JSON.stringify(format)} is not supported with --verbose: use table or json`);
  const json = format === 'json';
  const using = new Map<string, number>();
  for (const c of d.containers) using.set(c.rec.config.imageId, (using.get(c.rec.config.imageId) ?? 0) + 1);
  const images = [...d.images]
    .sort((a, b) => (b.rec.created ?? '').localeCompare(a.rec.created ?? '') || a.rec.id.localeCompare(b.rec.id))
    .map(({ rec, shared }) => {
      const ref = [...rec.refs].sort()[0];
      const [repo, tag] = ref ? splitRef(ref) : ['<none>', '<none>'];
      const base = imageContext({ repo, tag, rec }, json, now);
      return new GoStruct(base.type, {
        ...base.fields,
        SharedSize: humanSize4(shared),
        UniqueSize: humanSize4(Math.max(0, rec.size - shared)),
        Containers: String(using.get(rec.configDigest) ?? 0),
      });
    });
  const containers = d.containers.map((c) => {
    const base = containerContext(c.rec, !json, now, c.image);
    return new GoStruct(base.type, { ...base.fields, Size: humanSize(c.size) });
  });
  const total = d.caches.reduce((a, c) => a + c.size, 0);
  const since = (ms: number): string => `${humanDuration(Math.max(0, now - ms))} ago`;
  const caches = d.caches.map((c) => ({ ID: json ? c.id : c.id.slice(0, 12), CacheType: 'exec.cachemount', Size: humanSize(c.size), CreatedSince: since(c.created), LastUsedSince: since(c.lastUsed), UsageCount: '0', Shared: 'false' }));
  if (json) return `${JSON.stringify({ Images: images, Containers: containers, Volumes: [], BuildCache: caches })}\n`;
  return (
    `Images space usage:\n\n${renderFormat(DF_IMAGES, images, IMAGE_HEADER)}` +
    `\nContainers space usage:\n\n${renderFormat(DF_CONTAINERS, containers, PS_HEADER)}` +
    `\nLocal Volumes space usage:\n\n${renderFormat(DF_VOLUMES, [], { Name: 'VOLUME NAME', Links: 'LINKS', Size: 'SIZE' })}` +
    `\nBuild cache usage: ${humanSize4(total)}\n\n` +
    tabulate([['CACHE ID', 'CACHE TYPE', 'SIZE', 'CREATED', 'LAST USED', 'USAGE', 'SHARED'], ...caches.map((c) => Object.values(c))])
  );
}

/** Keys whose JSON null is a Go nil slice (prints `[]`) or nil map (prints `map[]`) in docker's inspect types. */
const NIL_SLICES = new Set(['Env', 'Cmd', 'Entrypoint', 'OnBuild', 'RepoTags', 'RepoDigests', 'Layers', 'Args', 'Shell']);
const NIL_MAPS = new Set(['Labels', 'Volumes', 'ExposedPorts']);

/** A Go map as encoding/json writes it: keys sorted */
export function sortedMap<T>(m: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.keys(m).sort().map((k) => [k, m[k]!]));
}

/** An inspect object with its nulls typed as docker's Go types would print them (`{{.Config.Cmd}}` → `[]`). */
export function typedNils<T>(v: T): T {
  if (Array.isArray(v)) return v.map(typedNils) as T;
  if (!v || typeof v !== 'object' || v.constructor !== Object) return v;
  const o: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (x === null && NIL_SLICES.has(k)) o[k] = new GoNil('slice');
    else if (x === null && NIL_MAPS.has(k)) o[k] = new GoNil('map');
    else if (NIL_MAPS.has(k) && x && typeof x === 'object') o[k] = sortedMap(x as Record<string, unknown>);
    else o[k] = typedNils(x);
  }
  return o as T;
}
