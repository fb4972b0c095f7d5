// What `gcrl eval <subcommand>` prints: each stage's numbers as plain-text tables on stdout, with
// the settings that produced them (progress and timings go to stderr).
import { join } from "node:path";
import { writeSvgPng } from "../report/svg-png.ts";
import { histogramSvg } from "../report/chart-svg.ts";
import { evaluateAll, writeOodFigures } from "../report/eval-all.ts";
import { isNotApplicable, mean, quantiles, type RunEvaluation } from "../eval/run-evaluation.ts";
import { textTable } from "../report/text-table.ts";
import { l2GridEdgeNote } from "../eval/linear-probe.ts";

const pct = (x: number): string => `${(100 * x).toFixed(2)}%`;

export interface PrintOptions {
  /** `eval likelihood --ood NAME`: also score that dataset (RunEvaluation's "ood" split). */
  scoreOtherData?: boolean;
}

export async function printEvaluation(ev: RunEvaluation, subcommand: string, figureDir: string, options: PrintOptions = {}): Promise<void> {
  switch (subcommand) {
    case "probe": {
      const p = await ev.probe();
      if (p.layers !== null) {
        console.log(`layer sweep: a linear probe on every encoder layer's r(x); the layer is chosen on validation accuracy only`);
        console.log(textTable(["layer", "validation", "train", "test", "L2"], p.layers.map((l) => [`${l.layer}${l.layer === p.representationLayer ? " (chosen)" : ""}`, pct(l.validationAccuracy), pct(l.trainAccuracy), pct(l.testAccuracy), String(l.l2)])));
      }
      console.log(`linear probe on r(x) (${p.layerSelection}; ${p.featureDim} dims, standardised), ${p.trainImages} training / ${p.testImages} test images`);
      console.log(textTable(["L2", "validation", "train"], p.grid.map((g) => [String(g.l2), pct(g.validationAccuracy), pct(g.trainAccuracy)])));
      console.log(`chosen L2 ${p.l2} (on ${pct(ev.settings.probeValidationFraction)} of the training features${l2GridEdgeNote(p.grid, p.l2)}), refit on all:`);
      console.log(`train ${pct(p.trainAccuracy)}  validation ${pct(p.validationAccuracy)}  test ${pct(p.testAccuracy)}`);
      return;
    }
    case "knn": {
      const k = await ev.knn();
      console.log(`kNN: cosine, k = ${k.k}, temperature ${k.temperature}, ${k.trainImages} training images: test accuracy ${pct(k.accuracy)} (${k.testImages} images)`);
      return;
    }
    case "likelihood": {
      const l = await ev.likelihood();
      if (isNotApplicable(l)) {
        console.log(`likelihood: n/a (${l.na})`);
        return;
      }
      const series = [{ label: "test images", values: await ev.bitsPerDim("test"), color: "#1f77b4" }];
      console.log(`test NLL ${l.testBitsPerDim.toFixed(4)} bits/dim (palette space, ${l.testImages} images; 5/50/95% quantiles ${l.testQuantiles.map((v) => v.toFixed(3)).join(" / ")})`);
      console.log(`training images: ${l.trainBitsPerDim.toFixed(4)} bits/dim (first ${l.trainImages})`);
      if (options.scoreOtherData) {
        const other = await ev.split("ood");
        const bits = await ev.bitsPerDim("ood");
        const q = quantiles(bits, [0.05, 0.5, 0.95]).map((v) => v.toFixed(3));
        console.log(`${other.set.source}: ${mean(bits).toFixed(4)} bits/dim (${bits.length} images; 5/50/95% quantiles ${q.join(" / ")})`);
        series.push({ label: other.set.source.split(" (")[0]!, values: bits, color: "#d62728" });
      }
      const path = join(figureDir, options.scoreOtherData ? "bits-per-dim-compared.png" : "bits-per-dim.png");
      await writeSvgPng(path, histogramSvg(series, { title: "NLL per image (bits/dim, palette space)", xLabel: "bits/dim", density: options.scoreOtherData === true }));
      console.log(`histogram: ${path}`);
      return;
    }
    case "fid": {
      const f = await ev.fid();
      if (isNotApplicable(f)) {
        console.log(`FID: n/a (${f.na})`);
        return;
      }
      console.log(
        textTable(
          ["features", "samples", "FID", "FID train vs test", "KID", "KID train vs test"],
          f.map((r) => [r.networkInfo, r.samples, r.fid.toFixed(3), r.fidTrainVsTest.toFixed(3), `${r.kid.mean.toExponential(3)} ± ${r.kid.std.toExponential(2)}`, `${r.kidTrainVsTest.mean.toExponential(3)} ± ${r.kidTrainVsTest.std.toExponential(2)}`]),
        ),
      );
      console.log("(palette space; 'train vs test' = real training vs test images at the same count: the floor at this sample size)");
      return;
    }
    case "ood": {
      const o = await ev.ood();
      const figures = await writeOodFigures(o, figureDir);
      console.log(`OOD detection: in ${o.inDataset} (${o.nIn}), out ${o.outDataset} (${o.nOut}); higher score = more OOD, OOD positive`);
      console.log(
        textTable(
          ["score", "kind", "AUROC", "AUPR-IN", "AUPR-OUT", "FPR@95TPR"],
          o.results.map((x) =>
            isNotApplicable(x.metrics)
              ? [x.name, x.supervised ? "supervised" : "unsupervised", null, null, null, null]
              : [x.name, x.supervised ? "supervised" : "unsupervised", x.metrics.auroc.toFixed(4), x.metrics.auprIn.toFixed(4), x.metrics.auprOut.toFixed(4), x.metrics.fpr95.toFixed(4)],
          ),
        ),
      );
      console.log(`figures: ${[...figures.roc, ...figures.histograms.values()].join(", ")}`);
      return;
    }
    case "all": {
      const r = await evaluateAll(ev);
      const dir = ev.run.dir;
      const fid = Array.isArray(r.fid) ? r.fid[0] : undefined;
      const rows: (string | number | null)[][] = [
        ["linear probe (test)", isNotApplicable(r.probe) ? null : pct(r.probe.testAccuracy)],
        [`kNN (k ${ev.settings.knnK}, T ${ev.settings.knnTemperature})`, isNotApplicable(r.knn) ? null : pct(r.knn.accuracy)],
        ["test bits/dim", isNotApplicable(r.likelihood) ? null : r.likelihood.testBitsPerDim.toFixed(4)],
        [`FID (${fid ? `${fid.network}, ${fid.samples} samples` : "n/a"})`, fid ? fid.fid.toFixed(3) : null],
        ...(isNotApplicable(r.ood) ? [] : r.ood.scores.map((x) => [`OOD AUROC ${x.name}`, isNotApplicable(x.metrics) ? null : x.metrics.auroc.toFixed(4)])),
      ];
      console.log(textTable(["metric", "value"], rows));
      console.log(`report: ${join(dir, "report.md")} and ${join(dir, "report.html")}; numbers: ${join(dir, "eval.json")}`);
      return;
    }
  }
}
