/**
 * The solver's own data model. The front end's typed instructions are converted once (see
 * `frontend.ts`) into `Step`s with RAW (unexpanded) arguments plus their source position; the
 * dispatcher (`dispatch.ts`) expands and applies them with BuildKit's semantics, the engine
 * (`engine.ts`) executes the ones that make layers. Keeping this model here means a change in the
 * parser's shapes touches one adapter, not the engine.
 */
import type { ImageConfig, Platform } from '../image/types.js';
import type { RunMount } from '../dockerfile/index.js';

export type { RunMount };

/** Position of an instruction in the Dockerfile (1-based lines, inclusive). */
export interface StepPos {
  line: number;
  endLine: number;
}

export interface Heredoc {
  /** the name after << (e.g. EOF), or the file name for COPY <<file */
  name: string;
  /** body text (already with the trailing newline as the parser keeps it) */
  data: string;
  /** `<<-` strips leading tabs */
  chomp: boolean;
  /** unquoted delimiter: variables are expanded in COPY heredocs */
  expand: boolean;
}

interface StepBase extends StepPos {
  /** the instruction text as written (continuations joined), e.g. `RUN echo $HOME` */
  original: string;
  /** set on steps that came from an ONBUILD trigger of the base image */
  onbuild?: boolean;
}

export interface RunStep extends StepBase {
  kind: 'run';
  /** shell form: one element (the command line); exec form: the JSON array */
  cmd: string[];
  shellForm: boolean;
  heredocs: Heredoc[];
  /** `--mount=` options as the front end typed them (values still raw: expanded at dispatch) */
  mounts: RunMount[];
  network?: string;
  security?: string;
}

export interface CopyStep extends StepBase {
  kind: 'copy' | 'add';
  srcs: string[];
  dest: string;
  heredocs: Heredoc[];
  from?: string;
  chown?: string;
  chmod?: string;
  link?: boolean;
  parents?: boolean;
  exclude: string[];
  checksum?: string;
  keepGitDir?: boolean;
  /** ADD --unpack=true|false (undefined: extract local archives, not URLs) */
  unpack?: boolean;
}

export interface KvStep extends StepBase {
  kind: 'env' | 'label';
  pairs: Array<{ key: string; value: string }>;
}

export interface ArgStep extends StepBase {
  kind: 'arg';
  args: Array<{ key: string; value?: string }>;
}

export interface WordsStep extends StepBase {
  kind: 'expose' | 'volume';
  words: string[];
}

export interface OneWordStep extends StepBase {
  kind: 'user' | 'workdir' | 'stopsignal' | 'maintainer';
  value: string;
}

export interface CmdStep extends StepBase {
  kind: 'cmd' | 'entrypoint';
  cmd: string[];
  shellForm: boolean;
}

export interface ShellStep extends StepBase {
  kind: 'shell';
  shell: string[];
}

export interface HealthStep extends StepBase {
  kind: 'healthcheck';
  /** Docker's HealthConfig.Test: ['NONE'], ['CMD', ...argv] or ['CMD-SHELL', command] */
  test: string[];
  /** durations in nanoseconds (0/undefined = unset) */
  interval?: number;
  timeout?: number;
  startPeriod?: number;
  startInterval?: number;
  retries?: number;
}

export interface OnbuildStep extends StepBase {
  kind: 'onbuild';
  /** the trigger's text, e.g. `RUN echo hi` */
  expression: string;
}

export type Step = RunStep | CopyStep | KvStep | ArgStep | WordsStep | OneWordStep | CmdStep | ShellStep | HealthStep | OnbuildStep;

export type StageBase = { kind: 'scratch' } | { kind: 'stage'; index: number } | { kind: 'image'; ref: string };

/** A stage as the solver sees it. */
export interface SolverStage {
  index: number;
  name?: string;
  base: StageBase;
  /** raw base name as written (after global ARG expansion) */
  baseName: string;
  platform?: string;
  steps: Step[];
  pos: StepPos;
  /** the FROM line as written */
  original: string;
  /** the target needs this stage (only those are built) */
  needed: boolean;
  /** stages this one needs: base stage, COPY --from, RUN --mount from= (ascending) */
  dependsOn: number[];
}

export interface SolverPlan {
  stages: SolverStage[];
  target: number;
  /** global (meta) ARGs, with build args applied, plus predefined platform args */
  globalArgs: Record<string, string>;
  escapeChar: string;
  /** the Dockerfile's text (for error snippets) and its display name */
  dockerfile: { name: string; text: string };
}

/** Shell-word expansion (BuildKit's shell.Lex), injected so the dispatcher stays pure. */
export interface Lexer {
  processWord(word: string, env: Record<string, string>): string;
  processWords(word: string, env: Record<string, string>): string[];
}

/** Parses one Dockerfile instruction line (for ONBUILD triggers) into a Step. */
export type TriggerParser = (text: string, pos: StepPos) => Step;

export interface BuildArgsInput {
  buildArgs: Record<string, string>;
  platform: Platform;
}

export type { ImageConfig };
