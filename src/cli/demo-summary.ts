// The demo's closing lines: the headline numbers of its eval.json and where the report is.
import { join } from "node:path";
import { formatDuration } from "../train/progress.ts";
import { isNotApplicable } from "../eval/run-evaluation.ts";
import type { EvalReport } from "../eval/eval-report.ts";
import { textTable } from "../report/text-table.ts";

/** What the reference column needs to know about the run's data. */
export interface DemoSummaryData {
  /** Palette size K: a uniform guess over K colors costs log2(K) bits per pixel. */
  paletteK: number;
  /** Classes of the data (chance accuracy 1/classes); null when unknown. */
  classes: number | null;
}

/** The uniform guess over K palette colors in bits/dim: log2(K) (4.000 for K = 16). */
export function uniformBitsPerDim(paletteK: number): number {
  return Math.log2(paletteK);
}

export function demoSummary(r: EvalReport, out: string, seconds: number, data: DemoSummaryData): string {
  const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
  const chance = data.classes === null ? "" : `chance ${pct(1 / data.classes)}`;
  const rows: (string | number | null)[][] = [
    ["linear probe, test accuracy", isNotApplicable(r.probe) ? null : pct(r.probe.testAccuracy), "raw-pixel logistic regression: ~84% (literature)"],
    [`kNN (k ${r.settings.knnK}, T ${r.settings.knnTemperature}), test accuracy`, isNotApplicable(r.knn) ? null : pct(r.knn.accuracy), chance],
    ["test NLL, bits/dim (palette)", isNotApplicable(r.likelihood) ? null : r.likelihood.testBitsPerDim.toFixed(3), `uniform guess over K=${data.paletteK}: ${uniformBitsPerDim(data.paletteK).toFixed(3)}`],
  ];
  if (Array.isArray(r.fid)) for (const f of r.fid) rows.push([`FID (${f.network}, ${f.samples} samples)`, f.fid.toFixed(2), `real train vs test: ${f.fidTrainVsTest.toFixed(2)}`]);
  if (!isNotApplicable(r.ood)) {
    for (const s of r.ood.scores) rows.push([`OOD AUROC, ${s.name}`, isNotApplicable(s.metrics) ? null : s.metrics.auroc.toFixed(3), s.supervised ? "supervised" : "unsupervised"]);
  }
  return [
    `gcrl demo: done in ${formatDuration(seconds)}. Headline numbers (${r.run.dataset}${isNotApplicable(r.ood) ? "" : ` vs ${r.ood.outDataset.split(" (")[0]} as OOD`}):`,
    textTable(["metric", "value", "for reference"], rows),
    "",
    `report: ${join(out, "report.html")} (and report.md); every number: ${join(out, "eval.json")}`,
    `compare with iGPT and SimCLR: gcrl study --minutes 30 --out studies/fmnist`,
  ].join("\n");
}
