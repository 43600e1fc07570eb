/**
 * Images as data and as files: OCI types, the layer format (deterministic tar + parallel gzip/zstd
 * writer, the one safe extractor), rootfs import, docker-archive / OCI-layout save and load, and the
 * pure formatting of `images`, `history` and `inspect` output. Stored content goes through src/store.
 */
export * from './types.js';
export { applyLayer, measureLayer, cleanEntryName, type ApplyOptions, type ApplyStats, type WhiteoutMode } from './layer-apply.js';
export { writeLayer, writeTarAsLayer, packDir, type WriteLayerOptions, type WrittenLayer, type PackOptions } from './layer-write.js';
export { compress, decompress, gzipParallel, zstdCompress, sniffCompression, type Compression } from './compress.js';
export { readTar, encodeHeader, TAR_END, padLen, TarContentSize, TarFormatError, type TarEntry, type TarHeader, type TarType } from './tar.js';
export { readXattrsTree, restoreXattrs } from './xattrs.js';
export { importRootfs, type ImportOptions } from './import.js';
export { applyChange, splitWords } from './changes.js';
export { formatImages, type ListOptions } from './list.js';
export { humanSize, humanDuration, humanSince, tabulate } from './human.js';
export { chainIdOf as chainId } from '../store/store.js';
export { saveImages, loadImages, readArchiveImages, dirFiles, type SaveFormat, type LoadedImage, type ArchiveFiles, type ArchiveImage, type ArchiveLayer } from './archive.js';
export { inspectObject, historyRows, type HistoryRow } from './describe.js';
