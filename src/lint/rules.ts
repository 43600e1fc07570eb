/**
 * The lint rule registry: every rule stagecraft's Dockerfile linter knows, with its id, default
 * level, one-line description and documentation URL.
 *
 * Three families, ids that collide with nothing:
 * - BuildKit's build checks under BuildKit's names (`JSONArgsRecommended`, ...), level `warning`
 *   as `docker build` reports them, URLs `https://docs.docker.com/go/dockerfile/rule/<kebab-name>/`.
 *   Experimental ones (CopyIgnoredFile, InvalidDefinitionDescription) run only when enabled with
 *   `# check=experimental=Name|all`, as in BuildKit.
 * - hadolint's rules that need no ShellCheck, under hadolint's DL ids and default severities.
 * - stagecraft's own multi-stage / baggage rules under descriptive names.
 * Pure data: no I/O.
 */

export type Level = 'error' | 'warning' | 'info' | 'style';
/** what `--failure-threshold` and severity overrides accept (hadolint's names) */
export type Threshold = Level | 'ignore' | 'none';
export const LEVELS: readonly Level[] = ['error', 'warning', 'info', 'style'];

export type RuleSource = 'buildkit' | 'hadolint' | 'stagecraft';

export interface RuleInfo {
  id: string;
  source: RuleSource;
  level: Level;
  description: string;
  url: string;
  /** BuildKit: only with `# check=experimental=...` */
  experimental?: boolean;
  /** hadolint's "Ignore" default severity: off unless a level is given by config/flags */
  off?: boolean;
}

const kebab = (name: string) =>
  name
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1-$2')
    .toLowerCase();

const bk = (id: string, description: string, extra: Partial<RuleInfo> = {}): RuleInfo => ({
  id,
  source: 'buildkit',
  level: 'warning',
  description,
  url: `https://docs.docker.com/go/dockerfile/rule/${kebab(id)}/`,
  ...extra,
});

const dl = (id: string, level: Level | 'off', description: string): RuleInfo => ({
  id,
  source: 'hadolint',
  level: level === 'off' ? 'info' : level,
  description,
  url: `https://github.com/hadolint/hadolint/wiki/${id}`,
  ...(level === 'off' ? { off: true } : {}),
});

const sc = (id: string, level: Level, description: string): RuleInfo => ({
  id,
  source: 'stagecraft',
  level,
  description,
  url: `https://github.com/stagecraft/stagecraft/blob/main/docs/LINT.md#${id.toLowerCase()}`,
});

export const BUILDKIT_RULES: RuleInfo[] = [
  bk('StageNameCasing', 'Stage names should be lowercase'),
  bk('FromAsCasing', "The 'as' keyword should match the case of the 'from' keyword"),
  bk('NoEmptyContinuation', 'Empty continuation lines will become errors in a future release'),
  bk('ConsistentInstructionCasing', 'All commands within the Dockerfile should use the same casing (either upper or lower)'),
  bk('DuplicateStageName', 'Stage names should be unique'),
  bk('ReservedStageName', 'Reserved words should not be used as stage names'),
  bk('JSONArgsRecommended', 'JSON arguments recommended for ENTRYPOINT/CMD to prevent unintended behavior related to OS signals'),
  bk('MaintainerDeprecated', 'The MAINTAINER instruction is deprecated, use a label instead to define an image author'),
  bk('UndefinedArgInFrom', 'FROM command must use declared ARGs'),
  bk('WorkdirRelativePath', 'Relative workdir without an absolute workdir declared within the build can have unexpected results if the base image changes'),
  bk('UndefinedVar', 'Variables should be defined before their use'),
  bk('MultipleInstructionsDisallowed', 'Multiple instructions of the same type should not be used in the same stage'),
  bk('LegacyKeyValueFormat', 'Legacy key/value format with whitespace separator should not be used'),
  bk('RedundantTargetPlatform', 'Setting platform to predefined $TARGETPLATFORM in FROM is redundant as this is the default behavior'),
  bk('SecretsUsedInArgOrEnv', 'Sensitive data should not be used in the ARG or ENV commands'),
  bk('InvalidDefaultArgInFrom', 'Default value for global ARG results in an empty or invalid base image name'),
  bk('FromPlatformFlagConstDisallowed', 'FROM --platform flag should not use a constant value'),
  bk('CopyIgnoredFile', 'Attempting to Copy file that is excluded by .dockerignore', { experimental: true }),
  bk(
    'InvalidDefinitionDescription',
    'Comment for build stage or argument should follow the format: `# <arg/stage name> <description>`. If this is not intended to be a description comment, add an empty line or comment between the instruction and the comment.',
    { experimental: true },
  ),
  bk('ExposeProtoCasing', 'Protocol in EXPOSE instruction should be lowercase'),
  bk('ExposeInvalidFormat', 'IP address and host-port mapping should not be used in EXPOSE instruction. This will become an error in a future release'),
  // build-time only: needs the pulled base image's config (reported by `stagecraft build`, never by static lint)
  { ...bk('InvalidBaseImagePlatform', 'Base image platform does not match expected target platform'), url: 'https://docs.docker.com/go/dockerfile/rule/invalid-base-image-platform/' },
];

