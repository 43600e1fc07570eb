/**
 * Go's text/tabwriter (the docker CLI's copy) with the docker CLI's settings: minwidth 10, tabwidth
 * 1, padding 3, pad with spaces, no flags. Cells are tab-TERMINATED: the text after a line's last
 * tab is not part of any column. Tab-terminated cells in contiguous lines form a column whose width
 * is its widest cell + padding (at least minwidth); a line with fewer cells ends the column block,
 * so a multi-line template row lines up exactly as `docker ... --format 'table ...'` does.
 * Width is counted in code points (docker counts East Asian wide runes as 2; not done here).
 */

const MIN_WIDTH = 10;
const PADDING = 3;

interface Cell {
  text: string;
  width: number;
}

/** Aligns tab-separated `text` (lines end with `\n`) into columns; returns the padded text. */
export function tabwrite(text: string): string {
  const lines: Cell[][] = text.split('\n').map((l) => l.split('\t').map((t) => ({ text: t, width: [...t].length })));
  // the text after the last newline is a final, unterminated line (usually empty)
  const widths: number[] = [];
  let out = '';
  const writeLines = (line0: number, line1: number): void => {
    for (let i = line0; i < line1; i++) {
      const line = lines[i]!;
      line.forEach((c, j) => {
        out += c.text;
        if (j < line.length - 1 && j < widths.length) out += ' '.repeat(Math.max(0, widths[j]! - c.width));
      });
      if (i + 1 < lines.length) out += '\n';
    }
  };
  const format = (line0: number, line1: number): void => {
    const column = widths.length;
    for (let cur = line0; cur < line1; cur++) {
      if (column >= lines[cur]!.length - 1) continue;
      // a cell in this column: print the lines before the block, then size the block
      writeLines(line0, cur);
      line0 = cur;
      let width = MIN_WIDTH;
      for (; cur < line1; cur++) {
        const line = lines[cur]!;
        if (column >= line.length - 1) break;
        width = Math.max(width, line[column]!.width + PADDING);
      }
      widths.push(width);
      format(line0, cur);
      widths.pop();
      line0 = cur;
    }
    writeLines(line0, line1);
  };
  format(0, lines.length);
  return out;
}
