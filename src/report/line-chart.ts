// Line charts (training curves: loss or bits/dim against step) as a standalone SVG.
//
// Points with a non-finite x or y (and y <= 0 on a log axis) are skipped and counted in a note; the
// line is broken there rather than bridged. Long series are thinned per pixel column: consecutive
// points that land in the same column keep only their first, lowest, highest and last point (in
// their original order), which draws the same picture with at most ~4 points per column.
import { type Series, checkSeriesList, chartSize, px, renderChart, seriesColor, skippedNote } from "./chart-frame.ts";
import { logTicks, niceTicks } from "./chart-ticks.ts";

export interface LineSeries extends Series {
  x: ArrayLike<number>;
  y: ArrayLike<number>;
}

export interface LineChartOptions {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  /** Logarithmic y axis (base 10); y <= 0 is skipped. */
  logY?: boolean;
  /** Pixels (default 640 × 360). */
  width?: number;
  height?: number;
}

/** Indices of the points to draw after per-column thinning (columns from `column(i)`). */
export function thinPerColumn(n: number, column: (i: number) => number, y: (i: number) => number): number[] {
  const keep: number[] = [];
  let i = 0;
  while (i < n) {
    const col = column(i);
    let j = i;
    let lo = i;
    let hi = i;
    while (j + 1 < n && column(j + 1) === col) {
      j++;
      if (y(j) < y(lo)) lo = j;
      if (y(j) > y(hi)) hi = j;
    }
    for (const k of [...new Set([i, lo, hi, j])].sort((a, b) => a - b)) keep.push(k);
    i = j + 1;
  }
  return keep;
}

/** One polyline per series (broken at skipped points), legend in the upper right. */
export function lineChartSvg(series: readonly LineSeries[], options: LineChartOptions = {}): string {
  const caller = "lineChartSvg";
  checkSeriesList(caller, series);
  const logY = options.logY ?? false;
  const colors = series.map((s, i) => seriesColor(caller, s, i));
  const nonFinite: number[] = [];
  const nonPositive: number[] = [];
  // usable[s][i]: point i of series s is drawn
  const usable = series.map((s, i) => {
    for (const key of ["x", "y"] as const) {
      const a = s[key];
      if (a === null || typeof a !== "object" || typeof a.length !== "number") throw new TypeError(`${caller}: series ${i} ('${s.label}') ${key} must be an array of numbers`);
    }
    if (s.x.length !== s.y.length) throw new RangeError(`${caller}: series ${i} ('${s.label}') has ${s.x.length} x values but ${s.y.length} y values`);
    const ok = new Uint8Array(s.x.length);
    let bad = 0;
    let neg = 0;
    for (let j = 0; j < s.x.length; j++) {
      if (!Number.isFinite(s.x[j]!) || !Number.isFinite(s.y[j]!)) bad++;
      else if (logY && !(s.y[j]! > 0)) neg++;
      else ok[j] = 1;
    }
    nonFinite.push(bad);
    nonPositive.push(neg);
    return ok;
  });
  let xLo = Infinity;
  let xHi = -Infinity;
  let yLo = Infinity;
  let yHi = -Infinity;
  series.forEach((s, i) => {
    for (let j = 0; j < s.x.length; j++) {
      if (!usable[i]![j]) continue;
      xLo = Math.min(xLo, s.x[j]!);
      xHi = Math.max(xHi, s.x[j]!);
      yLo = Math.min(yLo, s.y[j]!);
      yHi = Math.max(yHi, s.y[j]!);
    }
  });
  if (xLo > xHi) throw new RangeError(`${caller}: no finite${logY ? ", positive" : ""} points to plot`);
  const x = niceTicks(xLo, xHi, 6);
  const y = logY ? logTicks(yLo, yHi) : niceTicks(yLo, yHi, 5);
  const labels = series.map((s) => s.label);
  const notes = [skippedNote("non-finite", nonFinite, labels), skippedNote("non-positive (log scale)", nonPositive, labels)].filter((n): n is string => n !== null);
  return renderChart({
    caller,
    width: chartSize(caller, "width", options.width, 640),
    height: chartSize(caller, "height", options.height, 360),
    ...(options.title !== undefined ? { title: options.title } : {}),
    ...(options.xLabel !== undefined ? { xLabel: options.xLabel } : {}),
    ...(options.yLabel !== undefined ? { yLabel: options.yLabel } : {}),
    x,
    y,
    legend: series.map((s, i) => ({ label: s.label, color: colors[i]!, swatch: "line" as const })),
    legendPlace: "above",
    notes,
    body: (sx, sy) =>
      series
        .map((s, i) => {
          const ok = usable[i]!;
          const parts: string[] = [];
          let j = 0;
          while (j < s.x.length) {
            if (!ok[j]) {
              j++;
              continue;
            }
            let end = j; // a run of drawable points [j, end]
            while (end + 1 < s.x.length && ok[end + 1]) end++;
            const n = end - j + 1;
            const keep = thinPerColumn(n, (k) => Math.round(sx(s.x[j + k]!)), (k) => -sy(s.y[j + k]!));
            const pts = keep.map((k) => `${px(sx(s.x[j + k]!))} ${px(sy(s.y[j + k]!))}`);
            // a single point is drawn as a dot (zero-length segment with a round cap)
            parts.push(pts.length === 1 ? `M${pts[0]}h0.01` : `M${pts.join("L")}`);
            j = end + 1;
          }
          return `<path d="${parts.join("")}" fill="none" stroke="${colors[i]}" stroke-width="1.8" stroke-linejoin="round" stroke-linecap="round"/>`;
        })
        .join("\n"),
  });
}