export const HADOLINT_RULES: RuleInfo[] = [
  dl('DL1001', 'off', 'Please refrain from using inline ignore pragmas `# hadolint ignore=DLxxxx`.'),
  dl('DL3000', 'error', 'Use absolute WORKDIR.'),
  dl('DL3001', 'info', 'For some bash commands it makes no sense running them in a Docker container like ssh, vim, shutdown, service, ps, free, top, kill, mount, ifconfig.'),
  dl('DL3002', 'warning', 'Last USER should not be root.'),
  dl('DL3003', 'warning', 'Use WORKDIR to switch to a directory.'),
  dl('DL3004', 'error', 'Do not use sudo as it leads to unpredictable behavior. Use a tool like gosu to enforce root.'),
  dl('DL3006', 'warning', 'Always tag the version of an image explicitly.'),
  dl('DL3007', 'warning', 'Using latest is prone to errors if the image will ever update. Pin the version explicitly to a release tag.'),
  dl('DL3008', 'warning', 'Pin versions in apt get install. Instead of `apt-get install <package>` use `apt-get install <package>=<version>`'),
  dl('DL3009', 'info', 'Delete the apt-get lists after installing something.'),
  dl('DL3010', 'info', 'Use ADD for extracting archives into an image.'),
  dl('DL3011', 'error', 'Valid UNIX ports range from 0 to 65535.'),
  dl('DL3012', 'error', 'Multiple `HEALTHCHECK` instructions.'),
  dl('DL3013', 'warning', 'Pin versions in pip. Instead of `pip install <package>` use `pip install <package>==<version>` or `pip install --requirement <requirements file>`'),
  dl('DL3014', 'warning', 'Use the `-y` switch to avoid manual input `apt-get -y install <package>`'),
  dl('DL3015', 'info', 'Avoid additional packages by specifying `--no-install-recommends`'),
  dl('DL3016', 'warning', 'Pin versions in npm. Instead of `npm install <package>` use `npm install <package>@<version>`'),
  dl('DL3018', 'warning', 'Pin versions in apk add. Instead of `apk add <package>` use `apk add <package>=<version>`'),
  dl('DL3019', 'info', 'Use the `--no-cache` switch to avoid the need to use `--update` and remove `/var/cache/apk/*` when done installing packages'),
  dl('DL3020', 'error', 'Use COPY instead of ADD for files and folders'),
  dl('DL3021', 'error', 'COPY with more than 2 arguments requires the last argument to end with /'),
  dl('DL3022', 'warning', '`COPY --from` should reference a previously defined `FROM` alias'),
  dl('DL3023', 'error', '`COPY --from` cannot reference its own `FROM` alias'),
  dl('DL3024', 'error', '`FROM` aliases (stage names) must be unique'),
  dl('DL3025', 'warning', 'Use arguments JSON notation for CMD and ENTRYPOINT arguments'),
  dl('DL3026', 'error', 'Use only an allowed registry in the `FROM image`'),
  dl('DL3027', 'warning', 'Do not use apt as it is meant to be an end-user tool, use apt-get or apt-cache instead'),
  dl('DL3028', 'warning', 'Pin versions in gem install. Instead of `gem install <gem>` use `gem install <gem>:<version>`'),
  dl('DL3029', 'warning', 'Do not use --platform flag with FROM'),
  dl('DL3030', 'warning', 'Use the -y switch to avoid manual input `yum install -y <package>`'),
  dl('DL3032', 'warning', '`yum clean all` missing after yum command.'),
  dl('DL3033', 'warning', 'Specify version with `yum install -y <package>-<version>`.'),
  dl('DL3034', 'warning', 'Non-interactive switch missing from `zypper` command: `zypper install -y`'),
  dl('DL3035', 'warning', 'Do not use `zypper dist-upgrade`.'),
  dl('DL3036', 'warning', '`zypper clean` missing after zypper use.'),
  dl('DL3037', 'warning', 'Specify version with `zypper install -y <package>=<version>`.'),
  dl('DL3038', 'warning', 'Use the -y switch to avoid manual input `dnf install -y <package>`'),
  dl('DL3040', 'warning', '`dnf clean all` missing after dnf command.'),
  dl('DL3041', 'warning', 'Specify version with `dnf install -y <package>-<version>`'),
  dl('DL3042', 'warning', 'Avoid use of cache directory with pip. Use `pip install --no-cache-dir <package>`'),
  dl('DL3043', 'error', '`ONBUILD`, `FROM` or `MAINTAINER` triggered from within `ONBUILD` instruction.'),
  dl('DL3044', 'error', 'Do not refer to an environment variable within the same `ENV` statement where it is defined.'),
  dl('DL3045', 'warning', '`COPY` to a relative destination without `WORKDIR` set.'),
  dl('DL3046', 'warning', '`useradd` without flag `-l` and high UID will result in excessively large Image.'),
  dl('DL3047', 'info', 'Avoid use of wget without progress bar. Use `wget --progress=dot:giga <url>`. Or consider using `-q` or `-nv` (shorthands for `--quiet` or `--no-verbose`).'),
  dl('DL3048', 'style', 'Invalid label key.'),
  dl('DL3049', 'info', 'Label is missing.'),
  dl('DL3050', 'info', 'Superfluous label(s) present.'),
  dl('DL3051', 'warning', 'Label is empty.'),
  dl('DL3052', 'warning', 'Label is not a valid URL.'),
  dl('DL3053', 'warning', 'Label is not a valid time format - must conform to RFC3339.'),
  dl('DL3054', 'warning', 'Label is not a valid SPDX license identifier.'),
  dl('DL3055', 'warning', 'Label is not a valid git hash.'),
  dl('DL3056', 'warning', 'Label does not conform to semantic versioning.'),
  dl('DL3057', 'off', '`HEALTHCHECK` instruction missing.'),
  dl('DL3058', 'warning', 'Label is not a valid email format - must conform to RFC5322.'),
  dl('DL3059', 'info', 'Multiple consecutive `RUN` instructions. Consider consolidation.'),
  dl('DL3060', 'info', '`yarn cache clean` missing after `yarn install` was run.'),
  dl('DL3061', 'error', 'Invalid instruction order. Dockerfile must begin with `FROM`, `ARG` or comment.'),
  dl('DL3062', 'warning', 'Pin versions in go install. Instead of `go install <package>` use `go install <package>@<version>`'),
  dl('DL3063', 'warning', 'Stage name should not be a reserved word'),
  dl('DL4000', 'error', 'MAINTAINER is deprecated'),
  dl('DL4001', 'warning', 'Either use Wget or Curl but not both'),
  dl('DL4003', 'warning', 'Multiple `CMD` instructions found. If you list more than one `CMD` then only the last `CMD` will take effect'),
  dl('DL4004', 'error', 'Multiple `ENTRYPOINT` instructions found. If you list more than one `ENTRYPOINT` then only the last `ENTRYPOINT` will take effect'),
  dl('DL4005', 'warning', 'Use SHELL to change the default shell'),
  dl('DL4006', 'warning', 'Set the SHELL option -o pipefail before RUN with a pipe in it. If you are using /bin/sh in an alpine image or if your shell is symlinked to busybox then consider explicitly setting your SHELL to /bin/ash, or disable this check'),
];

