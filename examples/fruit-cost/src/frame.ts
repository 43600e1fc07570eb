/**
 * A tiny DataFrame: columns of equal length, printed the way pandas prints `print(df)`:
 * a left-aligned index column, then every column right-aligned to its widest cell, two spaces apart.
 */
export type Cell = string | number;

export class DataFrame {
  readonly columns: string[];
  private readonly data: Record<string, Cell[]>;

  constructor(data: Record<string, Cell[]>) {
    this.columns = Object.keys(data);
    const lengths = new Set(this.columns.map((c) => data[c].length));
    if (lengths.size > 1) throw new Error('All arrays must be of the same length');
    this.data = data;
  }

  get length(): number {
    return this.columns.length === 0 ? 0 : this.data[this.columns[0]].length;
  }

  toString(): string {
    const index = Array.from({ length: this.length }, (_, i) => String(i));
    const indexWidth = Math.max(0, ...index.map((s) => s.length));
    const cols = this.columns.map((name) => {
      const cells = this.data[name].map(String);
      const width = Math.max(name.length, ...cells.map((s) => s.length));
      return { header: name.padStart(width), cells: cells.map((s) => s.padStart(width)) };
    });
    const lines = [[''.padEnd(indexWidth), ...cols.map((c) => c.header)].join('  ')];
    index.forEach((label, i) => lines.push([label.padEnd(indexWidth), ...cols.map((c) => c.cells[i])].join('  ')));
    return lines.join('\n');
  }
}
