// The OOD stage: every score of OOD_SCORE_INFO on the test split (in) vs the OOD set (out), each
// family attempted on its own so that one failing never takes the others down; and the background
// model the likelihood-ratio score needs (another run, trained on perturbed images).
import { keep, tidy, type Tensor } from "../torch/index.ts";
import { loadRun, type LoadedRun } from "../train/load-run.ts";
import { InputError } from "../util/input-error.ts";
import { EvalCache, weightsFingerprint } from "./eval-cache.ts";
import { passImages } from "./features.ts";
import { oodMetrics, rocCurve, type OodMetrics, type RocCurve } from "./ood-metrics.ts";
import { energyScores, knnDistanceScores, likelihoodRatioScores, maxSoftmaxScores, typicalityScores, complexityCorrectedScores } from "./ood-scores.ts";
import { MahalanobisScorer, ClassConditionalMahalanobis } from "./mahalanobis.ts";
import { complexityBitsPerDim } from "./complexity.ts";
import { NotApplicableError, OOD_SCORE_INFO, type NotApplicable, type OodScoreName, type OodScoreResult, type OodScores } from "./evaluation-types.ts";
import { hasDecoder, mean, noDecoder, numClasses, progressLog, seconds, timed, type EvaluationState, type LoadedSplit } from "./evaluation-state.ts";
import { bitsPerDim, loadSplit } from "./evaluation-data.ts";
import { chosenFeatures } from "./layer-sweep.ts";
import { probe } from "./probe-stage.ts";

/** Per-image scores of the in and out images (higher = more OOD). */
interface ScorePair {
  inScores: Float64Array;
  outScores: Float64Array;
}

/** The scores computed so far, the reasons of those that failed, and `attempt`, which fills both. */
interface ScoreBook {
  scores: Map<OodScoreName, ScorePair>;
  failed: Map<OodScoreName, string>;
  /** Runs one score family; an error makes its scores n/a with the message instead of ending ood(). */
  attempt(names: OodScoreName[], what: string, compute: () => void | Promise<void>): Promise<void>;
}

/** r(x) at the chosen layer of the training, in and out images, float32 (N, d) each. */
interface OodFeatures {
  train: Tensor;
  in: Tensor;
  out: Tensor;
}

/**
 * Every OOD score of OOD_SCORE_INFO on the test split (in) vs the OOD set (out). A score that
 * cannot be computed (no decoder, no labels, or an error while computing it) is n/a with the
 * reason; it never takes the other scores down.
 */
export async function ood(s: EvaluationState): Promise<OodScores> {
  const inSplit = await loadSplit(s, "test");
  const outSplit = await loadSplit(s, "ood");
  const train = await loadSplit(s, "train");
  const features: OodFeatures = { train: await chosenFeatures(s, "train"), in: await chosenFeatures(s, "test"), out: await chosenFeatures(s, "ood") };
  const book = scoreBook(s);
  if (hasDecoder(s)) await likelihoodScores(s, book, inSplit, outSplit);
  await featureScores(s, book, features);
  if (train.set.labels !== null) await supervisedScores(s, book, features, train, inSplit);
  return collectScores(s, book, inSplit, outSplit);
}

function scoreBook(s: EvaluationState): ScoreBook {
  const scores = new Map<OodScoreName, ScorePair>();
  const failed = new Map<OodScoreName, string>();
  const attempt = async (names: OodScoreName[], what: string, compute: () => void | Promise<void>): Promise<void> => {
    const started = performance.now();
    try {
      await compute();
      s.log(`${what}: ${seconds(started)}`);
    } catch (err) {
      const reason = `${what} could not be computed: ${err instanceof Error ? err.message : String(err)}`;
      for (const name of names) failed.set(name, reason);
      s.log(`${names.join(", ")}: n/a (${reason})`);
    }
  };
  return { scores, failed, attempt };
}

