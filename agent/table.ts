/** The CLI's tables: `poll`, `scan` and `recommend` print with this one. */

export interface Column {
  readonly header: string;
  /** Numbers line up on the right, text on the left. */
  readonly align: 'left' | 'right';
}

export const left = (header: string): Column => ({ header, align: 'left' });
export const right = (header: string): Column => ({ header, align: 'right' });

/** A header line, then one line per row: each column as wide as its widest cell, two spaces apart, no trailing spaces. */
export function formatTable(columns: readonly Column[], rows: readonly (readonly string[])[]): string {
  const widths = columns.map((column, i) => Math.max(column.header.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (columns[i]!.align === 'right' ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [columns.map((column) => column.header), ...rows].map(line).join('\n');
}
