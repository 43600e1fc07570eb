/** Property: on any text the front end returns a result or a clean UserError, never anything else. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dumpAst, parseDockerfile, parseAst, ShellLex } from '../index.js';
import { planBuild } from '../../plan/index.js';
import { UserError } from '../../util/errors.js';
import { lintText } from '../../lint/index.js';

const FRAGMENTS = [
  'FROM ', 'RUN ', 'COPY ', 'ADD ', 'ARG ', 'ENV ', 'LABEL ', 'CMD ', 'ENTRYPOINT ', 'SHELL ', 'ONBUILD ',
  'HEALTHCHECK ', 'EXPOSE ', 'VOLUME ', 'USER ', 'WORKDIR ', 'STOPSIGNAL ', 'MAINTAINER ', ' AS ', 'scratch',
  '--from=', '--mount=', 'type=cache,', 'target=/x', '--platform=', '--link', '--', '-', '=', '$', '${', '}', ':-',
  ':+', '#', '%', '/', '"', "'", '\\', '`', '[', ']', ',', '<<', '<<-', 'EOF', '\n', '\r\n', '\t', ' ', '# escape=`',
  '# syntax=x', '\ufeff', 'a', 'b', '0', '1', 'é', '한', '\u0000', '{', '*', '?',
];

const dockerfileish = fc.array(fc.constantFrom(...FRAGMENTS), { maxLength: 60 }).map((a) => a.join(''));
const anyText = fc.oneof(dockerfileish, fc.string({ unit: 'grapheme', maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 200 }));

function onlyUserErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    const line = e.format();
    expect(line).not.toContain('\n');
  }
}

describe('front end never throws anything but UserError', () => {
  it('parseAst + dumpAst', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        onlyUserErrors(() => dumpAst(parseAst(text, { file: 'Dockerfile' })));
      }),
      { numRuns: 1500 },
    );
  });
  it('parseDockerfile + planBuild', () => {
    fc.assert(
      fc.property(anyText, fc.option(fc.constantFrom('a', 'b', '0', '1', 'x')), (text, target) => {
        onlyUserErrors(() => planBuild(parseDockerfile(text, { file: 'Dockerfile' }), { target: target ?? undefined, buildArgs: { a: '1' } }));
      }),
      { numRuns: 1500 },
    );
  });
  it('lintText (the rules run on whatever parses; what does not is an InvalidDockerfile finding)', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        onlyUserErrors(() => lintText(text, { file: 'Dockerfile', buildArgs: { a: '1' } }));
      }),
      { numRuns: 1000 },
    );
  });
  it('ShellLex.processWord / processWords', () => {
    const lex = new ShellLex('\\');
    const tick = new ShellLex('`');
    fc.assert(
      fc.property(anyText, (w) => {
        for (const l of [lex, tick]) {
          onlyUserErrors(() => l.processWord(w, { a: 'x y', EOF: '' }));
          onlyUserErrors(() => l.processWords(w, new Map([['a', ' 1  2 ']])));
        }
      }),
      { numRuns: 1500 },
    );
  });
  it('parses every generated valid multi-stage file', () => {
    const stage = fc.record({
      name: fc.constantFrom('a', 'b', 'c', 'd'),
      copy: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(stage, { minLength: 1, maxLength: 6 }), (stages) => {
        const names: string[] = [];
        const lines: string[] = [];
        stages.forEach((s, i) => {
          const name = `${s.name}${i}`;
          lines.push(`FROM ${names.length && s.copy ? names[names.length - 1] : 'alpine'} AS ${name}`);
          if (s.copy && names.length) lines.push(`COPY --from=${names[0]} /x /y`);
          names.push(name);
        });
        const plan = planBuild(parseDockerfile(lines.join('\n')));
        expect(plan.target).toBe(stages.length - 1);
        expect(plan.order.flat().sort()).toEqual(plan.stages.filter((s) => s.needed).map((s) => s.index));
      }),
      { numRuns: 300 },
    );
  });
});
