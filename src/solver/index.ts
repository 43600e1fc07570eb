/**
 * The build engine's public API. In: BuildOptions (context, Dockerfile, target, build args,
 * secrets, outputs, ...). Out: an image in the store and a BuildResult. See engine.ts for how a
 * build runs, dispatch.ts for the per-instruction semantics (BuildKit's), cachekey.ts for cache
 * keys, progress.ts for the display, attribution.ts for the per-layer provenance annotations.
 */
export { build, StepFailure, type BuildResult, type EngineHooks, type StageResult, type LayerRec } from './engine.js';
export {
  parseSecret,
  parseOutput,
  parseBuildContext,
  parseBuildArg,
  parseLabel,
  type BuildOptions,
  type SecretSpec,
  type OutputSpec,
  type NamedContext,
} from './options.js';
export { createProgress, type ProgressMode, type ProgressSink, type VertexHandle } from './progress.js';
export { parseCacheTo, parseCacheFrom, type CacheToSpec, type CacheFromSpec } from './options.js';
export { CACHE_MEDIA_TYPE } from './cacheio.js';
export { openRegistryCache } from './cacheregistry.js';
export { parseSsh, type SshSpec } from './ssh.js';
export { AttributionKey, attributionAnnotations, attributionFromAnnotations, withoutAttribution, type Attribution } from './attribution.js';
export { dispatchStep, initStageState, HISTORY_COMMENT, type StageState, type Action, type DispatchContext } from './dispatch.js';
export { planFromText, fromChain, makeLexer, parseTrigger } from './frontend.js';
export { resolveStageRef, stageLabel } from '../plan/index.js';
export type { SolverPlan, Step } from './types.js';
