/**
 * Property: whatever a user types as a flag value or a `--format`, the CLI's argument parsers
 * return a value or throw a UserError whose message is one line, never anything else (an
 * "internal error"). Covers build's flags (--build-arg, --label, --secret, --ssh, --output,
 * --build-context, --cache-to/--cache-from, --platform), image references, `--filter` and
 * reference patterns, `--format` templates, run's flags (-p, --network, -w, --runtime); the Dockerfile front end (parse, expand, instructions, plan) and lint get the same
 * property in src/dockerfile/__tests__/property.spec.ts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseBuildArgs } from '../commands/frontend.js';
import { parseBuildContext, parseCacheFrom, parseCacheTo, parseLabel, parseOutput, parseSecret } from '../../solver/options.js';
import { parseSsh } from '../../solver/ssh.js';
import { parsePortSpec } from '../../solver/dispatch.js';
import { parseReference } from '../../reference/reference.js';
import { parsePlatform } from '../../reference/platform.js';
import { parseNetwork, parseRuntime, parseWorkdir } from '../../containers/spec.js';
import { Filters, parseUntil, pathMatch } from '../../util/filters.js';
import { GoStruct, renderFormat } from '../../util/template.js';
import { UserError } from '../../util/errors.js';

const PIECES = [
  '=', ',', ':', '/', '.', '..', '-', '--', '@', 'sha256:', 'id=', 'src=', 'type=', 'local', 'registry', 'docker', 'oci', 'tar',
  'dest=', 'ref=', 'mode=max', 'linux', 'amd64', 'arm64/v8', 'docker-image://', 'oci-layout://', 'https://', 'git@', 'a', 'B', '0',
  '9', '65536', '-1', 'ms', 'h', '1.5', ' ', '\t', '\n', '"', "'", '\\', '*', '?', '[', ']', '^', '{{', '}}', '{{.ID}}', '{{if',
  '{{end}}', '{{range .}}', '{{json .}}', '(', ')', '|', '$', 'table ', 'é', '\u0000', '\ufeff', 'x'.repeat(300),
];
const argText = fc.oneof(
  fc.array(fc.constantFrom(...PIECES), { maxLength: 12 }).map((a) => a.join('')),
  fc.string({ unit: 'grapheme', maxLength: 80 }),
  fc.string({ unit: 'binary', maxLength: 80 }),
);

function onlyUserErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    expect(e.format()).not.toContain('\n');
  }
}

const PARSERS: [string, (s: string) => unknown][] = [
  ['--build-arg', (s) => parseBuildArgs([s])],
  ['--label', parseLabel],
  ['--secret', parseSecret],
  ['--ssh', parseSsh],
  ['--output', parseOutput],
  ['--build-context', parseBuildContext],
  ['--cache-to', parseCacheTo],
  ['--cache-from', parseCacheFrom],
  ['--platform', parsePlatform],
  ['image reference', (s) => parseReference(s)],
  ['-p', parsePortSpec],
  ['--network', parseNetwork],
  ['-w', (s) => parseWorkdir(s, undefined)],
  ['--runtime', parseRuntime],
  ['--filter', (s) => Filters.parse([s])],
  ['--filter until=', (s) => parseUntil(s, 0)],
  ['reference pattern', (s) => pathMatch(s, 'library/busybox:latest')],
];

describe('CLI argument parsers never throw anything but a one-line UserError', () => {
  for (const [name, parse] of PARSERS) {
    it(name, () => {
      fc.assert(fc.property(argText, (s) => onlyUserErrors(() => parse(s))), { numRuns: 400 });
    });
  }

  it('--format over docker contexts', () => {
    const row = new GoStruct('*formatter.imageContext', { ID: 'c3b5761e9c06', Repository: 'busybox', Tag: 'latest', Size: '1.98MB', Labels: (k?: string) => (k ? '' : 'a=b') });
    fc.assert(
      fc.property(argText, (f) => onlyUserErrors(() => renderFormat(f, [row, {}, [1, 'x'], null], { ID: 'IMAGE ID' }))),
      { numRuns: 1500 },
    );
  });

  it('filters match any value against any name', () => {
    fc.assert(
      fc.property(argText, argText, (v, name) => {
        onlyUserErrors(() => {
          const f = Filters.parse([`name=${v}`, `label=${v}`]);
          f.matchRegexp('name', name);
        });
      }),
      { numRuns: 400 },
    );
  });
});