/** NLL and typicality, then (given the bits/dim) the likelihood ratio and the complexity-corrected NLL. */
async function likelihoodScores(s: EvaluationState, book: ScoreBook, inSplit: LoadedSplit, outSplit: LoadedSplit): Promise<void> {
  let inBits: Float64Array | null = null;
  let outBits: Float64Array | null = null;
  await book.attempt(["nll", "typicality", "complexity"], "bits/dim", async () => {
    inBits = await bitsPerDim(s, "test");
    outBits = await bitsPerDim(s, "ood");
    const trainMean = mean(await bitsPerDim(s, "train"));
    book.scores.set("nll", { inScores: inBits, outScores: outBits });
    book.scores.set("typicality", { inScores: typicalityScores(inBits, trainMean), outScores: typicalityScores(outBits, trainMean) });
  });
  if (inBits === null || outBits === null) return;
  const [bitsIn, bitsOut] = [inBits, outBits];
  if (s.settings.background !== null) {
    await book.attempt(["likelihood-ratio"], `likelihood ratio (background ${s.settings.background})`, async () => {
      const inBackground = await backgroundBitsPerDim(s, "test");
      const outBackground = await backgroundBitsPerDim(s, "ood");
      book.scores.set("likelihood-ratio", { inScores: likelihoodRatioScores(bitsIn, inBackground), outScores: likelihoodRatioScores(bitsOut, outBackground) });
    });
  }
  await book.attempt(["complexity"], `complexity (${s.settings.compressor} of the palette-coloured images)`, async () => {
    const inComplexity = await complexity(s, inSplit.tokens);
    const outComplexity = await complexity(s, outSplit.tokens);
    book.scores.set("complexity", { inScores: complexityCorrectedScores(bitsIn, inComplexity), outScores: complexityCorrectedScores(bitsOut, outComplexity) });
  });
}

/** The unsupervised feature scores: Mahalanobis distance and k-th neighbour distance to the training features. */
async function featureScores(s: EvaluationState, book: ScoreBook, f: OodFeatures): Promise<void> {
  const both = (score: (x: Tensor) => Float64Array): ScorePair => ({ inScores: score(f.in), outScores: score(f.out) });
  await book.attempt(["mahalanobis"], "Mahalanobis", () => {
    const m = MahalanobisScorer.fit(f.train);
    try {
      book.scores.set("mahalanobis", both((x) => m.score(x)));
    } finally {
      m.dispose();
    }
  });
  await book.attempt(["knn-distance"], "kNN distance", () => {
    const k = s.settings.oodKnnK;
    book.scores.set("knn-distance", both((x) => knnDistanceScores(f.train, x, { k })));
  });
}

/** The scores that need labels: the linear probe's MSP and energy, class-conditional Mahalanobis. */
async function supervisedScores(s: EvaluationState, book: ScoreBook, f: OodFeatures, train: LoadedSplit, inSplit: LoadedSplit): Promise<void> {
  await book.attempt(["msp", "energy"], "linear probe scores", async () => {
    await probe(s);
    const linear = s.probe!.probe;
    const [inLogits, outLogits] = [linear.logits(f.in), linear.logits(f.out)];
    try {
      book.scores.set("msp", { inScores: maxSoftmaxScores(inLogits), outScores: maxSoftmaxScores(outLogits) });
      book.scores.set("energy", { inScores: energyScores(inLogits), outScores: energyScores(outLogits) });
    } finally {
      inLogits.dispose();
      outLogits.dispose();
    }
  });
  await book.attempt(["class-mahalanobis"], "class-conditional Mahalanobis", () => {
    const m = ClassConditionalMahalanobis.fit(f.train, train.set.labels!, { numClasses: numClasses(train.set, inSplit.set) });
    try {
      book.scores.set("class-mahalanobis", { inScores: m.score(f.in), outScores: m.score(f.out) });
    } finally {
      m.dispose();
    }
  });
}

