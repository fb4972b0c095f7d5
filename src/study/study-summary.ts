// The plain-text table `gcrl study` prints at the end (the same numbers as study.md).
import { textTable } from "../report/text-table.ts";
import { OOD_SCORES, type StudyReport } from "./study-report.ts";

const minutesOf = (seconds: number | null): string | null => (seconds === null ? null : (seconds / 60).toFixed(1));

export function printStudySummary(report: StudyReport): string {
  const pct = (x: number | null): string | null => (x === null ? null : `${(100 * x).toFixed(2)}%`);
  const fixed = (x: number | null, digits: number): string | null => (x === null ? null : x.toFixed(digits));
  const table = textTable(
    ["run", "steps", "train min", "eval min", "probe", "kNN", "bits/dim", "FID", ...OOD_SCORES.map((s) => `AUROC ${s}`)],
    report.rows.map((r) => [
      r.id, r.steps, minutesOf(r.trainSeconds), minutesOf(r.evalSeconds),
      pct(r.probe), pct(r.knn), fixed(r.bitsPerDim, 4), fixed(r.fid, 2), ...OOD_SCORES.map((s) => fixed(r.auroc[s], 3)),
    ]),
  );
  return `study on ${report.data} (OOD: ${report.ood ?? "none"}), ${report.budget}; machine: ${report.machine}\n${table}`;
}
