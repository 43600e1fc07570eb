/**
 * What the engine hands between stages and to the exporters: a layer as the build knows it
 * (descriptor, diffID, attribution, when it was made), a finished stage (its dispatch state, layers
 * and cache key), and the failure of a step (what BuildKit prints in its error report).
 */
import type { Descriptor } from '../image/types.js';
import type { Attribution } from './attribution.js';
import type { StageState } from './dispatch.js';

export interface LayerRec {
  /**
   * valid once `ready` resolved (layers are measured in the background, see the engine); NO_BLOB
   * (digest '') for a layer of an older build's cache record that kept only a diffID, until
   * ensureBlobs records its snapshot as a lazy blob
   */
  descriptor: Descriptor;
  /** the step's cache key, to record the blob when one is made later */
  cacheKey?: string;
  diffId: string;
  attribution?: Attribution;
  /**
   * when this build's step made the layer (RFC 3339; kept in its cache record, so a cached step
   * keeps its time): the history `created` of the step, as BuildKit's `buildkit/createdat`
   */
  created?: string;
  /** set while the layer blob is still being written */
  ready?: Promise<void>;
}

/** Descriptor of a layer that has a diffID and a snapshot but no blob (yet). */
export const NO_BLOB: Descriptor = { mediaType: '', digest: '', size: 0 };

/** Waits until every layer of the list has its blob, descriptor and diffID. */
export async function layersReady(layers: LayerRec[]): Promise<void> {
  for (const l of layers) if (l.ready) await l.ready;
}

export interface StageResult {
  index: number;
  state: StageState;
  layers: LayerRec[];
  key: string;
  /** overlay lowers for `layers`, when already known */
  snapshots?: string[];
}

/** Waits for a stage of the build to finish (a COPY --from or mount from= source). */
export type WaitStage = (index: number) => Promise<StageResult>;

/** A step failed: carries what BuildKit prints in its error report. */
const SOLVE_PREFIX = 'ERROR: failed to solve: ';

/**
 * A failed step. The build reports it as `ERROR: failed to solve: <message>`, so a cause that
 * already carries that prefix (a source that failed to resolve) loses it here: said once, as BuildKit.
 */
export class StepFailure extends Error {
  constructor(
    message: string,
    readonly vertexName: string,
    readonly logs: string[],
    readonly line?: number,
    readonly endLine?: number,
  ) {
    super(message.startsWith(SOLVE_PREFIX) ? message.slice(SOLVE_PREFIX.length) : message);
  }
}

export function errMsg(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
