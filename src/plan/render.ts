/**
 * Renderers for a `Plan` (what `stagecraft stages` prints).
 *
 * In: a `Plan`. Out: the JSON contract object (`planToJson`), a human table (`renderPlanText`),
 * or a Graphviz digraph (`renderPlanDot`).
 */
import type { Plan, PlannedStage, StageBase } from './planner.js';

export interface PlanJson {
  /** the target stage's name, or its index when unnamed */
  target: string | number;
  stages: { index: number; name: string | null; base: StageBase; dependsOn: number[]; needed: boolean }[];
  order: number[][];
}

export function planToJson(plan: Plan): PlanJson {
  const t = plan.stages[plan.target]!;
  return {
    target: t.name ?? t.index,
    stages: plan.stages.map((s) => ({ index: s.index, name: s.name ?? null, base: s.base, dependsOn: s.dependsOn, needed: s.needed })),
    order: plan.order,
  };
}

function baseText(plan: Plan, s: PlannedStage): string {
  switch (s.base.kind) {
    case 'scratch':
      return 'scratch';
    case 'image':
      return s.base.ref;
    case 'stage': {
      const b = plan.stages[s.base.index]!;
      return `stage ${b.index}${b.name ? ` (${b.name})` : ''}`;
    }
  }
}

function stageLabel(s: PlannedStage): string {
  return s.name ? `${s.index} (${s.name})` : String(s.index);
}

export function renderPlanText(plan: Plan): string {
  const t = plan.stages[plan.target]!;
  const lines: string[] = [`target: ${stageLabel(t)}`, ''];
  const rows = plan.stages.map((s) => [
    String(s.index),
    s.name ?? '-',
    baseText(plan, s) + (s.platform ? ` [${s.platform}]` : ''),
    s.dependsOn.length ? s.dependsOn.join(',') : '-',
    s.needed ? 'yes' : 'no (skipped)',
  ]);
  const head = ['STAGE', 'NAME', 'BASE', 'DEPENDS ON', 'NEEDED'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  lines.push(fmt(head), ...rows.map(fmt), '', 'order (stages on one line can run in parallel):');
  plan.order.forEach((g, i) => lines.push(`  ${i + 1}. ${g.map((x) => stageLabel(plan.stages[x]!)).join(', ')}`));
  if (plan.unusedBuildArgs.length) lines.push('', `warning: build-args not consumed: ${plan.unusedBuildArgs.join(', ')}`);
  return lines.join('\n') + '\n';
}

function dotId(s: string): string {
  return '"' + s.replace(/\\/g, '\\\\').replace(/"/g, '\\"') + '"';
}

export function renderPlanDot(plan: Plan): string {
  const out = ['digraph stages {', '  rankdir=LR;', '  node [shape=box];'];
  const name = (i: number) => `stage${i}`;
  const images = new Map<string, string>();
  const imageNode = (ref: string) => {
    let id = images.get(ref);
    if (!id) {
      id = `image${images.size}`;
      images.set(ref, id);
      out.push(`  ${id} [label=${dotId(ref)}, shape=ellipse];`);
    }
    return id;
  };
  for (const s of plan.stages) {
    const attrs = [`label=${dotId(stageLabel(s))}`];
    if (!s.needed) attrs.push('style=dashed', 'color=gray');
    if (s.index === plan.target) attrs.push('penwidth=2');
    out.push(`  ${name(s.index)} [${attrs.join(', ')}];`);
  }
  for (const s of plan.stages) {
    if (s.base.kind === 'image') out.push(`  ${imageNode(s.base.ref)} -> ${name(s.index)} [label="FROM"];`);
    if (s.base.kind === 'stage') out.push(`  ${name(s.base.index)} -> ${name(s.index)} [label="FROM"];`);
    const seen = new Set<string>();
    for (const src of s.sources) {
      const from = src.resolved.kind === 'stage' ? name(src.resolved.index) : imageNode(src.resolved.ref);
      const key = `${from}:${src.mount === undefined ? 'copy' : 'mount'}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(`  ${from} -> ${name(s.index)} [label=${dotId(src.mount === undefined ? 'COPY --from' : 'RUN --mount')}];`);
    }
  }
  out.push('}');
  return out.join('\n') + '\n';
}
