/**
 * OCI image-spec and Docker schema2 types: descriptors, manifests, indexes, image configs.
 * Pure data shapes shared by the store, the builder, the registry client and analysis.
 */
import { hostPlatform, type Platform } from '../reference/platform.js';

export const MediaType = {
  OciManifest: 'application/vnd.oci.image.manifest.v1+json',
  OciIndex: 'application/vnd.oci.image.index.v1+json',
  OciConfig: 'application/vnd.oci.image.config.v1+json',
  OciLayerTar: 'application/vnd.oci.image.layer.v1.tar',
  OciLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  OciLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  DockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  DockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  DockerConfig: 'application/vnd.docker.container.image.v1+json',
  DockerLayerTar: 'application/vnd.docker.image.rootfs.diff.tar',
  DockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  DockerForeignLayerGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
} as const;

/** Annotation keys stagecraft uses (OCI's own plus ours). */
export const Annotation = {
  RefName: 'org.opencontainers.image.ref.name',
  Created: 'org.opencontainers.image.created',
  /** docker's containerd image store uses this for the full name in index.json */
  ImageName: 'io.containerd.image.name',
} as const;

export type { Platform };
export { hostPlatform };


export interface Descriptor {
  mediaType: string;
  digest: string; // "sha256:<64 hex>"
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  platform?: Platform;
  artifactType?: string;
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

export interface HealthConfig {
  Test?: string[];
  Interval?: number; // nanoseconds
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

/** The `config` object of an image config (Docker's capitalised keys, as BuildKit writes them). */
export interface ContainerConfig {
  User?: string;
  ExposedPorts?: Record<string, Record<string, never>>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, Record<string, never>>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  Healthcheck?: HealthConfig;
  OnBuild?: string[] | null;
  Shell?: string[];
  ArgsEscaped?: boolean;
}

export interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

export interface ImageConfig {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  variant?: string;
  config?: ContainerConfig;
  rootfs: { type: 'layers'; diff_ids: string[] };
  history?: HistoryEntry[];
}

export function isIndexMediaType(mt: string | undefined): boolean {
  return mt === MediaType.OciIndex || mt === MediaType.DockerManifestList;
}

export function isManifestMediaType(mt: string | undefined): boolean {
  return mt === MediaType.OciManifest || mt === MediaType.DockerManifest;
}

const OCI_LAYER: Record<string, string> = {
  [MediaType.DockerLayerGzip]: MediaType.OciLayerGzip,
  'application/vnd.docker.image.rootfs.diff.tar': MediaType.OciLayerTar,
  [MediaType.DockerForeignLayerGzip]: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
};

/** The OCI media type of a layer (Docker schema2 layer types mapped; OCI ones kept). */
export function ociLayerMediaType(mt: string): string {
  return OCI_LAYER[mt] ?? mt;
}

/**
 * A manifest as OCI: OCI manifest and config media types, every Docker schema2 layer type mapped
 * to its OCI twin (same bytes). Returns the manifest itself when nothing changes. An OCI manifest
 * must not list Docker layer types (`umoci unpack`: "blob is not correct mediatype").
 */
export function toOciManifest(m: ImageManifest): ImageManifest {
  const layers = m.layers.map((l) => (OCI_LAYER[l.mediaType] ? { ...l, mediaType: OCI_LAYER[l.mediaType] as string } : l));
  const config = m.config.mediaType === MediaType.DockerConfig ? { ...m.config, mediaType: MediaType.OciConfig } : m.config;
  if (m.mediaType === MediaType.OciManifest && config === m.config && layers.every((l, i) => l === m.layers[i])) return m;
  return { ...m, mediaType: MediaType.OciManifest, config, layers };
}

const DOCKER_LAYER: Record<string, string> = Object.fromEntries(Object.entries(OCI_LAYER).map(([d, o]) => [o, d]));

/**
 * A manifest as Docker schema2 (BuildKit's `oci-mediatypes=false`, the `docker` exporter's default):
 * Docker manifest and config media types, OCI layer types mapped to their Docker twins (same
 * bytes). A layer type without one (zstd) is kept, as BuildKit does. Returns the manifest itself
 * when nothing changes.
 */
export function toDockerManifest(m: ImageManifest): ImageManifest {
  const layers = m.layers.map((l) => (DOCKER_LAYER[l.mediaType] ? { ...l, mediaType: DOCKER_LAYER[l.mediaType] as string } : l));
  const config = m.config.mediaType === MediaType.OciConfig ? { ...m.config, mediaType: MediaType.DockerConfig } : m.config;
  if (m.mediaType === MediaType.DockerManifest && config === m.config && layers.every((l, i) => l === m.layers[i])) return m;
  return { ...m, mediaType: MediaType.DockerManifest, config, layers };
}

/** Canonical JSON used for every blob stagecraft writes (stable key order as given, no spaces). */
export function canonicalJson(v: unknown): Buffer {
  return Buffer.from(JSON.stringify(v));
}
