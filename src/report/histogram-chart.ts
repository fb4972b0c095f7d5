// Histograms of one or more series on shared bin edges, as a standalone SVG (e.g. OOD scores of
// in-distribution vs out-of-distribution test images).
//
// Binning follows numpy.histogram: `bins` equal-width bins from the smallest to the largest finite
// value over all series (or `range`), edges[i] = lo + i·(hi − lo)/bins, every bin half-open
// [edges[i], edges[i+1]) except the last, which also holds hi. lo = hi widens to [lo − 0.5, hi + 0.5].
// With density (the default) each series is divided by (its count in range × bin width), so its bars
// integrate to 1 and series of different sizes compare; otherwise the bars are raw counts.
// Non-finite values are skipped and counted in a note under the plot, as are values outside `range`.
import { type Series, checkSeriesList, chartSize, px, renderChart, seriesColor, skippedNote } from "./chart-frame.ts";
import { niceTicks } from "./chart-ticks.ts";

export interface HistogramSeries extends Series {
  values: ArrayLike<number>;
}

export interface HistogramOptions {
  /** Number of equal-width bins (default 40). */
  bins?: number;
  title?: string;
  xLabel?: string;
  /** Pixels (default 640 × 400). */
  width?: number;
  height?: number;
  /** Normalise each series to unit area (default true). */
  density?: boolean;
  /** Bin range [lo, hi] (default: the finite values' min and max over all series). */
  range?: readonly [number, number];
}

export interface HistogramBins {
  /** bins + 1 increasing edges. */
  edges: Float64Array;
  /** counts[s][b]: how many finite values of series s fall in bin b. */
  counts: Float64Array[];
  /** Non-finite values per series (not binned). */
  nonFinite: number[];
  /** Finite values outside `range` per series (not binned; always 0 without a range). */
  outside: number[];
}

/** numpy.histogram-compatible counts of several series on shared edges. */
export function histogramBins(series: readonly ArrayLike<number>[], bins = 40, range?: readonly [number, number]): HistogramBins {
  if (!Number.isInteger(bins) || bins < 1 || bins > 100_000) throw new RangeError(`histogramBins: bins must be an integer in [1, 100000], got ${bins}`);
  let lo = Infinity;
  let hi = -Infinity;
  if (range !== undefined) {
    [lo, hi] = range;
    if (!Number.isFinite(lo) || !Number.isFinite(hi) || lo > hi) throw new RangeError(`histogramBins: range must be finite [lo, hi] with lo <= hi, got [${lo}, ${hi}]`);
  } else {
    for (const values of series) {
      for (let i = 0; i < values.length; i++) {
        const v = values[i]!;
        if (Number.isFinite(v)) {
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
      }
    }
    if (lo > hi) throw new RangeError("histogramBins: no finite values to bin");
  }
  if (lo === hi) {
    lo -= 0.5;
    hi += 0.5;
  }
  const step = (hi - lo) / bins;
  const edges = new Float64Array(bins + 1);
  for (let i = 0; i < bins; i++) edges[i] = lo + i * step;
  edges[bins] = hi;
  const nonFinite: number[] = [];
  const outside: number[] = [];
  const counts = series.map((values) => {
    const c = new Float64Array(bins);
    let bad = 0;
    let out = 0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (!Number.isFinite(v)) bad++;
      else if (v < lo || v > hi) out++;
      else {
        // first guess from the arithmetic, then fixed up against the edges themselves (as numpy does)
        let b = Math.min(Math.floor(((v - lo) / (hi - lo)) * bins), bins - 1);
        if (v < edges[b]!) b--;
        else if (b < bins - 1 && v >= edges[b + 1]!) b++;
        c[b]!++;
      }
    }
    nonFinite.push(bad);
    outside.push(out);
    return c;
  });
  return { edges, counts, nonFinite, outside };
}

/** numpy's density=True: counts / (total count × bin width), so the bars integrate to 1 (all 0 if empty). */
export function histogramDensity(counts: ArrayLike<number>, edges: ArrayLike<number>): Float64Array {
  if (edges.length !== counts.length + 1) throw new RangeError(`histogramDensity: expected ${counts.length + 1} edges for ${counts.length} bins, got ${edges.length}`);
  let n = 0;
  for (let b = 0; b < counts.length; b++) n += counts[b]!;
  const out = new Float64Array(counts.length);
  if (n > 0) for (let b = 0; b < counts.length; b++) out[b] = counts[b]! / (edges[b + 1]! - edges[b]!) / n; // numpy: n / diff(edges) / n.sum()
  return out;
}

/** Overlaid step histograms (translucent fill) of the series, with a legend. */
export function histogramSvg(series: readonly HistogramSeries[], options: HistogramOptions = {}): string {
  const caller = "histogramSvg";
  checkSeriesList(caller, series);
  series.forEach((s, i) => {
    if (s.values === null || typeof s.values !== "object" || typeof s.values.length !== "number") throw new TypeError(`${caller}: series ${i} ('${s.label}') values must be an array of numbers`);
  });
  const width = chartSize(caller, "width", options.width, 640);
  const height = chartSize(caller, "height", options.height, 400);
  const density = options.density ?? true;
  const colors = series.map((s, i) => seriesColor(caller, s, i));
  let h: HistogramBins;
  try {
    h = histogramBins(series.map((s) => s.values), options.bins ?? 40, options.range);
  } catch (err) {
    throw new RangeError(`${caller}: ${(err as Error).message.replace(/^histogramBins: /, "")}`);
  }
  const bins = h.edges.length - 1;
  const heights = h.counts.map((c) => (density ? histogramDensity(c, h.edges) : c));
  const yMax = Math.max(...heights.map((hs) => Math.max(...hs)));
  const x = niceTicks(h.edges[0]!, h.edges[bins]!, 6);
  const y = niceTicks(0, yMax > 0 ? yMax : 1, 5);
  const labels = series.map((s) => s.label);
  const notes = [skippedNote("non-finite", h.nonFinite, labels), skippedNote("out-of-range", h.outside, labels)].filter((n): n is string => n !== null);
  series.forEach((s, i) => {
    if (h.counts[i]!.every((c) => c === 0)) notes.push(`${s.label || `series ${i}`}: no values to plot`);
  });
  return renderChart({
    caller,
    width,
    height,
    ...(options.title !== undefined ? { title: options.title } : {}),
    ...(options.xLabel !== undefined ? { xLabel: options.xLabel } : {}),
    yLabel: density ? "density" : "count",
    x,
    y,
    legend: series.map((s, i) => ({ label: s.label, color: colors[i]!, swatch: "box" as const })),
    legendPlace: "above",
    notes,
    body: (sx, sy) =>
      heights
        .map((hs, i) => {
          // step outline: up and across each bin, closed along the baseline
          const pts: string[] = [`M${px(sx(h.edges[0]!))} ${px(sy(0))}`];
          for (let b = 0; b < bins; b++) pts.push(`L${px(sx(h.edges[b]!))} ${px(sy(hs[b]!))}`, `L${px(sx(h.edges[b + 1]!))} ${px(sy(hs[b]!))}`);
          pts.push(`L${px(sx(h.edges[bins]!))} ${px(sy(0))}Z`);
          return `<path d="${pts.join("")}" fill="${colors[i]}" fill-opacity="0.25" stroke="${colors[i]}" stroke-width="1.5" stroke-linejoin="miter"/>`;
        })
        .join("\n"),
  });
}
