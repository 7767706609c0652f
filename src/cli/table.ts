// Aligned text tables for the CLI (numbers are formatted by src/app/format.ts, shared with the page).

export function table(header: string[], rows: string[][], indent = ''): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]) => indent + cells.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}
