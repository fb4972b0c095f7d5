// `gcrl eval all`: runs every stage of RunEvaluation and writes, into the run folder,
//
//   eval.json     every number and the settings that produced it (eval/eval-report.ts)
//   report.md     the same as readable tables and figures; report.html is the same document
//   eval/*.png    sample grid, completions, bits/dim histogram, OOD histograms, ROC curves,
//                 training curves from metrics.jsonl
//
// Stages that cannot apply (a simclr run has no decoder, a dataset without labels has no probe)
// are recorded as { na: reason } and shown as n/a, never left out silently. eval.json's shape and
// reading are eval/eval-report.ts; this file runs the stages and composes the figures and document.
import { join, relative } from "node:path";
import { mkdirSync } from "node:fs";
import { Tensor, tidy } from "../torch/index.ts";
import { writeFileAtomic } from "../util/atomic-file.ts";
import { formatJson } from "../util/format-json.ts";
import { acquireRunLock } from "../train/run-lock.ts";
import { completionGridRows } from "../eval/sampling.ts";
import { l2GridEdgeNote } from "../eval/linear-probe.ts";
import { EVAL_FORMAT, EVAL_VERSION, type EvalReport, type OodSummary } from "../eval/eval-report.ts";
import { imageGrid } from "./grid.ts";
import { writePng } from "./png.ts";
import { histogramSvg, lineChartSvg, rocSvg } from "./chart-svg.ts";
import { writeSvgPng } from "./svg-png.ts";
import { writeReport, type Block, type ReportDocument } from "./document.ts";
import {
  OOD_SCORE_INFO,
  NotApplicableError,
  isNotApplicable,
  type NotApplicable,
  type OodScoreName,
  type OodScores,
  type RunEvaluation,
  type LayerProbe,
} from "../eval/run-evaluation.ts";

/** Literature points for Fashion-MNIST (in) vs MNIST (out), GCRL.md section 4: context, not our measurements. */
export const FASHION_MNIST_VS_MNIST_REFERENCES: readonly { method: string; auroc: string; source: string }[] = Object.freeze([
  { method: "PixelCNN++ likelihood", auroc: "0.08–0.10", source: "Ren et al. 2019; Nalisnick et al. 2019" },
  { method: "Mahalanobis, supervised CNN", auroc: "0.94", source: "Ren et al. 2019 (Lee et al. 2018)" },
  { method: "likelihood ratio (PixelCNN++)", auroc: "0.99", source: "Ren et al. 2019" },
  { method: "input complexity (PixelCNN++)", auroc: "0.97", source: "Serrà et al. 2020" },
]);

/** Runs the stage, records its time, and turns an "n/a" outcome or a thrown error into { na }. */
async function stage<T>(name: string, seconds: Record<string, number>, log: (s: string) => void, f: () => Promise<T | NotApplicable>): Promise<T | NotApplicable> {
  const started = performance.now();
  try {
    const out = await f();
    if (isNotApplicable(out)) log(`${name}: n/a (${out.na})`);
    return out;
  } catch (err) {
    if (!(err instanceof NotApplicableError)) throw err;
    log(`${name}: n/a (${err.message})`);
    return { na: err.message };
  } finally {
    seconds[name] = Math.round((performance.now() - started) / 100) / 10;
  }
}

/** The layer sweep as a chart: validation and test accuracy of the linear probe per encoder layer. */
export function probeLayersSvg(layers: readonly LayerProbe[]): string {
  const x = layers.map((l) => l.layer);
  return lineChartSvg(
    [
      { label: "validation (chooses the layer)", x, y: layers.map((l) => l.validationAccuracy), color: "#1f77b4" },
      { label: "test", x, y: layers.map((l) => l.testAccuracy), color: "#d62728" },
    ],
    { title: "Linear probe accuracy per encoder layer", xLabel: x.every(Number.isInteger) ? "encoder layer" : "encoder layer (l − ½: its row block)", yLabel: "accuracy" },
  );
}