export const STAGECRAFT_RULES: RuleInfo[] = [
  sc('InvalidDockerfile', 'error', 'The Dockerfile does not parse, or an instruction is invalid: the build would fail here'),
  sc('CompilerInFinalStage', 'warning', 'Single-stage Dockerfile that compiles: the compiler and build dependencies ship with the app (try `stagecraft convert`)'),
  sc('DevDependenciesInFinalStage', 'warning', 'The final stage installs devDependencies (npm ci/install without --omit=dev)'),
  sc('FinalStageFromBuildStage', 'warning', 'The final stage starts FROM a build stage and inherits everything it installed'),
  sc('CopyWholeStage', 'info', "COPY --from copies a stage's whole working directory or root (caches and dev files come along)"),
  sc('UnusedStage', 'info', 'Stage not used by the target: it is never built'),
  sc('SystemDirFromSameBase', 'warning', 'COPY --from of a system directory from a stage on the same base: what the base already has there is stored twice'),
  sc('NpmCacheInShippedStage', 'warning', 'npm install/ci leaves its cache in a stage that ships (no cache mount, no npm cache clean)'),
  sc('SecretFileCopied', 'error', 'COPY/ADD of a credentials file into the image'),
];

export const LINT_RULES: RuleInfo[] = [...BUILDKIT_RULES, ...HADOLINT_RULES, ...STAGECRAFT_RULES];
export const RULES_BY_ID = new Map(LINT_RULES.map((r) => [r.id, r]));

/** A finding: one rule violated at one place. Lines and columns are 1-based; `endCol` is exclusive. */
export interface Finding {
  rule: string;
  level: Level;
  message: string;
  file: string;
  line: number;
  col: number;
  endLine: number;
  endCol: number;
  url: string;
}
