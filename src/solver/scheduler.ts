/**
 * Runs a DAG of stages: every node starts as soon as the nodes it depends on have finished, so
 * independent stages run concurrently (Node's event loop; the real work is in child processes and
 * I/O). A node may also `wait(m)` for another node in the middle of its work (a COPY --from step).
 * In: node ids, their dependencies, and the work per node. Out: each node's result; the first
 * failure aborts the shared AbortSignal and rejects the whole run with that failure.
 */
export async function runDag<T>(
  nodes: number[],
  deps: (n: number) => number[],
  work: (n: number, wait: (m: number) => Promise<T>, signal: AbortSignal) => Promise<T>,
  outer?: AbortSignal,
): Promise<Map<number, T>> {
  const ac = new AbortController();
  if (outer) outer.addEventListener('abort', () => ac.abort(outer.reason), { once: true });
  const results = new Map<number, T>();
  const running = new Map<number, Promise<T>>();
  let firstError: unknown;
  const visit = (n: number, path: number[]): Promise<T> => {
    const existing = running.get(n);
    if (existing) return existing;
    if (path.includes(n)) throw new Error(`circular dependency between stages ${[...path, n].join(' -> ')}`);
    const p = (async () => {
      await Promise.all(deps(n).map((d) => visit(d, [...path, n])));
      if (ac.signal.aborted) throw ac.signal.reason ?? new Error('aborted');
      const r = await work(n, (m) => visit(m, [...path, n]), ac.signal);
      results.set(n, r);
      return r;
    })();
    p.catch((e) => {
      if (firstError === undefined) firstError = e;
      ac.abort(e);
    });
    running.set(n, p);
    return p;
  };
  const all = nodes.map((n) => visit(n, []));
  const settled = await Promise.allSettled(all);
  if (firstError !== undefined) throw firstError;
  for (const s of settled) if (s.status === 'rejected') throw s.reason;
  return results;
}
