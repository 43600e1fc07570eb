/** Reports: terminal tables and the self-contained HTML report with SVG charts. Pure: data in, strings out. */
export { table, renderAnalysis, renderComparison, renderLeaks, pct, dirDelta } from './text.js';
export { analysisHtml, comparisonHtml, layerChart, treemapChart, stageColors, esc, type ImageReportInput } from './html.js';
export { explorerData, type ExplorerData } from './explorer.js';
export { renderPackageChanges, renderPackages, renderSecrets } from './packages.js';
