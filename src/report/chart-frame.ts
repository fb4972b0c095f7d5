// The frame shared by the SVG charts (histogram, ROC, line): title, plot area with grid lines, axes
// with tick labels at round numbers, axis labels, a legend (a band above the plot, or a box in its
// lower right corner) and notes under the plot (e.g. how many non-finite values were skipped). Each
// chart only computes its ticks and draws its marks inside the plot area through the data→pixel maps
// `sx`, `sy`; everything outside the plot area is clipped.
//
// Layout (pixels): title band on top, y tick labels on the left (width estimated from the longest
// label: DejaVu Sans averages ≈ 0.6 em per character), x tick labels, x label and notes at the bottom.
// Text uses the font family "DejaVu Sans, sans-serif" (installed; sharp/librsvg renders it).
import type { Ticks } from "./chart-ticks.ts";
import { escapeXml } from "./xml-escape.ts";

export const CHART_FONT_FAMILY = "DejaVu Sans, sans-serif";

/** Matplotlib's tab10 colours, used in order for series without a colour. */
export const DEFAULT_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"] as const;

/** A named series; `color` is a CSS colour (#rgb, #rrggbb or a colour name), default from DEFAULT_COLORS. */
export interface Series {
  label: string;
  color?: string;
}

/** One legend row: a line (line charts, ROC curves) or a filled box (histograms) in the series colour. */
export interface LegendEntry {
  label: string;
  color: string;
  swatch: "line" | "box" | "dashed";
}

export interface ChartFrame {
  /** Name used in error messages, e.g. "histogramSvg". */
  caller: string;
  width: number;
  height: number;
  title?: string;
  x: Ticks;
  y: Ticks;
  xLabel?: string;
  yLabel?: string;
  legend: LegendEntry[];
  /** "above": a band of entries between the title and the plot (never covers data); else a box inside the plot. */
  legendPlace: "above" | "bottom-right";
  /** Short lines printed under the plot. */
  notes: string[];
  /** SVG elements for the plot area, drawn with the data→pixel maps. */
  body: (sx: (v: number) => number, sy: (v: number) => number) => string;
}

/** A coordinate with at most 2 decimals (keeps the SVG small). */
export function px(v: number): string {
  return String(Math.round(v * 100) / 100);
}

/** The series' colour (validated) or the default for position i. */
export function seriesColor(caller: string, series: Series, i: number): string {
  if (series.color === undefined) return DEFAULT_COLORS[i % DEFAULT_COLORS.length]!;
  if (typeof series.color !== "string" || !/^(#[0-9a-f]{3}|#[0-9a-f]{6}|[a-z]{3,30})$/i.test(series.color)) {
    throw new TypeError(`${caller}: series ${i} ('${series.label}') color must be #rgb, #rrggbb or a CSS colour name, got ${JSON.stringify(series.color)}`);
  }
  return series.color;
}

/** Validates the common parts of the series list: non-empty array, string labels. */
export function checkSeriesList(caller: string, series: readonly Series[]): void {
  if (!Array.isArray(series) || series.length === 0) throw new RangeError(`${caller}: expected at least one series, got ${Array.isArray(series) ? "an empty list" : typeof series}`);
  series.forEach((s, i) => {
    if (typeof s?.label !== "string") throw new TypeError(`${caller}: series ${i} needs a string label`);
  });
}

/** Validates an optional chart size (integer pixels in [120, 4096]); returns it or the default. */
export function chartSize(caller: string, name: "width" | "height", value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 120 || value > 4096) throw new RangeError(`${caller}: ${name} must be an integer in [120, 4096] pixels, got ${value}`);
  return value;
}

/** "skipped 3 non-finite values (a: 2, b: 1)" — or null when nothing was skipped. */
export function skippedNote(what: string, counts: readonly number[], labels: readonly string[]): string | null {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const per = counts.length > 1 ? ` (${counts.map((c, i) => `${labels[i] || `series ${i}`}: ${c}`).filter((_, i) => counts[i]! > 0).join(", ")})` : "";
  return `skipped ${total} ${what} value${total === 1 ? "" : "s"}${per}`;
}

const charWidth = (fontSize: number): number => 0.62 * fontSize;

function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

