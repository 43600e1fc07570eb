/**
 * Exporters: the target stage's result → an image. In: the final StageResult (config state and
 * layers with attribution), the --output / -t / --label / --iidfile / --push options. Out: the OCI
 * manifest and config (history `created` filled in like BuildKit's exporter, `rootfs.diff_ids`, the
 * per-layer attribution annotations) written to the store and tagged (`type=image`, the default),
 * an OCI-layout tarball that `docker load` also reads (`type=oci`; `type=docker` with Docker media types), the final file
 * tree (`type=local`, `type=tar`), the image ID in the iidfile, and pushes.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve as resolvePath } from 'node:path';
import type { Writable } from 'node:stream';
import { MediaType, canonicalJson, ociLayerMediaType, type Descriptor, type ImageConfig, type ImageManifest, type Platform } from '../../image/types.js';
import { UserError } from '../../util/errors.js';
import { attributionAnnotations } from '../attribution.js';
import { cloneConfig, omitEmpty } from '../dispatch.js';
import * as deps from '../deps.js';
import type { BuildOptions, OutputSpec } from '../options.js';
import type { ProgressSink } from '../progress.js';
import type { LayerRec, StageResult } from '../results.js';

export interface ExportInput {
  store: deps.Store;
  opts: BuildOptions;
  final: StageResult;
  progress: ProgressSink;
  platform: Platform;
  /** time spent waiting for the background layer writes (shown as "exporting layers") */
  layersSeconds?: number;
  materialize: (layers: LayerRec[]) => Promise<string[]>;
}

export interface ExportResult {
  imageId: string;
  manifestDigest: string;
  config: ImageConfig;
  manifest: ImageManifest;
  tags: string[];
}

/**
 * The final image config, with `created` and history times as BuildKit's exporter fills them in:
 * a step that made a layer gets the time its layer was made (kept in the cache record, so a cached
 * step keeps it), a step without a layer the time of the entry before it (the base image's for a
 * leading one), and the image the time of its last history entry. So a rebuild that is all cache
 * hits has the same config, and the same image ID, as BuildKit's does.
 */
export function finalConfig(final: StageResult, labels: Record<string, string>, now: string): ImageConfig {
  const c = cloneConfig(final.state.config);
  c.config ??= {};
  if (Object.keys(labels).length) c.config.Labels = { ...(c.config.Labels ?? {}), ...labels };
  c.rootfs = { type: 'layers', diff_ids: final.layers.map((l) => l.diffId) };
  const history = c.history ?? [];
  // the entries this build added have no time yet; their layers are the last ones of the image
  const newLayered = history.filter((h) => !h.created && !h.empty_layer).length;
  let li = final.layers.length - newLayered;
  let last: string | undefined = c.created;
  c.history = history.map((h) => {
    if (h.created) {
      last = h.created;
      return h;
    }
    const t = (h.empty_layer ? last : final.layers[li++]?.created) ?? now;
    last = t;
    return { created: t, ...h };
  });
  c.created = c.history.length ? (c.history[c.history.length - 1]?.created ?? now) : (c.created ?? now);
  const ordered: ImageConfig = { architecture: c.architecture, ...(c.variant ? { variant: c.variant } : {}), os: c.os, created: c.created } as ImageConfig;
  if (c.author) ordered.author = c.author;
  ordered.config = omitEmpty(c.config);
  ordered.rootfs = c.rootfs;
  ordered.history = c.history;
  return ordered;
}

export function finalManifest(final: StageResult, configDesc: Descriptor): ImageManifest {
  return {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: configDesc,
    layers: final.layers.map((l) => {
      const ann = { ...(l.descriptor.annotations ?? {}), ...attributionAnnotations(l.attribution) };
      // an OCI manifest lists OCI layer types, also for the layers of a Docker schema2 base
      const d: Descriptor = { mediaType: ociLayerMediaType(l.descriptor.mediaType), digest: l.descriptor.digest, size: l.descriptor.size };
      if (Object.keys(ann).length) d.annotations = ann;
      return d;
    }),
  };
}

