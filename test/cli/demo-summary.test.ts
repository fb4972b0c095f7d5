// The demo's closing table: its reference column follows the run's data — the uniform guess is
// log2(K) bits/dim for the palette's K (not a fixed 4.000), chance accuracy is 1/classes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { demoSummary, uniformBitsPerDim } from "../../src/cli/demo-summary.ts";
import type { EvalReport } from "../../src/eval/eval-report.ts";

/** An eval.json with a test NLL and every other section n/a: only what demoSummary reads. */
function report(): EvalReport {
  const na = { na: "not run in this test" };
  return {
    run: { dir: "runs/x", mode: "gcrl", step: 10, dataset: "fashion-mnist", model: "GCRLModel", parameters: 1 },
    settings: { knnK: 20, knnTemperature: 0.07 },
    probe: na, knn: na, fid: na, ood: na,
    likelihood: { testBitsPerDim: 2.5 },
  } as unknown as EvalReport;
}

/** The reference cell of the bits/dim row. */
function uniformCell(text: string): string {
  const row = text.split("\n").find((l) => l.startsWith("test NLL, bits/dim"));
  assert.ok(row !== undefined, text);
  return row.split(/ {2,}/).at(-1)!;
}

test("uniform guess: log2(K) of the run's palette", () => {
  assert.deepEqual([2, 8, 16, 512].map(uniformBitsPerDim), [1, 3, 4, 9]);
  assert.equal(uniformCell(demoSummary(report(), "runs/x", 1, { paletteK: 8, classes: 10 })), "uniform guess over K=8: 3.000");
  assert.equal(uniformCell(demoSummary(report(), "runs/x", 1, { paletteK: 16, classes: 10 })), "uniform guess over K=16: 4.000");
  assert.equal(uniformCell(demoSummary(report(), "runs/x", 1, { paletteK: 12, classes: 10 })), `uniform guess over K=12: ${Math.log2(12).toFixed(3)}`);
});

test("kNN chance: 1/classes, or nothing when the class count is unknown", () => {
  const knnRow = (text: string): string => text.split("\n").find((l) => l.startsWith("kNN"))!;
  assert.match(knnRow(demoSummary(report(), "runs/x", 1, { paletteK: 16, classes: 10 })), /chance 10\.0%$/);
  assert.match(knnRow(demoSummary(report(), "runs/x", 1, { paletteK: 16, classes: 4 })), /chance 25\.0%$/);
  assert.doesNotMatch(knnRow(demoSummary(report(), "runs/x", 1, { paletteK: 16, classes: null })), /chance/);
});
