// node --import tsx scripts/recipe-table.ts RUN_DIR...
// One markdown row per evaluated run folder for docs/recipes.md: the config's model and optimiser
// settings that the search varies, the steps and minutes trained (metrics.jsonl), and the headline
// numbers of its eval.json (probe on the chosen layer, kNN, test bits/dim, best unsupervised OOD AUROC).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { readEvalReport } from "../src/eval/eval-report.ts";
import { isNotApplicable, OOD_SCORE_INFO } from "../src/eval/run-evaluation.ts";
import type { RunConfig } from "../src/train/run-config.ts";

for (const dir of process.argv.slice(2)) {
  const config = (JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as { config: RunConfig }).config;
  const trains = readFileSync(join(dir, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { kind: string; step: number; elapsed?: number }).filter((m) => m.kind === "train");
  const last = trains.at(-1);
  const e = readEvalReport(join(dir, "eval.json"));
  const m = config.model;
  const scale = config.augment.strong.scale;
  const what = `d ${m.d}, ${m.encoderLayers}+${m.decoderLayers} layers, batch ${config.train.batchSize}, lr ${config.optim.lr}, τ ${config.objective.tau}, α ${config.objective.alpha}, β ${config.objective.beta}, crop ${scale[0]}–${scale[1]}`;
  const probe = isNotApplicable(e.probe) ? "n/a" : `${(100 * e.probe.testAccuracy).toFixed(2)}% (layer ${e.probe.representationLayer})`;
  const knn = isNotApplicable(e.knn) ? "n/a" : `${(100 * e.knn.accuracy).toFixed(2)}%`;
  const bpd = isNotApplicable(e.likelihood) ? "n/a" : e.likelihood.testBitsPerDim.toFixed(4);
  let best = "n/a";
  if (!isNotApplicable(e.ood)) {
    const scores = e.ood.scores.filter((s) => !OOD_SCORE_INFO[s.name].supervised && !isNotApplicable(s.metrics));
    const top = scores.sort((a, b) => (b.metrics as { auroc: number }).auroc - (a.metrics as { auroc: number }).auroc)[0];
    if (top !== undefined) best = `${(top.metrics as { auroc: number }).auroc.toFixed(3)} (${top.name})`;
  }
  console.log(`| ${dir.split("/").at(-1)}: ${what} | ${last?.step ?? 0} | ${((last?.elapsed ?? 0) / 60).toFixed(1)} | ${probe} | ${knn} | ${bpd} | ${best} |`);
}