export async function exportImage(inp: ExportInput): Promise<ExportResult> {
  const { store, opts, final, progress } = inp;
  const outputs: OutputSpec[] = opts.outputs.length ? opts.outputs : [{ type: 'image' }];
  const now = new Date().toISOString();
  const config = finalConfig(final, opts.labels, now);
  // image outputs only: putImage writes the config when the store lacks it, so a rebuild that
  // changed nothing writes nothing (no GC lease, no lock server)
  const configBytes = canonicalJson(config);
  const configDesc: Descriptor = outputs.every((o) => o.type === 'image')
    ? { mediaType: MediaType.OciConfig, digest: `sha256:${createHash('sha256').update(configBytes).digest('hex')}`, size: configBytes.length }
    : await store.putJson(config, MediaType.OciConfig);
  const manifest = finalManifest(final, configDesc);
  let manifestDigest = '';
  const tags: string[] = [];

  for (const o of outputs) {
    if (o.type === 'image') {
      const v = progress.start('exporting to image');
      v.status(`exporting layers ${(inp.layersSeconds ?? 0).toFixed(1)}s done`);
      const names = o.name ? o.name.split(',').filter(Boolean) : opts.tags;
      for (const n of names) {
        try {
          deps.fullRef(n);
        } catch (e) {
          v.fail((e as Error).message);
          throw e;
        }
      }
      const mdesc = await store.putImage(manifest, config, names);
      manifestDigest = mdesc.digest;
      v.status(`writing image ${configDesc.digest} done`);
      for (const n of names) {
        v.status(`naming to ${deps.fullRef(n)} done`);
        tags.push(n);
      }
      v.done();
      if (opts.push || o.push) {
        for (const n of names) {
          const pv = progress.start(`pushing ${deps.fullRef(n)}`);
          try {
            await deps.push(store, n, o.compression);
          } catch (e) {
            pv.fail((e as Error).message);
            throw new UserError(`ERROR: failed to push ${n}: ${(e as Error).message}`);
          }
          pv.done();
        }
        if (!names.length) throw new UserError('ERROR: --push needs a name (-t NAME:TAG)');
      }
    } else if (o.type === 'oci' || o.type === 'docker') {
      const v = progress.start(`exporting to ${o.type === 'oci' ? 'oci' : 'docker'} image format`);
      const names = o.name ? o.name.split(',').filter(Boolean) : opts.tags;
      if (!o.dest) throw new UserError('--output type=oci|docker needs dest=FILE (or dest=-)');
      const stored = Buffer.from(JSON.stringify(manifest));
      const sdig = await store.putBlob(stored);
      const t0 = performance.now();
      // as BuildKit's oci and docker exporters: an OCI layout (docker, or oci-mediatypes=false:
      // Docker schema2 media types unless compression=zstd) and a manifest.json, layers compressed as compression= says
      // (gzip by default), once, cached; the archive writer reuses the result
      const img = { manifestDigest: sdig.digest, configDigest: configDesc.digest, manifest, config };
      const archive = { stdout: opts.stdout, dockerManifest: true, compression: o.compression, dockerTypes: o.ociMediaTypes === undefined ? o.type === 'docker' : !o.ociMediaTypes };
      const mdigest = (await deps.archiveManifest(store, img, archive)).digest;
      manifestDigest ||= mdigest;
      v.status(`exporting layers ${((performance.now() - t0) / 1000).toFixed(1)}s done`);
      v.status(`exporting manifest ${mdigest} done`);
      v.status(`sending tarball`);
      await deps.writeImageArchive(store, [{ img, tags: names.map(deps.normalizeTag) }], o.dest === '-' ? '-' : resolvePath(o.dest), 'oci', archive);
      v.done();
    } else {
      const v = progress.start(o.type === 'local' ? 'exporting to client directory' : 'exporting to client tarball');
      const lowers = await inp.materialize(final.layers);
      const work = await store.tmpDir('export-');
      await mkdir(join(work, 'empty'));
      const m = await deps.mountOverlay(lowers.length ? lowers : [join(work, 'empty')], join(work, 'upper'), join(work, 'scratch'));
      try {
        if (o.type === 'local') {
          const dest = resolvePath(o.dest as string);
          await mkdir(dest, { recursive: true });
          await run('cp', ['-a', `${m.root}/.`, dest]);
        } else {
          await run('tar', ['--numeric-owner', '-C', m.root, '-cf', o.dest === '-' ? '-' : resolvePath(o.dest as string), '.'], o.dest === '-' ? opts.stdout ?? process.stdout : undefined);
        }
      } finally {
        await m.unmount();
        await rm(work, { recursive: true, force: true }).catch(() => undefined);
      }
      v.status(`copying files done`);
      v.done();
    }
  }
  if (opts.iidfile) await writeFile(opts.iidfile, configDesc.digest);
  if (!manifestDigest) manifestDigest = (await store.putBlob(Buffer.from(JSON.stringify(manifest)))).digest;
  return { imageId: configDesc.digest, manifestDigest, config, manifest, tags };
}

function run(cmd: string, args: string[], stdout?: Writable): Promise<void> {
  return new Promise((res, rej) => {
    const p = spawn(cmd, args, { stdio: ['ignore', stdout ? 'pipe' : 'ignore', 'pipe'] });
    let err = '';
    p.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    if (stdout && p.stdout) p.stdout.pipe(stdout, { end: false });
    p.on('error', rej);
    p.on('close', (code) => (code === 0 ? res() : rej(new UserError(`${cmd} failed: ${err.trim().split('\n')[0] ?? code}`))));
  });
}
