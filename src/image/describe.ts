/**
 * `inspect` and `history` output for a stored image: docker-shaped JSON and docker's history table.
 * Pure given the resolved image and its layer sizes.
 */
import type { ImageRecord, ResolvedImage } from '../store/index.js';
import { humanSince, humanSize, tabulate } from './human.js';
import type { ContainerConfig } from './types.js';

export interface InspectInput {
  img: ResolvedImage;
  record?: ImageRecord;
  layerSizes: number[];
  manifestSize?: number;
}

/** docker image inspect's object for one image */
export function inspectObject({ img, record, layerSizes, manifestSize }: InspectInput): Record<string, unknown> {
  const c = img.config;
  const cfg: ContainerConfig & Record<string, unknown> = {
    Hostname: '',
    Domainname: '',
    User: '',
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    Tty: false,
    OpenStdin: false,
    StdinOnce: false,
    Env: null as unknown as string[],
    Cmd: null,
    Image: '',
    Volumes: null as unknown as Record<string, Record<string, never>>,
    WorkingDir: '',
    Entrypoint: null,
    OnBuild: null,
    Labels: null as unknown as Record<string, string>,
    ...(c.config ?? {}),
  };
  const hist = c.history ?? [];
  const last = hist[hist.length - 1];
  const o: Record<string, unknown> = {
    Id: img.configDigest,
    RepoTags: [...img.refs].sort(),
    RepoDigests: img.refs.map((r) => `${r.slice(0, r.lastIndexOf(':') > r.lastIndexOf('/') ? r.lastIndexOf(':') : r.length)}@${img.manifestDigest}`),
    Parent: '',
    Comment: last?.comment ?? '',
    Created: c.created ?? '',
    DockerVersion: '',
    Author: c.author ?? '',
    Config: cfg,
    Architecture: c.architecture,
    ...(c.variant ? { Variant: c.variant } : {}),
    Os: c.os,
    Size: layerSizes.reduce((a, b) => a + b, 0),
    RootFS: { Type: 'layers', Layers: c.rootfs.diff_ids },
    Metadata: { LastTagTime: record?.tagged ?? '0001-01-01T00:00:00Z' },
    Descriptor: { mediaType: img.manifest.mediaType ?? 'application/vnd.oci.image.manifest.v1+json', digest: img.manifestDigest, size: manifestSize ?? 0 },
  };
  return o;
}

/** A tiny subset of Go templates: `{{.A.B}}`, `{{json .A}}`, `{{index .A "k"}}`, text around them. */
export function goTemplate(tpl: string, data: unknown): string {
  const get = (path: string): unknown => {
    if (path === '.') return data;
    let v: unknown = data;
    for (const k of path.replace(/^\./, '').split('.')) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
    return v;
  };
  const str = (v: unknown): string => {
    if (v === undefined || v === null) return '<no value>';
    if (Array.isArray(v)) return `[${v.map(str).join(' ')}]`;
    if (typeof v === 'object') return `map[${Object.entries(v as object).map(([k, x]) => `${k}:${str(x)}`).join(' ')}]`;
    return String(v);
  };
  return tpl.replace(/\{\{\s*(.*?)\s*\}\}/g, (_m, expr: string) => {
    let mm = /^json\s+(\S+)$/.exec(expr);
    if (mm) return JSON.stringify(get(mm[1] as string) ?? null);
    mm = /^index\s+(\S+)\s+"([^"]*)"$/.exec(expr);
    if (mm) {
      const o = get(mm[1] as string);
      return str(o && typeof o === 'object' ? (o as Record<string, unknown>)[mm[2] as string] : undefined);
    }
    if (expr.startsWith('.')) return str(get(expr));
    throw new Error(`unsupported template expression: {{${expr}}}`);
  });
}

export interface HistoryRow {
  id: string;
  created?: string;
  createdBy: string;
  size: number;
  comment: string;
  emptyLayer: boolean;
}

/** history entries top→bottom, each with the size of the layer it made (0 for empty_layer) */
export function historyRows(img: ResolvedImage, layerSizes: number[]): HistoryRow[] {
  const hist = img.config.history?.length
    ? img.config.history
    : img.manifest.layers.map(() => ({ created: img.config.created, created_by: '', comment: '', empty_layer: false }));
  const rows: HistoryRow[] = [];
  let li = 0;
  for (const h of hist) {
    const empty = !!h.empty_layer;
    rows.push({ id: '<missing>', created: h.created, createdBy: h.created_by ?? '', size: empty ? 0 : (layerSizes[li++] ?? 0), comment: h.comment ?? '', emptyLayer: empty });
  }
  rows.reverse();
  if (rows[0]) rows[0].id = img.configDigest.slice(7, 19);
  return rows;
}

function ellipsis(s: string, max: number): string {
  const r = [...s];
  return r.length <= max ? s : `${r.slice(0, max - 1).join('')}…`;
}

export function formatHistory(rows: HistoryRow[], opts: { noTrunc?: boolean; quiet?: boolean; human?: boolean } = {}, now = Date.now()): string {
  if (opts.quiet) return rows.map((r) => `${r.id}\n`).join('');
  const human = opts.human ?? true;
  const body = rows.map((r) => [
    r.id,
    human ? humanSince(r.created, now) : (r.created ?? ''),
    opts.noTrunc ? r.createdBy : ellipsis(r.createdBy.replace(/\s+/g, ' '), 45),
    human ? humanSize(r.size) : String(r.size),
    r.comment,
  ]);
  return tabulate([['IMAGE', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT'], ...body]);
}
