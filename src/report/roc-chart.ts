// ROC curves (true positive rate against false positive rate) as a standalone SVG, with the chance
// diagonal TPR = FPR dashed and each curve's AUROC in the legend. The AUROC shown is the caller's, or
// else the trapezoidal area under the given points: Σ (fpr[i+1] − fpr[i])·(tpr[i+1] + tpr[i])/2.
import { type Series, checkSeriesList, chartSize, px, renderChart, seriesColor } from "./chart-frame.ts";
import { niceTicks } from "./chart-ticks.ts";

export interface RocCurve extends Series {
  /** False positive rates in [0, 1], monotone (non-decreasing or non-increasing). */
  fpr: ArrayLike<number>;
  /** True positive rates in [0, 1], same length. */
  tpr: ArrayLike<number>;
  /** Area under the curve to print; default: the trapezoidal area of the points. */
  auroc?: number;
}

export interface RocOptions {
  title?: string;
  /** Pixels (default 480 × 460). */
  width?: number;
  height?: number;
}

/** Trapezoidal area under the points (fpr monotone); in [0, 1] for a ROC curve. */
export function trapezoidArea(fpr: ArrayLike<number>, tpr: ArrayLike<number>): number {
  let area = 0;
  for (let i = 0; i + 1 < fpr.length; i++) area += ((fpr[i + 1]! - fpr[i]!) * (tpr[i + 1]! + tpr[i]!)) / 2;
  return Math.abs(area);
}

function checkCurve(caller: string, c: RocCurve, i: number): void {
  const name = `curve ${i} ('${c.label}')`;
  for (const key of ["fpr", "tpr"] as const) {
    const a = c[key];
    if (a === null || typeof a !== "object" || typeof a.length !== "number") throw new TypeError(`${caller}: ${name} ${key} must be an array of numbers`);
    for (let j = 0; j < a.length; j++) {
      const v = a[j]!;
      if (!(v >= 0 && v <= 1)) throw new RangeError(`${caller}: ${name} ${key}[${j}] must be a rate in [0, 1], got ${v}`);
    }
  }
  if (c.fpr.length !== c.tpr.length || c.fpr.length < 2) throw new RangeError(`${caller}: ${name} needs fpr and tpr of the same length >= 2, got ${c.fpr.length} and ${c.tpr.length}`);
  let up = false;
  let down = false;
  for (let j = 0; j + 1 < c.fpr.length; j++) {
    if (c.fpr[j + 1]! > c.fpr[j]!) up = true;
    if (c.fpr[j + 1]! < c.fpr[j]!) down = true;
  }
  if (up && down) throw new RangeError(`${caller}: ${name} fpr must be monotone (points in threshold order)`);
  if (c.auroc !== undefined && !(c.auroc >= 0 && c.auroc <= 1)) throw new RangeError(`${caller}: ${name} auroc must be in [0, 1], got ${c.auroc}`);
}

/** ROC curves on [0, 1]², diagonal reference, "label (AUROC 0.953)" legend in the lower right. */
export function rocSvg(curves: readonly RocCurve[], options: RocOptions = {}): string {
  const caller = "rocSvg";
  checkSeriesList(caller, curves);
  curves.forEach((c, i) => checkCurve(caller, c, i));
  const colors = curves.map((c, i) => seriesColor(caller, c, i));
  const ticks = niceTicks(0, 1, 5);
  return renderChart({
    caller,
    width: chartSize(caller, "width", options.width, 480),
    height: chartSize(caller, "height", options.height, 460),
    ...(options.title !== undefined ? { title: options.title } : {}),
    xLabel: "false positive rate",
    yLabel: "true positive rate",
    x: ticks,
    y: ticks,
    legend: [
      ...curves.map((c, i) => {
        const auroc = c.auroc ?? trapezoidArea(c.fpr, c.tpr);
        return { label: `${c.label ? `${c.label} ` : ""}(AUROC ${auroc.toFixed(3)})`, color: colors[i]!, swatch: "line" as const };
      }),
      { label: "chance", color: "#999999", swatch: "dashed" as const },
    ],
    legendPlace: "bottom-right",
    notes: [],
    body: (sx, sy) => {
      const diag = `<line x1="${px(sx(0))}" y1="${px(sy(0))}" x2="${px(sx(1))}" y2="${px(sy(1))}" stroke="#999999" stroke-width="1" stroke-dasharray="4 3"/>`;
      const lines = curves.map((c, i) => {
        const pts: string[] = [];
        for (let j = 0; j < c.fpr.length; j++) pts.push(`${px(sx(c.fpr[j]!))},${px(sy(c.tpr[j]!))}`);
        return `<polyline points="${pts.join(" ")}" fill="none" stroke="${colors[i]}" stroke-width="2" stroke-linejoin="round"/>`;
      });
      return [diag, ...lines].join("\n");
    },
  });
}
