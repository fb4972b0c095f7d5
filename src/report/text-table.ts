// Plain-text tables for the terminal (`gcrl eval`, `gcrl study`, the demo's summary): the
// counterpart of the Markdown tables in document.ts, for output that is read in a terminal.

/** Columns padded to their widest cell; the first column left-aligned, the others right-aligned. */
export function textTable(header: string[], rows: (string | number | null)[][]): string {
  const cells = [header, ...rows.map((r) => r.map((c) => (c === null ? "n/a" : String(c))))];
  const widths = header.map((_, j) => Math.max(...cells.map((r) => (r[j] ?? "").length)));
  const line = (r: string[]): string => r.map((c, j) => (j === 0 ? c.padEnd(widths[j]!) : c.padStart(widths[j]!))).join("  ").trimEnd();
  return [line(cells[0]!), widths.map((w) => "-".repeat(w)).join("  "), ...cells.slice(1).map(line)].join("\n");
}