/** Writes the OOD histograms (one per computed score) and the ROC curves into dir; returns their paths. */
export async function writeOodFigures(ood: OodScores, dir: string): Promise<{ histograms: Map<OodScoreName, string>; roc: string[] }> {
  mkdirSync(dir, { recursive: true });
  const histograms = new Map<OodScoreName, string>();
  // Short names unless they coincide (the OOD set is the same dataset from another folder): then in full.
  const same = shortName(ood.inDataset) === shortName(ood.outDataset);
  const inLabel = `in: ${same ? ood.inDataset : shortName(ood.inDataset)}`;
  const outLabel = `out: ${same ? ood.outDataset : shortName(ood.outDataset)}`;
  for (const [name, s] of ood.raw) {
    const path = join(dir, `ood-hist-${name}.png`);
    const svg = histogramSvg(
      [
        { label: inLabel, values: s.inScores, color: "#1f77b4" },
        { label: outLabel, values: s.outScores, color: "#d62728" },
      ],
      { title: `${name}: ${OOD_SCORE_INFO[name].description}`, xLabel: "score (higher = more OOD)" },
    );
    await writeSvgPng(path, svg);
    histograms.set(name, path);
  }
  const roc: string[] = [];
  for (const supervised of [false, true]) {
    const curves = [...ood.raw].filter(([name]) => OOD_SCORE_INFO[name].supervised === supervised);
    if (curves.length === 0) continue;
    const path = join(dir, `roc-${supervised ? "supervised" : "unsupervised"}.png`);
    const results = new Map(ood.results.map((r) => [r.name, r.metrics]));
    const svg = rocSvg(
      curves.map(([name, s]) => {
        const m = results.get(name);
        return { label: name, fpr: s.roc.fpr, tpr: s.roc.tpr, ...(m && !isNotApplicable(m) ? { auroc: m.auroc } : {}) };
      }),
      { title: `ROC of the ${supervised ? "supervised" : "unsupervised"} scores` },
    );
    await writeSvgPng(path, svg);
    roc.push(path);
  }
  return { histograms, roc };
}

/** Training curves (losses, test bits/dim, kNN accuracy) from metrics.jsonl; null when it holds nothing. */
export async function writeTrainingCurves(ev: RunEvaluation, dir: string): Promise<string[]> {
  const train = ev.run.metrics.filter((m) => m.kind === "train");
  const evals = ev.run.metrics.filter((m) => m.kind === "eval");
  const series = (records: typeof train, key: string) => {
    const x: number[] = [];
    const y: number[] = [];
    for (const r of records) {
      const v = r[key];
      if (typeof v === "number" && Number.isFinite(v)) {
        x.push(r.step);
        y.push(v);
      }
    }
    return { x, y };
  };
  const out: string[] = [];
  const losses = [
    { label: "generative (bits/dim)", ...series(train, "generativeBitsPerDim"), color: "#1f77b4" },
    { label: "contrastive (nats)", ...series(train, "contrastive"), color: "#d62728" },
    { label: "test bits/dim", ...series(evals, "testBitsPerDim"), color: "#2ca02c" },
  ].filter((s) => s.x.length > 0);
  if (losses.length > 0) {
    const path = join(dir, "training-losses.png");
    await writeSvgPng(path, lineChartSvg(losses, { title: "Training losses", xLabel: "step", yLabel: "loss" }));
    out.push(path);
  }
  const knn = series(evals, "knnAccuracy");
  if (knn.x.length > 0) {
    const path = join(dir, "training-knn.png");
    await writeSvgPng(path, lineChartSvg([{ label: "kNN accuracy (eval images)", ...knn, color: "#9467bd" }], { title: "kNN accuracy during training", xLabel: "step", yLabel: "accuracy" }));
    out.push(path);
  }
  return out;
}

/**
 * `gcrl eval all`: every stage, then eval.json, report.md, report.html and eval/*.png in the run
 * folder — under the run folder's lock (run-lock.ts), so it never writes into a run that a trainer
 * or another evaluation is writing; a held lock is refused naming its holder.
 */
export async function evaluateAll(ev: RunEvaluation): Promise<EvalReport> {
  const lock = acquireRunLock(ev.run.dir, "gcrl eval all");
  try {
    return await evaluateAllLocked(ev);
  } finally {
    lock.release();
  }
}

