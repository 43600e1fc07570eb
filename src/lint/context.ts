/**
 * What a rule module gets: the model, the options that change what rules see, and `report`.
 * Positions: `at` is an instruction (its keyword position to the end of its last line) or an
 * explicit range. Pure.
 */
import type { Instruction } from '../dockerfile/index.js';
import type { LintModel } from './model.js';

export interface Span {
  line: number;
  col: number;
  endLine?: number;
  endCol?: number;
}

export interface RuleOptions {
  /** every stage is checked (lint), or only those the target needs (build) */
  allStages: boolean;
  /** .dockerignore matcher of the context (CopyIgnoredFile) */
  ignore?: { ignores(rel: string): boolean };
  /** a base image's config Env, when known (UndefinedVar needs it; unknown bases are not checked) */
  imageEnv?: (ref: string) => readonly string[] | undefined;
  trustedRegistries: string[];
  labelSchema: Record<string, string>;
  strictLabels: boolean;
}

export interface RuleContext {
  m: LintModel;
  opts: RuleOptions;
  report(rule: string, at: Instruction | { pos: Span; endLine?: number } | Span, message: string): void;
}