/** Metrics (or n/a with the reason) of every score in OOD_SCORE_INFO's order, the raw scores and ROC curves of those computed. */
function collectScores(s: EvaluationState, book: ScoreBook, inSplit: LoadedSplit, outSplit: LoadedSplit): OodScores {
  const results: OodScoreResult[] = [];
  const raw = new Map<OodScoreName, ScorePair & { roc: RocCurve }>();
  for (const name of Object.keys(OOD_SCORE_INFO) as OodScoreName[]) {
    const info = OOD_SCORE_INFO[name];
    const pair = book.scores.get(name);
    let metrics: OodMetrics | NotApplicable;
    if (pair) {
      metrics = oodMetrics(pair.inScores, pair.outScores);
      raw.set(name, { ...pair, roc: rocCurve(pair.inScores, pair.outScores) });
    } else {
      metrics = { na: book.failed.get(name) ?? missingReason(s, name) };
    }
    results.push({ name, description: info.description, supervised: info.supervised, metrics });
  }
  return {
    inDataset: inSplit.identity.source,
    outDataset: outSplit.identity.source,
    inFingerprint: inSplit.identity.fingerprint,
    outFingerprint: outSplit.identity.fingerprint,
    nIn: inSplit.key.count,
    nOut: outSplit.key.count,
    results,
    raw,
  };
}

/** Why a score that was not attempted is n/a. */
function missingReason(s: EvaluationState, name: OodScoreName): string {
  if (OOD_SCORE_INFO[name].needsDecoder && !hasDecoder(s)) return noDecoder(s).na;
  if (name === "likelihood-ratio") return "no background model (pass --background RUN: a run trained on perturbed images, gcrl train --data.perturb 0.2)";
  return "the training set has no labels";
}

/** L(x) of token maps (N, H, W): the compressed size of each image painted in its palette colours (complexity.ts). */
async function complexity(s: EvaluationState, tokens: Tensor): Promise<Float64Array> {
  const painted = keep(tidy(() => s.run.palette.dequantize(tokens)));
  try {
    return await complexityBitsPerDim(painted, s.settings.compressor);
  } finally {
    painted.dispose();
  }
}

/**
 * Per-image bits/dim of a split under the background model (settings.background), cached in the
 * background run's own cache folder. The background run must share this run's palette and sizes,
 * so both NLLs are over the same tokens.
 */
export async function backgroundBitsPerDim(s: EvaluationState, which: "test" | "ood"): Promise<Float64Array> {
  const bg = openBackground(s);
  const split = await loadSplit(s, which);
  return bg.cache.array({ kind: "bits-per-dim", ...split.key }, () =>
    timed(s, `background bits/dim of ${split.set.source} (${split.key.count})`, () =>
      passImages(bg.run.model, split.tokens, { batchSize: s.settings.batchSize, withFeatures: false, withNll: true, onProgress: progressLog(s, "background bits/dim") }).bitsPerDim!,
    ),
  );
}

/** The background run (loaded once, checked against the evaluated run) and its cache. */
function openBackground(s: EvaluationState): { run: LoadedRun; cache: EvalCache } {
  if (s.background) return s.background;
  const dir = s.settings.background;
  if (dir === null) throw new NotApplicableError("no background model (pass --background RUN: a run trained on perturbed images, gcrl train --data.perturb 0.2)");
  const run = loadRun(dir, { device: s.device }); // its passes run where the evaluated model's do
  const problem = backgroundMismatch(s.run, run);
  if (problem !== null) {
    run.model.dispose();
    run.palette.dispose();
    throw new InputError(`--background ${dir}: ${problem}`);
  }
  s.background = { run, cache: new EvalCache(run.dir, weightsFingerprint(run.dir)) };
  return s.background;
}

/** Why `background` cannot serve as run's background model (another palette or image size), else null. */
export function backgroundMismatch(run: LoadedRun, background: LoadedRun): string | null {
  const [a, b] = [run.modelConfig, background.modelConfig];
  if (a.height !== b.height || a.width !== b.width || a.vocabSize !== b.vocabSize) {
    return `its model takes ${b.height}×${b.width} images of ${b.vocabSize} colours, the evaluated run's ${a.height}×${a.width} of ${a.vocabSize}`;
  }
  if (JSON.stringify(run.palette.toJSON().centroids) !== JSON.stringify(background.palette.toJSON().centroids)) {
    return "its palette.json differs from the evaluated run's: both NLLs must be over the same colours (train it on the same data with the same palette settings and seed)";
  }
  if (background.config.objective.mode === "simclr") return "it is a simclr run: it has no trained decoder, so no likelihood";
  return null;
}
