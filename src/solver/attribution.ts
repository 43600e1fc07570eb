/**
 * Per-layer attribution: which stage, Dockerfile line and instruction made a layer, and for
 * COPY --from the source stage (or image) and the source paths. In: an `Attribution`. Out: the OCI
 * annotations stagecraft puts on the layer's descriptor in the image manifest (and back). The
 * format is documented in docs/ARCHITECTURE.md, "Layer attribution". Base-image layers carry none.
 */
import type { Descriptor } from '../image/types.js';

export interface Attribution {
  /** stage name, or `stage-N` for an unnamed stage */
  stage?: string;
  stageIndex?: number;
  /** 1-based Dockerfile line of the instruction */
  line?: number;
  /** the instruction as written (`COPY --from=build /app /app`); ONBUILD triggers are prefixed `ONBUILD ` */
  instruction?: string;
  /** COPY --from / ADD source: the stage name (or index as written) or image reference */
  from?: string;
  /** COPY/ADD source paths after expansion (heredoc sources as `<<NAME`) */
  paths?: string[];
}

export const AttributionKey = {
  /** the whole Attribution as JSON (the one key a reader needs) */
  Json: 'dev.stagecraft.attribution',
  Stage: 'dev.stagecraft.stage',
  StageIndex: 'dev.stagecraft.stage.index',
  Line: 'dev.stagecraft.line',
  Instruction: 'dev.stagecraft.instruction',
  From: 'dev.stagecraft.from',
  Paths: 'dev.stagecraft.paths',
} as const;

export function attributionAnnotations(a: Attribution | undefined): Record<string, string> {
  if (!a) return {};
  const out: Record<string, string> = { [AttributionKey.Json]: JSON.stringify(a) };
  if (a.stage !== undefined) out[AttributionKey.Stage] = a.stage;
  if (a.stageIndex !== undefined) out[AttributionKey.StageIndex] = String(a.stageIndex);
  if (a.line !== undefined) out[AttributionKey.Line] = String(a.line);
  if (a.instruction !== undefined) out[AttributionKey.Instruction] = a.instruction;
  if (a.from !== undefined) out[AttributionKey.From] = a.from;
  if (a.paths !== undefined) out[AttributionKey.Paths] = JSON.stringify(a.paths);
  return out;
}

/** Reads an Attribution back from a layer descriptor's annotations (undefined for base layers). */
export function attributionFromAnnotations(ann: Record<string, string> | undefined): Attribution | undefined {
  if (!ann) return undefined;
  const j = ann[AttributionKey.Json];
  if (j) {
    try {
      return JSON.parse(j) as Attribution;
    } catch {
      /* fall through to the single keys */
    }
  }
  if (ann[AttributionKey.Stage] === undefined && ann[AttributionKey.Line] === undefined) return undefined;
  const a: Attribution = {};
  if (ann[AttributionKey.Stage] !== undefined) a.stage = ann[AttributionKey.Stage];
  if (ann[AttributionKey.StageIndex] !== undefined) a.stageIndex = Number(ann[AttributionKey.StageIndex]);
  if (ann[AttributionKey.Line] !== undefined) a.line = Number(ann[AttributionKey.Line]);
  if (ann[AttributionKey.Instruction] !== undefined) a.instruction = ann[AttributionKey.Instruction];
  if (ann[AttributionKey.From] !== undefined) a.from = ann[AttributionKey.From];
  if (ann[AttributionKey.Paths] !== undefined) a.paths = JSON.parse(ann[AttributionKey.Paths]) as string[];
  return a;
}

/** A layer descriptor without stagecraft's attribution keys (a base image's layer, as this build sees it). */
export function withoutAttribution(d: Descriptor): Descriptor {
  if (!d.annotations) return d;
  const ann = Object.fromEntries(Object.entries(d.annotations).filter(([k]) => !k.startsWith('dev.stagecraft.')));
  const out: Descriptor = { ...d };
  if (Object.keys(ann).length) out.annotations = ann;
  else delete out.annotations;
  return out;
}
