/**
 * `convert --verify`: the original and the converted Dockerfile must build, and their images must
 * run the same (same stdout, same exit code) for the conversion to be accepted. In: the two
 * Dockerfiles and the effects to use (build a Dockerfile text → image, run an image → output,
 * size of an image), given by the caller (the CLI gives the real engine and executor). Out: a
 * verdict, the measurements, and the report lines. Pure apart from the injected effects.
 */
import { humanSize } from '../util/human.js';

export interface RunOutput {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface VerifyEffects {
  /** builds the Dockerfile (the original: `original`, the converted: its text) → image ID */
  build(which: 'original' | 'converted'): Promise<string>;
  run(imageId: string): Promise<RunOutput>;
  /** the image's size (docker's: unpacked layer bytes) */
  size(imageId: string): Promise<number>;
}

export interface Verification {
  ok: boolean;
  original: { image: string; size: number; run: RunOutput };
  converted: { image: string; size: number; run: RunOutput };
  /** what differs, one line each (empty when ok) */
  differences: string[];
  /** the report: sizes and the verdict */
  report: string[];
}

export async function verifyConversion(fx: VerifyEffects): Promise<Verification> {
  const a = await fx.build('original');
  const b = await fx.build('converted');
  const runA = await fx.run(a);
  const runB = await fx.run(b);
  const [sizeA, sizeB] = [await fx.size(a), await fx.size(b)];
  const differences: string[] = [];
  if (runA.exitCode !== runB.exitCode) differences.push(`exit code: original ${runA.exitCode}, converted ${runB.exitCode}`);
  if (runA.stdout !== runB.stdout) differences.push(`stdout differs:\n${diffLines(runA.stdout, runB.stdout)}`);
  const h = humanSize;
  const pct = sizeA > 0 ? ((sizeB - sizeA) / sizeA) * 100 : 0;
  const report = [
    `original:  ${a.replace(/^sha256:/, '').slice(0, 12)}  ${h(sizeA)}`,
    `converted: ${b.replace(/^sha256:/, '').slice(0, 12)}  ${h(sizeB)}  (${pct <= 0 ? '' : '+'}${pct.toFixed(1)}%)`,
    differences.length === 0
      ? `verify: OK: both exit ${runA.exitCode} with the same output (${Buffer.byteLength(runA.stdout)} bytes)`
      : `verify: FAILED: the converted image does not run like the original\n${differences.map((d) => `  ${d.replace(/\n/g, '\n  ')}`).join('\n')}`,
  ];
  if (differences.length > 0 && runB.stderr.trim() !== '') report.push(`  converted stderr:\n${indent(tail(runB.stderr))}`);
  return { ok: differences.length === 0, original: { image: a, size: sizeA, run: runA }, converted: { image: b, size: sizeB, run: runB }, differences, report };
}

function tail(s: string, n = 10): string {
  return s.trimEnd().split('\n').slice(-n).join('\n');
}

function indent(s: string): string {
  return s.replace(/^/gm, '    ');
}

/** The first differing line of two outputs, with its line number. */
function diffLines(a: string, b: string): string {
  const la = a.split('\n');
  const lb = b.split('\n');
  for (let i = 0; i < Math.max(la.length, lb.length); i++) {
    if (la[i] !== lb[i]) return `line ${i + 1}: original ${JSON.stringify(la[i] ?? '<end>')}, converted ${JSON.stringify(lb[i] ?? '<end>')}`;
  }
  return 'line endings differ';
}
