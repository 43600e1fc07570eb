/**
 * `inspect` and `history` output for a stored image: docker-shaped JSON and docker's history table.
 * Pure given the resolved image and its layer sizes.
 */
import type { ImageRecord, ResolvedImage } from '../../store/index.js';
import type { ContainerConfig } from '../../image/types.js';
import { GoTime } from '../../util/template.js';

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
    // a Go time.Time: `-f '{{.Metadata.LastTagTime}}'` prints Time.String(), as docker's CLI
    Metadata: { LastTagTime: new GoTime(record?.tagged ?? '0001-01-01T00:00:00Z') },
    Descriptor: { mediaType: img.manifest.mediaType ?? 'application/vnd.oci.image.manifest.v1+json', digest: img.manifestDigest, size: manifestSize ?? 0 },
  };
  return o;
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

