/**
 * Maps ExecSpec stdio (streams, callbacks, 'inherit', 'ignore') onto child_process stdio slots and
 * wires the pipes after spawn.
 */
import type { ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import type { OutputSink } from './types.js';

type Slot = 'pipe' | 'ignore' | 'inherit' | import('node:stream').Stream | number;

function hasFd(s: unknown): s is { fd: number } {
  return typeof s === 'object' && s !== null && typeof (s as { fd?: unknown }).fd === 'number';
}

export function inSlot(s: Readable | 'inherit' | 'ignore' | undefined): Slot {
  if (s === undefined || s === 'ignore') return 'ignore';
  if (s === 'inherit') return 'inherit';
  if (hasFd(s)) return s as unknown as Slot;
  return 'pipe';
}

export function outSlot(s: OutputSink | undefined): Slot {
  if (s === undefined || s === 'ignore') return 'ignore';
  if (s === 'inherit') return 'inherit';
  if (typeof s === 'function') return 'pipe';
  if (hasFd(s)) return s as unknown as Slot;
  return 'pipe';
}

/** Connects pipes created for `spec` stdio on a spawned child. */
export function wireStdio(
  child: ChildProcess,
  stdin: Readable | 'inherit' | 'ignore' | undefined,
  stdout: OutputSink | undefined,
  stderr: OutputSink | undefined,
  stderrStream: Readable | null = child.stderr,
): void {
  if (child.stdin && stdin && typeof stdin === 'object') {
    child.stdin.on('error', () => {});
    stdin.pipe(child.stdin);
  }
  const out = (stream: Readable | null, sink: OutputSink | undefined) => {
    if (!stream || !sink || typeof sink === 'string') return;
    if (typeof sink === 'function') stream.on('data', (d: Buffer) => sink(d));
    else stream.on('data', (d: Buffer) => (sink as Writable).write(d));
  };
  out(child.stdout, stdout);
  out(stderrStream, stderr);
}

/** Writes a message to a sink (used for errors raised before the process starts). */
export function writeSink(sink: OutputSink | undefined, text: string): void {
  const buf = Buffer.from(text);
  if (sink === undefined || sink === 'ignore') return;
  if (sink === 'inherit') process.stderr.write(buf);
  else if (typeof sink === 'function') sink(buf);
  else sink.write(buf);
}
