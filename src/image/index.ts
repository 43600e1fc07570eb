/**
 * Images as data and as files: OCI types, the layer format (deterministic tar + parallel gzip/zstd
 * writer, the one safe extractor), rootfs import, docker-archive / OCI-layout save and load, (the docker
 * table/template contexts of `images`, `history` and `inspect` live in src/cli/format/). Stored content goes through src/store.
 */
export * from './types.js';
export { applyLayer, measureLayer, cleanEntryName, type ApplyOptions, type ApplyStats, type WhiteoutMode } from './layer-apply.js';
export { writeLayer, writeTarAsLayer, packDir, packSnapshot, type WriteLayerOptions, type WrittenLayer, type PackOptions } from './layer-write.js';
export { exportLayer, exportManifest, parseLayerCompression, layerCompressionOf, DEFAULT_EXPORT, type LayerCompression, type ExportedManifest } from './layer-export.js';
export { compress, decompress, gzipParallel, zstdCompress, sniffCompression, type Compression } from './compress.js';
export { readTar, encodeHeader, TAR_END, padLen, TarContentSize, TarFormatError, type TarEntry, type TarHeader, type TarType } from './tar.js';
export { readXattrsTree, restoreXattrs } from './xattrs.js';
export { WH_PREFIX, WH_OPAQUE, whiteoutFileTarget, whiteoutFileOf } from './whiteout.js';
export { importRootfs, type ImportOptions } from './import.js';
export { applyChange } from './changes.js';
export { splitWords } from '../dockerfile/shellcmd.js';
export { chainIdOf as chainId, chainIdOf, type BlobStore, type ResolvedImage, type LayerInfo } from './store-api.js';
export { archiveManifest, saveImages, loadImages, loadOciLayoutDir, writeImageArchive, type SaveFormat, type LoadedImage, type ArchiveImage, readArchiveImages, dirFiles, type ArchiveFiles, type ArchiveEntry, type ArchiveLayer } from './archive.js';