/** The whole SVG document for a chart. */
export function renderChart(f: ChartFrame): string {
  const { width, height, x, y } = f;
  const entries = f.legend.filter((e) => e.label !== "");
  const maxLegendChars = Math.max(8, Math.floor((width - 80) / charWidth(12)));
  const legendTexts = entries.map((e) => truncate(e.label, maxLegendChars));
  const entryWidth = (t: string): number => Math.ceil(t.length * charWidth(12) + 42);
  // legend band above the plot: entries flow left to right, wrapping at the chart width
  const bandRows: number[][] = [];
  if (f.legendPlace === "above" && entries.length > 0) {
    let rowWidth = Infinity;
    legendTexts.forEach((t, i) => {
      if (rowWidth + entryWidth(t) > width - 40) {
        bandRows.push([]);
        rowWidth = 0;
      }
      bandRows[bandRows.length - 1]!.push(i);
      rowWidth += entryWidth(t);
    });
  }
  const titleBand = f.title ? 34 : 10;
  const top = titleBand + 18 * bandRows.length + (bandRows.length > 0 ? 6 : 4);
  const bottom = 24 + (f.xLabel ? 18 : 0) + 14 * f.notes.length + 6;
  const yLabelChars = Math.max(...y.labels.map((l) => l.length));
  const left = Math.ceil(10 + (f.yLabel ? 18 : 0) + yLabelChars * charWidth(11) + 6);
  const right = Math.ceil(Math.max(16, (x.labels[x.labels.length - 1]!.length * charWidth(11)) / 2 + 6));
  const pw = width - left - right;
  const ph = height - top - bottom;
  if (pw < 60 || ph < 60) throw new RangeError(`${f.caller}: a ${width}×${height} chart leaves a ${pw}×${ph} plot area; make it larger`);

  const map = (t: Ticks, v: number): number => (t.log ? (Math.log10(v) - Math.log10(t.min)) / (Math.log10(t.max) - Math.log10(t.min)) : (v - t.min) / (t.max - t.min));
  const sx = (v: number): number => left + map(x, v) * pw;
  const sy = (v: number): number => top + ph - map(y, v) * ph;

  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${CHART_FONT_FAMILY}">`);
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  if (f.title) out.push(`<text x="${px(width / 2)}" y="23" text-anchor="middle" font-size="15" font-weight="bold" fill="#222">${escapeXml(truncate(f.title, Math.floor(width / charWidth(15))))}</text>`);
  out.push(`<defs><clipPath id="plot-area"><rect x="${left}" y="${top}" width="${pw}" height="${ph}"/></clipPath></defs>`);

  // grid lines and tick labels
  const grid: string[] = [];
  const labels: string[] = [];
  x.values.forEach((v, i) => {
    const X = px(sx(v));
    grid.push(`<line x1="${X}" y1="${top}" x2="${X}" y2="${top + ph + 4}"/>`);
    labels.push(`<text x="${X}" y="${top + ph + 17}" text-anchor="middle">${escapeXml(x.labels[i]!)}</text>`);
  });
  y.values.forEach((v, i) => {
    const Y = px(sy(v));
    grid.push(`<line x1="${left - 4}" y1="${Y}" x2="${left + pw}" y2="${Y}"/>`);
    labels.push(`<text x="${left - 7}" y="${px(sy(v) + 4)}" text-anchor="end">${escapeXml(y.labels[i]!)}</text>`);
  });
  out.push(`<g stroke="#e3e3e3" stroke-width="1">${grid.join("")}</g>`);
  out.push(`<g font-size="11" fill="#333">${labels.join("")}</g>`);

  out.push(`<g clip-path="url(#plot-area)">${f.body(sx, sy)}</g>`);
  out.push(`<rect x="${left}" y="${top}" width="${pw}" height="${ph}" fill="none" stroke="#555" stroke-width="1"/>`);

  if (f.xLabel) out.push(`<text x="${px(left + pw / 2)}" y="${top + ph + 35}" text-anchor="middle" font-size="12" fill="#222">${escapeXml(f.xLabel)}</text>`);
  if (f.yLabel) out.push(`<text transform="translate(15 ${px(top + ph / 2)}) rotate(-90)" text-anchor="middle" font-size="12" fill="#222">${escapeXml(f.yLabel)}</text>`);
  f.notes.forEach((note, i) => {
    const Y = height - 8 - 14 * (f.notes.length - 1 - i);
    out.push(`<text x="${left}" y="${Y}" font-size="11" fill="#666">${escapeXml(note)}</text>`);
  });

  const swatch = (e: LegendEntry, x0: number, cy: number): string =>
    e.swatch === "box"
      ? `<rect x="${x0}" y="${cy - 5}" width="18" height="10" fill="${e.color}" fill-opacity="0.35" stroke="${e.color}" stroke-width="1.5"/>`
      : `<line x1="${x0}" y1="${cy}" x2="${x0 + 18}" y2="${cy}" stroke="${e.color}" stroke-width="2"${e.swatch === "dashed" ? ' stroke-dasharray="4 3"' : ""}/>`;
  if (bandRows.length > 0) {
    out.push(`<g font-size="12" fill="#222">`);
    bandRows.forEach((row, r) => {
      const rowWidth = row.reduce((a, i) => a + entryWidth(legendTexts[i]!), 0) - 12;
      let lx = Math.max(4, left + pw / 2 - rowWidth / 2);
      const cy = titleBand + 18 * r + 10;
      for (const i of row) {
        out.push(swatch(entries[i]!, lx, cy), `<text x="${px(lx + 24)}" y="${cy + 4}">${escapeXml(legendTexts[i]!)}</text>`);
        lx += entryWidth(legendTexts[i]!);
      }
    });
    out.push(`</g>`);
  } else if (entries.length > 0) {
    const w = Math.max(...legendTexts.map(entryWidth));
    const h = 18 * entries.length + 8;
    const lx = left + pw - w - 8;
    const ly = top + ph - h - 8;
    out.push(`<g font-size="12" fill="#222"><rect x="${lx}" y="${ly}" width="${w}" height="${h}" fill="#ffffff" fill-opacity="0.85" stroke="#cccccc"/>`);
    entries.forEach((e, i) => {
      const cy = ly + 4 + 18 * i + 9;
      out.push(swatch(e, lx + 8, cy), `<text x="${lx + 32}" y="${cy + 4}">${escapeXml(legendTexts[i]!)}</text>`);
    });
    out.push(`</g>`);
  }
  out.push(`</svg>`);
  return out.join("\n") + "\n";
}
