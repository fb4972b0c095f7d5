// The bf16 training-curve check of issue 17: two runs of the same config and seed, one per
// precision (`gcrl train --config configs/demo.json --steps 500 --seed 0 --precision fp32|bf16`),
// read from their metrics.jsonl; writes both loss curves into one SVG chart and prints the final
// losses and their relative difference (target: within 2%).
// Usage: node --import tsx bench/precision-curves.ts FP32_RUN_DIR BF16_RUN_DIR OUT.svg
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { lineChartSvg } from "../src/report/line-chart.ts";

interface TrainRecord {
  kind: string;
  step: number;
  loss: number;
}

/** The logged training losses of a run, in step order. */
function losses(dir: string): TrainRecord[] {
  return readFileSync(join(dir, "metrics.jsonl"), "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as TrainRecord)
    .filter((r) => r.kind === "train" && Number.isFinite(r.loss));
}

const [fp32Dir, bf16Dir, out] = process.argv.slice(2);
if (fp32Dir === undefined || bf16Dir === undefined || out === undefined) {
  console.error("usage: node --import tsx bench/precision-curves.ts FP32_RUN_DIR BF16_RUN_DIR OUT.svg");
  process.exit(2);
}
const a = losses(fp32Dir);
const b = losses(bf16Dir);
const last = (rs: TrainRecord[], n: number): number => rs.slice(-n).reduce((s, r) => s + r.loss, 0) / Math.min(n, rs.length);
const svg = lineChartSvg(
  [
    { label: "fp32", x: a.map((r) => r.step), y: a.map((r) => r.loss), color: "#1f77b4" },
    { label: "bf16 mixed precision", x: b.map((r) => r.step), y: b.map((r) => r.loss), color: "#d62728" },
  ],
  { title: "configs/demo.json, seed 0: training loss (mean over each 10 steps)", xLabel: "step", yLabel: "loss" },
);
writeFileSync(out, svg);
const fa = a[a.length - 1]!;
const fb = b[b.length - 1]!;
console.log(`final logged loss (step ${fa.step} / ${fb.step}): fp32 ${fa.loss.toFixed(4)}, bf16 ${fb.loss.toFixed(4)}, relative difference ${((100 * Math.abs(fb.loss - fa.loss)) / fa.loss).toFixed(2)}%`);
const [ma, mb] = [last(a, 5), last(b, 5)];
console.log(`mean of the last 5 logged losses: fp32 ${ma.toFixed(4)}, bf16 ${mb.toFixed(4)}, relative difference ${((100 * Math.abs(mb - ma)) / ma).toFixed(2)}%`);
console.log(`wrote ${out}`);
