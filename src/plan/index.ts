/**
 * The planner's public API.
 *
 * In: a parsed `Dockerfile` and build options. Out: a `Plan` (stages with resolved bases and
 * dependencies, the target, parallel groups in `order`, ARG values) and renderers of it for
 * `stagecraft stages` (text, JSON, Graphviz dot).
 */
export { planBuild, fromChain, platformArgs, normalizePlatform, formatPlatform, stageArgValue } from './planner.js';
export type { Plan, PlannedStage, PlanOptions, StageBase, StageRef, StageSource } from './planner.js';
export { lookupStage, resolveStageRef, stageLabel, laterStageError, type NamedStage } from './stages.js';
export { planToJson, renderPlanText, renderPlanDot } from './render.js';
export type { PlanJson } from './render.js';
