/**
 * THE resolver of stage references, as BuildKit's dockerfile2llb resolves them. In: the stages
 * (their lower-cased `AS` names), a `--from=` / `from=` value, the current stage and the names of
 * named build contexts. Out: a stage index, or undefined (an image, or the named context that
 * replaces a stage of that name). Used by the planner (COPY --from, RUN --mount from=) and the
 * solver (ONBUILD triggers, sources), so both give the same answers and errors. Pure.
 */
import { UserError } from '../util/errors.js';

export interface NamedStage {
  /** lower-cased `AS` name */
  name?: string;
}

/** BuildKit's name of stage i in errors and progress: its `AS` name, else `stage-N`. */
export function stageLabel(stages: ReadonlyArray<NamedStage>, i: number): string {
  return stages[i]?.name ?? `stage-${i}`;
}

/** Go's strconv.Atoi over a stage reference (BuildKit tries it first). */
function atoi(s: string): number | undefined {
  return /^[+-]?[0-9]+$/.test(s) ? Number.parseInt(s, 10) : undefined;
}

/**
 * The stage a `from` value names: a number is an index ("invalid stage index N" outside the
 * stages); a name (any case) is that stage unless a named context replaces it; else undefined.
 */
export function lookupStage(stages: ReadonlyArray<NamedStage>, value: string, replaced?: ReadonlySet<string>): number | undefined {
  const n = atoi(value);
  if (n !== undefined) {
    if (n < 0 || n >= stages.length) throw new UserError(`invalid stage index ${n}`);
    return n;
  }
  if (replaced?.has(value)) return undefined;
  const lower = value.toLowerCase();
  const i = stages.findIndex((s) => s.name === lower);
  return i < 0 ? undefined : i;
}

/** BuildKit's error for a reference to the current or a later stage. */
export function laterStageError(stages: ReadonlyArray<NamedStage>, value: string, current: number, what: 'copy' | 'mount'): string {
  return `cannot ${what} from stage ${JSON.stringify(value)}, it needs to be defined before current stage ${JSON.stringify(stageLabel(stages, current))}`;
}

/** `lookupStage` plus the order rule: a stage at or after `current` is an error (thrown). */
export function resolveStageRef(
  stages: ReadonlyArray<NamedStage>,
  value: string,
  current: number,
  opts: { what?: 'copy' | 'mount'; replaced?: ReadonlySet<string> } = {},
): number | undefined {
  const i = lookupStage(stages, value, opts.replaced);
  if (i !== undefined && i >= current) throw new UserError(laterStageError(stages, value, current, opts.what ?? 'copy'));
  return i;
}
