/**
 * Analysis: where every byte of an image came from (layer, stage, Dockerfile line), what was
 * wasted, what build-time baggage leaked into the final image, and single-vs-multi comparisons.
 * Pure over `ImageModel` except `loadImageModel`, which reads a stored image.
 */
export type { Attribution, EntryType, ImageModel, LayerEntry, LayerModel } from './model.js';
export { mergeLayers, type MergedTree, type TreeNode, type WastedEntry } from './tree.js';
export { sizeReport, stageOf, type Bucket, type LayerStats, type SizeReport } from './size.js';
export { findLeaks, wantsContent, type Leak, type LeakKind } from './leaks.js';
export { compareImages, summarize, type Comparison, type ImageSummary } from './compare.js';
export { loadImageModel } from './load.js';
export { lintDockerfile, LINT_RULES, type LintFinding, type LintRule, type Severity } from './lint.js';
export { convertToMultiStage, type ConvertInput, type ConvertResult } from './convert.js';
export { dockerImageSize, dockerLayerSize } from './dockersize.js';
