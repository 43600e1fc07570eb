/** Reports: terminal tables and the self-contained HTML report with SVG charts. Pure: data in, strings out. */
export { table, renderAnalysis, renderComparison, renderLeaks } from './text.js';
export { analysisHtml, comparisonHtml, layerChart, treemapChart, esc } from './html.js';