async function evaluateAllLocked(ev: RunEvaluation): Promise<EvalReport> {
  const runDir = ev.run.dir;
  const figDir = join(runDir, "eval");
  mkdirSync(figDir, { recursive: true });
  const seconds: Record<string, number> = {};
  const figures: string[] = [];
  const rel = (p: string): string => relative(runDir, p);
  const log = ev.log;
  const s = ev.settings;

  let layerChart: string | null = null;
  const probe = await stage("probe", seconds, log, async () => {
    const r = await ev.probe();
    log(`linear probe (${r.layerSelection}): test ${pct(r.testAccuracy)} (train ${pct(r.trainAccuracy)}, validation ${pct(r.validationAccuracy)}), L2 ${r.l2}`);
    if (r.layers !== null) {
      layerChart = join(figDir, "probe-layers.png");
      await writeSvgPng(layerChart, probeLayersSvg(r.layers));
      figures.push(rel(layerChart));
    }
    return r;
  });
  const knn = await stage("knn", seconds, log, async () => {
    const r = await ev.knn();
    log(`kNN (k ${r.k}, T ${r.temperature}, cosine): ${pct(r.accuracy)}`);
    return r;
  });
  const likelihood = await stage("likelihood", seconds, log, async () => {
    const r = await ev.likelihood();
    if (!isNotApplicable(r)) {
      log(`likelihood: test ${r.testBitsPerDim.toFixed(4)} bits/dim, train ${r.trainBitsPerDim.toFixed(4)} bits/dim`);
      const path = join(figDir, "bits-per-dim.png");
      const svg = histogramSvg([{ label: "test images", values: await ev.bitsPerDim("test"), color: "#1f77b4" }], {
        title: "NLL of the test images (bits/dim, palette space)",
        xLabel: "bits/dim",
        density: false,
      });
      await writeSvgPng(path, svg);
      figures.push(rel(path));
    }
    return r;
  });
  const samples = await stage("samples", seconds, log, async () => {
    if (!ev.hasDecoder) return ev.noDecoder;
    const { tokens, samplesPerSecond } = ev.samples();
    const count = Math.min(s.samples, tokens.size(0));
    const path = join(figDir, "samples.png");
    const perRow = Math.max(1, Math.round(Math.sqrt(count)));
    await writePng(path, tidy(() => {
      const images = ev.run.palette.dequantize(tokens.narrow(0, 0, count));
      const rows: Tensor[] = [];
      for (let i = 0; i < count; i += perRow) rows.push(images.narrow(0, i, Math.min(perRow, count - i)));
      return imageGrid(rows, { scale: 2 });
    }));
    figures.push(rel(path));
    return { count, samplesPerSecond: Number.isFinite(samplesPerSecond) ? samplesPerSecond : null, temperature: s.temperature, topK: s.topK, image: rel(path) };
  });
  const completions = await stage("completions", seconds, log, async () => {
    if (!ev.hasDecoder) return ev.noDecoder;
    const { originals, completions: done, givenRows } = await ev.completions();
    const path = join(figDir, "completions.png");
    try {
      await writePng(path, tidy(() => imageGrid(completionGridRows(ev.run.palette, originals, done, givenRows), { scale: 2 })));
    } finally {
      done.dispose();
    }
    figures.push(rel(path));
    return { images: originals.size(0), givenRows, samplesPerImage: s.completionSamples, image: rel(path) };
  });
  const fid = await stage("fid", seconds, log, async () => {
    const r = await ev.fid();
    if (!isNotApplicable(r)) for (const f of r) log(`FID (${f.network}, ${f.samples} samples): ${f.fid.toFixed(3)} (train vs test: ${f.fidTrainVsTest.toFixed(3)}); KID ${f.kid.mean.toExponential(3)}`);
    return r;
  });
  let oodHistograms = new Map<OodScoreName, string>();
  let rocPaths: string[] = [];
  const ood = await stage("ood", seconds, log, async (): Promise<OodSummary | NotApplicable> => {
    if (s.ood === null) return { na: `no OOD dataset for ${ev.run.config.data.name} (pass --ood NAME)` };
    const r = await ev.ood();
    const written = await writeOodFigures(r, figDir);
    oodHistograms = written.histograms;
    rocPaths = written.roc;
    figures.push(...[...written.histograms.values(), ...written.roc].map(rel));
    for (const x of r.results) log(`OOD ${x.name}: ${isNotApplicable(x.metrics) ? `n/a (${x.metrics.na})` : `AUROC ${x.metrics.auroc.toFixed(4)}`}`);
    return { inDataset: r.inDataset, outDataset: r.outDataset, inFingerprint: r.inFingerprint, outFingerprint: r.outFingerprint, nIn: r.nIn, nOut: r.nOut, scores: r.results.map(({ name, description, supervised, metrics }) => ({ name, description, supervised, metrics })) };
  });
  const curves = await writeTrainingCurves(ev, figDir);
  figures.push(...curves.map(rel));

  const report: EvalReport = {
    format: EVAL_FORMAT,
    version: EVAL_VERSION,
    createdAt: new Date().toISOString(),
    run: { dir: runDir, mode: ev.mode, step: ev.run.step, dataset: ev.run.config.data.name, model: ev.run.model.describe(), parameters: ev.run.model.parameterCount() },
    settings: { ...s },
    data: ev.dataIdentities(),
    probe,
    knn,
    likelihood,
    samples,
    completions,
    fid,
    ood,
    figures,
    seconds,
  };
  writeFileAtomic(join(runDir, "eval.json"), formatJson(report));
  writeReport(runDir, "report", reportDocument(report, { probeLayers: layerChart === null ? null : rel(layerChart), oodHistograms: mapValues(oodHistograms, rel), roc: rocPaths.map(rel), curves: curves.map(rel) }));
  return report;
}

