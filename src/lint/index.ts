/**
 * The Dockerfile linter: BuildKit's build checks, hadolint's DL rules (those that need no
 * ShellCheck) and stagecraft's own multi-stage rules, with BuildKit's `# check=` directive,
 * hadolint's pragmas and config, and the output formats CI tools read.
 * In: Dockerfile text + options. Out: findings and formatted reports. Pure: the CLI reads files.
 */
export { lintText, baseImages, failsThreshold, type LintOptions, type LintResult } from './engine.js';
export { LINT_RULES, RULES_BY_ID, LEVELS, type Finding, type Level, type RuleInfo, type Threshold } from './rules.js';
export { EMPTY_CHECK, parseCheckOptions, parseHadolintConfig, parseThreshold, EMPTY_HADOLINT, type CheckConfig, type HadolintConfig } from './config.js';
export { formatResults, formatRuleList, LINT_FORMATS, type LintFormat } from './format.js';
