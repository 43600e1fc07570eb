/**
 * Analysis: where every byte of an image came from (layer, stage, Dockerfile line), what was
 * wasted, what build-time baggage leaked into the final image, and single-vs-multi comparisons.
 * Pure over `ImageModel` except `loadImageModel`, which reads a stored image.
 */
export type { Attribution, EntryType, ImageModel, LayerEntry, LayerModel } from './model.js';
export { mergeLayers, type MergedTree, type TreeNode, type WastedEntry } from './tree.js';
export { sizeReport, type Bucket, type LayerStats, type SizeReport } from './size.js';
export { findLeaks, wantsContent, type Leak, type LeakContext, type LeakKind } from './leaks.js';
export { diveAnalysis, humanizeBytes, parseHumanBytes, type DiveAnalysis, type DiveInefficiency } from './dive.js';
export { DEFAULT_CI_RULES, evaluateCi, parseDiveCi, renderCiReport, validateCiRules, type CiEvaluation, type CiRuleKey, type CiRules } from './ci.js';
export { diffPackages, findPackages, layerLabel, layerOrigin, stageOf, toolKind, userLayers, type Ecosystem, type Package, type PackageChange, type PackageReport, type ToolKind } from './packages.js';
export { findSecrets, type Secret } from './secrets.js';
export { GoBuildInfoScanner, parseGoBuildInfo, type GoBuildInfo } from './goinfo.js';
export { compareImages, summarize, type Comparison, type ImageSummary } from './compare.js';
export { loadImageModel } from './load.js';
export { dockerImageSize, dockerLayerSize } from './dockersize.js';