// ---- the report document ------------------------------------------------------------------------

interface FigurePaths {
  /** The layer sweep's chart, when the probe ran one. */
  probeLayers?: string | null;
  oodHistograms: Map<OodScoreName, string>;
  roc: string[];
  curves: string[];
}

export function reportDocument(r: EvalReport, figures: FigurePaths): ReportDocument {
  const s = r.settings;
  const blocks: Block[] = [];
  const na = (x: unknown): string | null => (isNotApplicable(x) ? `n/a (${x.na})` : null);
  blocks.push({
    kind: "paragraph",
    text: `Run \`${r.run.dir}\`: ${r.run.mode} mode, step ${r.run.step}, ${r.run.model}, trained on ${r.run.dataset}. Evaluated ${r.createdAt}.`,
  });

  blocks.push({ kind: "heading", level: 2, text: "Summary" });
  const fidNet = Array.isArray(r.fid) ? r.fid.find((f) => f.network === "fid-net") : undefined;
  blocks.push({
    kind: "table",
    header: ["metric", "value", "how"],
    align: ["left", "right", "left"],
    rows: [
      ["linear probe, test accuracy", isNotApplicable(r.probe) ? null : pct(r.probe.testAccuracy), isNotApplicable(r.probe) ? r.probe.na : `logistic regression on standardised r(x) (layer ${r.probe.representationLayer}), L2 ${r.probe.l2} chosen on ${pct(s.probeValidationFraction)} of the training features${l2GridEdgeNote(r.probe.grid, r.probe.l2)}, LBFGS`],
      ["kNN, test accuracy", isNotApplicable(r.knn) ? null : pct(r.knn.accuracy), isNotApplicable(r.knn) ? r.knn.na : `cosine, k = ${r.knn.k}, weights exp(s / ${r.knn.temperature}), ${r.knn.trainImages} training images`],
      ["test NLL (bits/dim)", isNotApplicable(r.likelihood) ? null : r.likelihood.testBitsPerDim.toFixed(4), isNotApplicable(r.likelihood) ? r.likelihood.na : `palette space (bits per palette token), ${r.likelihood.testImages} test images`],
      ["FID", fidNet ? fidNet.fid.toFixed(3) : null, fidNet ? `${fidNet.samples} samples vs ${fidNet.samples} test images, ${fidNet.networkInfo}; train vs test: ${fidNet.fidTrainVsTest.toFixed(3)}` : (na(r.fid) ?? "")],
    ],
  });

  blocks.push({ kind: "heading", level: 2, text: "Discriminative" });
  if (!isNotApplicable(r.probe)) {
    const p = r.probe;
    blocks.push({
      kind: "paragraph",
      text: `Linear probe: multinomial logistic regression on the standardised ${p.featureDim}-dimensional r(x) of ${p.trainImages} training images; L2 strength chosen on a class-stratified ${pct(s.probeValidationFraction)} validation split, then refit on all of them (full-batch LBFGS). Train ${pct(p.trainAccuracy)}, validation ${pct(p.validationAccuracy)}, **test ${pct(p.testAccuracy)}** (${p.testImages} images). For reference: logistic regression on raw Fashion-MNIST pixels reaches about 84%.`,
    });
    blocks.push({ kind: "table", header: ["L2", "validation accuracy", "train accuracy"], align: ["right", "right", "right"], rows: p.grid.map((g) => [String(g.l2), pct(g.validationAccuracy), pct(g.trainAccuracy)]) });
    blocks.push({ kind: "paragraph", text: `Representation: ${p.layerSelection}. The kNN classifier and the feature-based OOD scores use the same r(x).` });
    if (p.layers !== null) {
      blocks.push({
        kind: "table",
        header: ["layer", "validation accuracy", "train accuracy", "test accuracy", "L2"],
        align: ["left", "right", "right", "right", "right"],
        rows: p.layers.map((l) => [`${l.layer}${l.layer === p.representationLayer ? " (chosen)" : ""}`, pct(l.validationAccuracy), pct(l.trainAccuracy), pct(l.testAccuracy), String(l.l2)]),
      });
      if (figures.probeLayers) blocks.push({ kind: "image", path: figures.probeLayers, alt: "linear-probe accuracy per encoder layer" });
    }
  } else blocks.push({ kind: "paragraph", text: `Linear probe: n/a (${r.probe.na}).` });
  blocks.push({
    kind: "paragraph",
    text: isNotApplicable(r.knn) ? `kNN: n/a (${r.knn.na}).` : `kNN: cosine similarity, k = ${r.knn.k}, votes weighted exp(s / ${r.knn.temperature}), ${r.knn.trainImages} training images as neighbours: **${pct(r.knn.accuracy)}** on ${r.knn.testImages} test images.`,
  });

  blocks.push({ kind: "heading", level: 2, text: "Generative" });
  if (!isNotApplicable(r.likelihood)) {
    const l = r.likelihood;
    blocks.push({
      kind: "paragraph",
      text: `Test NLL **${l.testBitsPerDim.toFixed(4)} bits/dim** in palette space (${l.testImages} images; 5/50/95% quantiles ${l.testQuantiles.map((v) => v.toFixed(3)).join(" / ")}); training images ${l.trainBitsPerDim.toFixed(4)} bits/dim (first ${l.trainImages}).`,
    });
    blocks.push({ kind: "image", path: "eval/bits-per-dim.png", alt: "histogram of test bits/dim" });
  } else blocks.push({ kind: "paragraph", text: `Likelihood: n/a (${r.likelihood.na}).` });
  if (!isNotApplicable(r.samples)) {
    const sm = r.samples;
    blocks.push({
      kind: "paragraph",
      text: `Unconditional samples (temperature ${sm.temperature}, ${sm.topK === 0 ? "all colours" : `top-${sm.topK}`}; drawn pixel by pixel with key/value caches${sm.samplesPerSecond !== null ? `, ${sm.samplesPerSecond.toFixed(2)} samples/s` : ""}):`,
    });
    blocks.push({ kind: "image", path: sm.image, alt: "unconditional samples" });
  } else blocks.push({ kind: "paragraph", text: `Samples: n/a (${r.samples.na}).` });
  if (!isNotApplicable(r.completions)) {
    const c = r.completions;
    blocks.push({ kind: "paragraph", text: `Completions: each line is a test image (quantized) | its top ${c.givenRows} rows | ${c.samplesPerImage} completions.` });
    blocks.push({ kind: "image", path: c.image, alt: "completions of test images" });
  }
  if (Array.isArray(r.fid)) {
    blocks.push({
      kind: "table",
      caption: "FID and KID (lower is better), in palette space: samples and real images both painted with the run's palette. 'train vs test' is the same distance between real training and test images at the same count: the floor at this sample size.",
      header: ["features", "samples", "FID", "FID train vs test", "KID", "KID train vs test"],
      align: ["left", "right", "right", "right", "right", "right"],
      rows: r.fid.map((f) => [f.networkInfo, f.samples, f.fid.toFixed(3), f.fidTrainVsTest.toFixed(3), kidText(f.kid), kidText(f.kidTrainVsTest)]),
    });
  } else blocks.push({ kind: "paragraph", text: `FID: n/a (${r.fid.na}).` });

  blocks.push({ kind: "heading", level: 2, text: "Out-of-distribution detection" });
  if (!isNotApplicable(r.ood)) {
    const o = r.ood;
    blocks.push({
      kind: "paragraph",
      text: `In-distribution: ${o.inDataset} (${o.nIn} images, content ${o.inFingerprint}); OOD: ${o.outDataset} (${o.nOut} images, content ${o.outFingerprint}${o.inFingerprint === o.outFingerprint ? ": the same images as the in-distribution set, so every AUROC is 0.5" : ""}). Convention: higher score = more OOD, OOD is the positive class. AUPR-IN treats in-distribution as positive (scores negated).`,
    });
    blocks.push({
      kind: "table",
      header: ["score", "kind", "AUROC", "AUPR-IN", "AUPR-OUT", "FPR@95%TPR"],
      align: ["left", "left", "right", "right", "right", "right"],
      rows: o.scores.map((x) =>
        isNotApplicable(x.metrics)
          ? [x.name, x.supervised ? "supervised" : "unsupervised", null, null, null, null]
          : [x.name, x.supervised ? "supervised" : "unsupervised", x.metrics.auroc.toFixed(4), x.metrics.auprIn.toFixed(4), x.metrics.auprOut.toFixed(4), x.metrics.fpr95.toFixed(4)],
      ),
    });
    blocks.push({ kind: "list", items: o.scores.map((x) => `**${x.name}**: ${x.description}${isNotApplicable(x.metrics) ? ` — n/a (${x.metrics.na})` : ""}`) });
    if (r.run.dataset === "fashion-mnist" && (s.ood === "mnist-digits" || s.ood === "mnist")) {
      blocks.push({
        kind: "table",
        caption: "Published AUROCs for Fashion-MNIST vs MNIST (literature, not measured here)",
        header: ["method", "AUROC", "source"],
        rows: FASHION_MNIST_VS_MNIST_REFERENCES.map((x) => [x.method, x.auroc, x.source]),
      });
    }
    if (figures.roc.length > 0) blocks.push({ kind: "images", items: figures.roc.map((p) => ({ path: p, alt: "ROC curves" })) });
    if (figures.oodHistograms.size > 0) blocks.push({ kind: "images", items: [...figures.oodHistograms].map(([name, p]) => ({ path: p, alt: `histogram of the ${name} score`, caption: name })) });
  } else blocks.push({ kind: "paragraph", text: `OOD detection: n/a (${r.ood.na}).` });

  blocks.push({ kind: "heading", level: 2, text: "Training" });
  if (figures.curves.length > 0) blocks.push({ kind: "images", items: figures.curves.map((p) => ({ path: p, alt: "training curves" })) });
  else blocks.push({ kind: "paragraph", text: "metrics.jsonl holds no training records." });

  blocks.push({ kind: "heading", level: 2, text: "Settings" });
  blocks.push({ kind: "code", text: JSON.stringify(r.settings, null, 2) });
  blocks.push({ kind: "table", header: ["stage", "seconds"], align: ["left", "right"], rows: Object.entries(r.seconds).map(([k, v]) => [k, v.toFixed(1)]) });
  return { title: `gcrl evaluation: ${r.run.mode} on ${r.run.dataset}`, blocks };
}

/** KID mean ± std over its subsets (std 0 when one subset covers every sample). */
function kidText(k: { mean: number; std: number; subsets: number; subsetSize: number }): string {
  return `${k.mean.toPrecision(4)} ± ${k.std.toPrecision(2)} (${k.subsets} × ${k.subsetSize})`;
}

function pct(x: number): string {
  return `${(100 * x).toFixed(2)}%`;
}

function shortName(source: string): string {
  return source.split(" (")[0]!;
}

function mapValues<K, V, W>(m: Map<K, V>, f: (v: V) => W): Map<K, W> {
  return new Map([...m].map(([k, v]) => [k, f(v)]));
}
