/**
 * Layer attribution for an image BuildKit built. In: stagecraft's own plan of the same Dockerfile
 * (same target and build args), the built image's config (its `history`, one entry per instruction
 * as BuildKit's dockerfile frontend writes them: `created_by` + comment `buildkit.dockerfile.v0`),
 * and the base images' configs where known. Out: one `Attribution` per layer (undefined for base
 * layers and for layers that could not be matched) and notes saying what was not matched and why.
 *
 * How: the target's FROM chain is dispatched step by step with the local engine's dispatcher,
 * which writes each step's history entry exactly as BuildKit does; those entries are the tail of
 * the image's history. Each expected entry is compared with the entry in the same position: a
 * layer is attributed only when its `created_by` is equal, so a layer is never attributed by
 * guessing. Pure: no I/O.
 */
import type { HistoryEntry, ImageConfig, Platform } from '../../image/index.js';
import {
  HISTORY_COMMENT,
  dispatchStep,
  fromChain,
  initStageState,
  makeLexer,
  parseTrigger,
  resolveStageRef,
  stageLabel,
  type Attribution,
  type SolverPlan,
  type StageState,
  type Step,
} from '../../solver/index.js';

export interface AttributionResult {
  /** per manifest layer, bottom to top */
  layers: Array<Attribution | undefined>;
  /** layers that came from the base image (the bottom `baseLayers` ones) */
  baseLayers: number;
  /** Dockerfile layers matched to a step */
  matched: number;
  /** one line per thing that could not be matched */
  notes: string[];
}

interface Expected {
  history: HistoryEntry;
  attribution: Attribution;
}

/** The history entries the target's FROM chain writes, each with the attribution of its step. */
function expectedEntries(
  plan: SolverPlan,
  buildArgs: Record<string, string>,
  platform: Platform,
  baseConfig: (ref: string) => ImageConfig | undefined,
  notes: string[],
): Expected[] {
  const chain = fromChain(plan, plan.target).reverse();
  const lexer = makeLexer(plan.escapeChar);
  const ctx = { lexer, globalArgs: plan.globalArgs, buildArgValues: buildArgs, platform };
  const out: Expected[] = [];
  let st: StageState | undefined;
  for (const i of chain) {
    const s = plan.stages[i];
    const stageName = plan.stages.length === 1 ? '' : stageLabel(plan.stages, i);
    if (s.base.kind === 'stage' && st) st = initStageState({ kind: 'stage', state: st }, platform, stageName);
    else if (s.base.kind === 'image') {
      const cfg = baseConfig(s.base.ref);
      if (!cfg) notes.push(`base image ${s.base.ref} is not in the store: its ENV, SHELL and ONBUILD are unknown, so steps that depend on them will not match`);
      st = initStageState(cfg ? { kind: 'image', config: cfg } : { kind: 'scratch' }, platform, stageName);
    } else st = initStageState({ kind: 'scratch' }, platform, stageName);
    const triggers = st.config.config?.OnBuild ?? [];
    if (st.config.config?.OnBuild !== undefined) delete st.config.config.OnBuild;
    const steps: Step[] = [...triggers.map((t) => parseTrigger(t, s.pos, plan.dockerfile.name)), ...s.steps];
    for (const step of steps) {
      const r = dispatchStep(st, step, ctx);
      if (!r.history) continue;
      const a: Attribution = { stage: stageLabel(plan.stages, i), stageIndex: i, line: step.line, instruction: step.onbuild ? `ONBUILD ${step.original}` : step.original };
      if (r.action?.type === 'copy') {
        a.paths = [...r.action.srcs, ...r.action.inline.map((x) => `<<${x.name}`)];
        const from = r.action.from;
        if (from !== undefined) {
          let idx: number | undefined;
          try {
            idx = resolveStageRef(plan.stages, from, i);
          } catch {
            idx = undefined;
          }
          a.from = /^[0-9]+$/.test(from) || idx === undefined ? from : stageLabel(plan.stages, idx);
        }
      }
      out.push({ history: r.history, attribution: a });
    }
  }
  return out;
}

/**
 * Matches the image's history to the plan. `layerCount` is the manifest's number of layers; the
 * non-empty history entries must be as many, else nothing is attributed (and a note says so).
 */
export function attributeLayers(
  plan: SolverPlan,
  config: ImageConfig,
  layerCount: number,
  opts: { buildArgs: Record<string, string>; platform: Platform; baseConfig: (ref: string) => ImageConfig | undefined },
): AttributionResult {
  const notes: string[] = [];
  const none = (why: string): AttributionResult => ({ layers: new Array(layerCount).fill(undefined), baseLayers: 0, matched: 0, notes: [...notes, why] });
  const history = config.history ?? [];
  const layered = history.filter((h) => !h.empty_layer).length;
  if (layered !== layerCount) return none(`the image's history lists ${layered} layers but it has ${layerCount}: no layer attributed`);
  let expected: Expected[];
  try {
    expected = expectedEntries(plan, opts.buildArgs, opts.platform, opts.baseConfig, notes);
  } catch (e) {
    return none(`stagecraft's plan of the Dockerfile failed (${e instanceof Error ? e.message : String(e)}): no layer attributed`);
  }
  const offset = history.length - expected.length;
  if (offset < 0) return none(`the image's history has ${history.length} entries, the Dockerfile writes ${expected.length}: no layer attributed`);
  const layers: Array<Attribution | undefined> = [];
  let matched = 0;
  let baseLayers = 0;
  for (const [k, h] of history.entries()) {
    if (h.empty_layer) continue;
    const e = k >= offset ? expected[k - offset] : undefined;
    if (!e) {
      baseLayers++;
      layers.push(undefined);
    } else if (h.comment === HISTORY_COMMENT && h.created_by === e.history.created_by) {
      matched++;
      layers.push(e.attribution);
    } else {
      layers.push(undefined);
      notes.push(`layer ${layers.length} (${JSON.stringify(h.created_by ?? '')}) does not match line ${e.attribution.line} (${JSON.stringify(e.history.created_by ?? '')}): not attributed`);
    }
  }
  return { layers, baseLayers, matched, notes };
}
