// RunEvaluation: everything `gcrl eval` measures on one run folder, stage by stage, sharing the
// expensive parts. Datasets are loaded once and quantized with the run's palette; features r(x)
// and per-image bits/dim are computed once per (dataset, split, count, layer) and cached under
// <run>/cache/ (eval-cache.ts), so `gcrl eval ood` after `gcrl eval probe` re-encodes nothing.
//
//   discriminative  linear probe (linear-probe.ts) and weighted kNN (metrics/knn.ts) on r(x)
//   likelihood      per-image NLL in bits/dim, palette space (likelihood.ts)
//   generative      unconditional samples, completions of the top rows, FID / KID (fid.ts, kid.ts)
//   ood             every score of ood-scores.ts × every metric of ood-metrics.ts
//
// A simclr run has no trained decoder: likelihood, samples, completions, FID and the NLL-based OOD
// scores are reported as n/a with that reason, never computed from an untrained decoder.
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { Tensor, cat, keep, tidy } from "../torch/index.ts";
import { loadRun, type LoadedRun } from "../train/load-run.ts";
import { InputError } from "../util/input-error.ts";
import { loadDataset, type DatasetSpec, type DatasetSplit } from "../data/datasets/index.ts";
import { contentFingerprint, disposeSet, imageShape, setSize, type ImageSet } from "../data/image-set.ts";
import { knnAccuracy } from "../metrics/knn.ts";
import { EVAL_DEFAULTS, defaultOodDataset, type EvalSettings } from "./eval-settings.ts";
import { EvalCache, weightsFingerprint, type CacheKey } from "./eval-cache.ts";
import { passImages } from "./features.ts";
import { fitLinearProbe, type LinearProbe, type ProbeFit } from "./linear-probe.ts";
import { sampleTokens, completeTokens } from "./sampling.ts";
import { fid as fidOf, gaussianFit } from "./fid.ts";
import { kernelInceptionDistance, type KidResult } from "./kid.ts";
import { loadFidNet, saveFidNet, trainFidNet, type FidNet } from "./fid-net.ts";
import { InceptionFeatures } from "./inception.ts";
import { oodMetrics, rocCurve, type OodMetrics, type RocCurve } from "./ood-metrics.ts";
import { energyScores, knnDistanceScores, likelihoodRatioScores, maxSoftmaxScores, typicalityScores, complexityCorrectedScores } from "./ood-scores.ts";
import { MahalanobisScorer, ClassConditionalMahalanobis } from "./mahalanobis.ts";
import { complexityBitsPerDim } from "./complexity.ts";

export type Log = (line: string) => void;

/** A value that could not be measured for this run, with the reason. */
export interface NotApplicable {
  na: string;
}

/** Thrown by a stage that cannot apply to this run (e.g. a probe without labels); `gcrl eval all` records it as { na }. */
export class NotApplicableError extends Error {}

export interface ProbeResult {
  trainAccuracy: number;
  validationAccuracy: number;
  testAccuracy: number;
  l2: number;
  grid: { l2: number; validationAccuracy: number; trainAccuracy: number }[];
  trainImages: number;
  testImages: number;
  featureDim: number;
  /** The encoder layer r(x) pooled from, or "concat" (every layer's r(x) side by side). */
  representationLayer: number | "concat";
  /** How that layer was chosen, one line (e.g. "best validation accuracy of the 4 layers"). */
  layerSelection: string;
  /** The layer sweep (one probe per encoder layer) when the layer was chosen by it; else null. */
  layers: LayerProbe[] | null;
}

/** One layer's linear probe in the layer sweep (the iGPT protocol). */
export interface LayerProbe {
  layer: number;
  /** Accuracy on the held-out validation part of the training split: what the layer is chosen by. */
  validationAccuracy: number;
  trainAccuracy: number;
  /** Reported for every layer; never used to choose one. */
  testAccuracy: number;
  l2: number;
}

/** Which r(x) every feature-based number uses, and why. */
export interface LayerChoice {
  layer: number | "concat";
  how: string;
}

export interface KnnResult {
  accuracy: number;
  k: number;
  temperature: number;
  trainImages: number;
  testImages: number;
}

export interface LikelihoodResult {
  /** Mean over the test images of their bits/dim (palette space: bits per palette token). */
  testBitsPerDim: number;
  /** Mean over the first likelihoodTrainImages training images (the typicality anchor). */
  trainBitsPerDim: number;
  testImages: number;
  trainImages: number;
  /** Quantiles of the test bits/dim: 5%, 50%, 95%. */
  testQuantiles: [number, number, number];
}

export interface FidResult {
  /** Which feature network: "fid-net" (the in-distribution CNN) or "inception". */
  network: string;
  /** What the network is: its folder and test accuracy, or the TorchScript file. */
  networkInfo: string;
  featureDim: number;
  /** Generated samples and real test images compared (equal numbers). */
  samples: number;
  /** FID(samples, test images), in palette space (the test images quantized and painted back). */
  fid: number;
  /** FID(training images, test images) at the same count: the floor a perfect model would reach at this sample size. */
  fidTrainVsTest: number;
  kid: KidResult;
  kidTrainVsTest: KidResult;
}

export interface SampleResult {
  tokens: Tensor;
  samplesPerSecond: number;
}

export type OodScoreName =
  | "nll"
  | "typicality"
  | "complexity"
  | "likelihood-ratio"
  | "mahalanobis"
  | "knn-distance"
  | "msp"
  | "energy"
  | "class-mahalanobis";

export interface OodScoreResult {
  name: OodScoreName;
  /** What it is, one line (for tables). */
  description: string;
  supervised: boolean;
  metrics: OodMetrics | NotApplicable;
}

export interface OodScores {
  /** Where the in-distribution test images and the OOD images came from (folders included). */
  inDataset: string;
  outDataset: string;
  /** Their content fingerprints (contentFingerprint): equal exactly when the two sets hold the same images and labels. */
  inFingerprint: string;
  outFingerprint: string;
  nIn: number;
  nOut: number;
  results: OodScoreResult[];
  /** Raw scores (for histograms and ROC curves), per score that was computed. */
  raw: Map<OodScoreName, { inScores: Float64Array; outScores: Float64Array; roc: RocCurve }>;
}

export const OOD_SCORE_INFO: Readonly<Record<OodScoreName, { description: string; supervised: boolean; needsDecoder: boolean }>> = Object.freeze({
  nll: { description: "NLL in bits/dim (higher = more OOD)", supervised: false, needsDecoder: true },
  typicality: { description: "|NLL − mean training NLL| (typicality test)", supervised: false, needsDecoder: true },
  complexity: { description: "NLL − compressed bits/dim (input complexity, Serrà et al. 2020)", supervised: false, needsDecoder: true },
  "likelihood-ratio": { description: "NLL − NLL of a background model trained on perturbed images (Ren et al. 2019)", supervised: false, needsDecoder: true },
  mahalanobis: { description: "Mahalanobis distance of r(x) to the training features (Ledoit–Wolf shrinkage)", supervised: false, needsDecoder: false },
  "knn-distance": { description: "cosine distance of r(x) to its k-th nearest training feature", supervised: false, needsDecoder: false },
  msp: { description: "−max softmax probability of the linear probe", supervised: true, needsDecoder: false },
  energy: { description: "energy −logsumexp of the linear probe's logits", supervised: true, needsDecoder: false },
  "class-mahalanobis": { description: "class-conditional Mahalanobis, shared covariance (Lee et al. 2018)", supervised: true, needsDecoder: false },
});

/** Where a split's images came from: the reader's description (folder included) and a content fingerprint. */
export interface DataIdentity {
  /** e.g. "fashion-mnist test (/usr/share/datasets/fashion-mnist)". */
  source: string;
  /** contentFingerprint of the images and labels as loaded (after class filter and limit). */
  fingerprint: string;
  images: number;
}

interface LoadedSplit {
  set: ImageSet;
  tokens: Tensor;
  identity: DataIdentity;
  /** The cache key of values computed from these images (source and fingerprint included). */
  key: Omit<CacheKey, "kind">;
}

export class RunEvaluation {
  readonly run: LoadedRun;
  readonly settings: EvalSettings;
  readonly cache: EvalCache;
  readonly log: Log;
  readonly #splits = new Map<string, LoadedSplit>();
  /** Features and bits/dim already computed (or read from the cache) in this evaluation. */
  readonly #layerFeatures = new Map<string, Tensor[]>();
  readonly #concatFeatures = new Map<string, Tensor>();
  readonly #bits = new Map<string, Float64Array>();
  #probe: { probe: LinearProbe; result: ProbeResult } | null = null;
  #choice: LayerChoice | null = null;
  #background: { run: LoadedRun; cache: EvalCache } | null = null;
  #samples: SampleResult | null = null;

  private constructor(run: LoadedRun, settings: EvalSettings, log: Log) {
    this.run = run;
    this.settings = settings;
    this.cache = new EvalCache(run.dir, weightsFingerprint(run.dir));
    this.log = log;
  }

  /** Loads the run folder (its model in eval mode); settings override EVAL_DEFAULTS. */
  static open(runDir: string, settings: Partial<EvalSettings> = {}, log: Log = () => {}): RunEvaluation {
    const run = loadRun(runDir);
    const resolved: EvalSettings = { ...EVAL_DEFAULTS, ...settings };
    if (settings.ood === undefined) resolved.ood = defaultOodDataset(run.config.data.name);
    const layers = run.modelConfig.encoderLayers;
    const layer = resolved.representationLayer;
    if (layer !== "auto" && !(Number.isInteger(layer) && layer >= 1 && layer <= layers)) {
      run.model.dispose();
      run.palette.dispose();
      throw new InputError(`--layer ${JSON.stringify(layer)}: representation layer must be "auto" or an integer in [1, ${layers}] for this model`);
    }
    return new RunEvaluation(run, resolved, log);
  }

  get mode(): string {
    return this.run.config.objective.mode;
  }

  /** True when the decoder was trained (gcrl, igpt): likelihoods and samples mean something. */
  get hasDecoder(): boolean {
    return this.mode !== "simclr";
  }

  /** The layer the run's training pooled r(x) from (its contrastive head's input). */
  get modelLayer(): number {
    return this.run.modelConfig.representationLayer ?? this.run.modelConfig.encoderLayers;
  }

  get noDecoder(): NotApplicable {
    return { na: `a ${this.mode} run has no trained decoder` };
  }

  // ---- data -----------------------------------------------------------------------------------

  /** The in-distribution training or test split (the run's classes), or the OOD set; quantized once. */
  async split(which: "train" | "test" | "ood"): Promise<LoadedSplit> {
    const existing = this.#splits.get(which);
    if (existing) return existing;
    const data = this.run.config.data;
    const [h, w] = [this.run.modelConfig.height, this.run.modelConfig.width];
    let spec: DatasetSpec;
    if (which === "ood") {
      const name = this.settings.ood;
      if (name === null) throw new Error(`no OOD dataset: pass --ood NAME (the run's data is ${data.name}, which has no default partner)`);
      spec = {
        name,
        split: this.settings.oodSplit as DatasetSplit,
        ...(this.settings.oodDataDir !== null ? { dataDir: this.settings.oodDataDir } : {}),
        ...(this.settings.oodImages !== null ? { limit: this.settings.oodImages } : {}),
        size: [h, w],
        channels: this.run.palette.channels as 1 | 3,
      };
    } else {
      const limit = which === "train" ? this.settings.trainImages : this.settings.testImages;
      spec = {
        name: data.name,
        split: which,
        ...(data.dataDir !== null ? { dataDir: data.dataDir } : {}),
        ...(data.classes !== null ? { classes: data.classes } : {}),
        ...(limit !== null ? { limit } : {}),
      };
    }
    const started = performance.now();
    const set = await loadDataset(spec);
    const [sh, sw, sc] = imageShape(set);
    if (sh !== h || sw !== w || sc !== this.run.palette.channels) {
      disposeSet(set);
      throw new Error(`${set.source}: images are ${sh}×${sw}×${sc}, but the run's model takes ${h}×${w}×${this.run.palette.channels}`);
    }
    const tokens = keep(tidy(() => this.run.palette.quantize(set.images)));
    const identity: DataIdentity = { source: set.source, fingerprint: contentFingerprint(set), images: setSize(set) };
    const key = {
      dataset: spec.name,
      split: spec.split,
      count: identity.images,
      variant: spec.classes ? `classes-${spec.classes.join("+")}` : undefined,
      source: `${identity.source} #${identity.fingerprint}`,
    };
    const loaded: LoadedSplit = { set, tokens, identity, key: stripUndefined(key) };
    this.#splits.set(which, loaded);
    this.log(`data: ${set.source}: ${identity.images} images, content ${identity.fingerprint} (${seconds(started)})`);
    return loaded;
  }

  /** Source, content fingerprint and size of every split loaded so far (for eval.json). */
  dataIdentities(): Record<string, DataIdentity> {
    return Object.fromEntries([...this.#splits].map(([which, s]) => [which, { ...s.identity }]));
  }

  /**
   * r(x) of every encoder layer of a split: [layer 1, …, layer L], each float32 (N, d), from one
   * encoder pass, cached per layer. Owned by this evaluation (disposed with it).
   */
  async layerFeatures(which: "train" | "test" | "ood"): Promise<Tensor[]> {
    const memo = this.#layerFeatures.get(which);
    if (memo) return memo;
    const s = await this.split(which);
    const layers = Array.from({ length: this.run.modelConfig.encoderLayers }, (_, i) => i + 1);
    const keys = layers.map((l) => ({ kind: "features", ...s.key, variant: joinVariant(s.key.variant, `layer${l}`) }));
    const features = this.cache.tensors(keys, () =>
      this.#timed(`features of ${s.set.source} (${s.key.count}, ${layers.length} layers)`, () =>
        passImages(this.run.model, s.tokens, { batchSize: this.settings.batchSize, allLayers: true, withNll: false, onProgress: this.#progress("features") }).layerFeatures!,
      ),
    ).map((t) => keep(t));
    this.#layerFeatures.set(which, features);
    return features;
  }

  /** r(x) of a split as every feature-based number uses it (the chosen layer, see layerChoice), float32 (N, d). */
  async features(which: "train" | "test" | "ood"): Promise<Tensor> {
    const { layer } = await this.layerChoice();
    const all = await this.layerFeatures(which);
    if (layer !== "concat") return all[layer - 1]!;
    let joined = this.#concatFeatures.get(which);
    if (!joined) {
      joined = keep(tidy(() => cat(all, 1)));
      this.#concatFeatures.set(which, joined);
    }
    return joined;
  }

  /**
   * Which r(x) the probe, kNN and feature-based OOD scores use: --concat-layers, a fixed --layer, or
   * ("auto") the layer sweep's choice on the validation part of the training split; without labels
   * to choose on, the run's model.representationLayer.
   */
  async layerChoice(): Promise<LayerChoice> {
    if (this.#choice) return this.#choice;
    const layers = this.run.modelConfig.encoderLayers;
    const fixed = this.settings.representationLayer;
    if (this.settings.concatLayers) this.#choice = { layer: "concat", how: `the r(x) of all ${layers} layers concatenated (--concat-layers)` };
    else if (fixed !== "auto") this.#choice = { layer: fixed, how: `layer ${fixed} (--layer)` };
    else if (layers === 1) this.#choice = { layer: 1, how: "the only encoder layer" };
    else if ((await this.split("train")).set.labels === null) this.#choice = { layer: this.modelLayer, how: `the run's representation layer ${this.modelLayer} (no labels to choose a layer on)` };
    else this.#choice = await this.#layerSweep();
    this.log(`representation: ${this.#choice.how}`);
    return this.#choice;
  }

  /**
   * The iGPT probing protocol: a linear probe on every layer's r(x), each with its L2 chosen on the
   * same held-out validation part of the training split; the layer with the best validation accuracy
   * wins (ties: the shallower layer). Test accuracies are measured only after the choice, as a report.
   */
  async #layerSweep(): Promise<LayerChoice> {
    const { train, test } = await this.#labelledSplits();
    const trainFeatures = await this.layerFeatures("train");
    const testFeatures = await this.layerFeatures("test");
    const fits = trainFeatures.map((f, i) => this.#timed(`linear probe, layer ${i + 1}`, () => this.#fitProbe(f, train, test, true)));
    const validation = fits.map((f) => f.validationAccuracy);
    const best = chooseLayer(validation);
    const sweep: LayerProbe[] = fits.map((f, i) => ({
      layer: i + 1,
      validationAccuracy: f.validationAccuracy,
      trainAccuracy: f.trainAccuracy,
      testAccuracy: f.probe.accuracy(testFeatures[i]!, test.set.labels!),
      l2: f.l2,
    }));
    const how = `layer ${best} of ${fits.length}: the best linear-probe accuracy on the validation part of the training split`;
    const chosen = fits[best - 1]!;
    this.#probe = { probe: chosen.probe, result: this.#probeResult(chosen, train, test, testFeatures[best - 1]!, best, how, sweep) };
    fits.forEach((f, i) => i !== best - 1 && f.probe.dispose());
    return { layer: best, how };
  }

  /** Per-image bits/dim of a split; for "train" only the first likelihoodTrainImages. */
  async bitsPerDim(which: "train" | "test" | "ood"): Promise<Float64Array> {
    const memo = this.#bits.get(which);
    if (memo) return memo;
    const s = await this.split(which);
    const count = which === "train" ? Math.min(this.settings.likelihoodTrainImages, s.key.count) : s.key.count;
    const bits = this.cache.array({ kind: "bits-per-dim", ...s.key, count }, () =>
      this.#timed(`bits/dim of ${s.set.source} (${count})`, () =>
        tidy(() => passImages(this.run.model, s.tokens.narrow(0, 0, count), { batchSize: this.settings.batchSize, withFeatures: false, withNll: true, onProgress: this.#progress("bits/dim") }).bitsPerDim!),
      ),
    );
    this.#bits.set(which, bits);
    return bits;
  }

  /**
   * Per-image bits/dim of a split under the background model (settings.background), cached in the
   * background run's own cache folder. The background run must share this run's palette and sizes,
   * so both NLLs are over the same tokens.
   */
  async backgroundBitsPerDim(which: "test" | "ood"): Promise<Float64Array> {
    const bg = this.#openBackground();
    const s = await this.split(which);
    return bg.cache.array({ kind: "bits-per-dim", ...s.key }, () =>
      this.#timed(`background bits/dim of ${s.set.source} (${s.key.count})`, () =>
        passImages(bg.run.model, s.tokens, { batchSize: this.settings.batchSize, withFeatures: false, withNll: true, onProgress: this.#progress("background bits/dim") }).bitsPerDim!,
      ),
    );
  }

  #openBackground(): { run: LoadedRun; cache: EvalCache } {
    if (this.#background) return this.#background;
    const dir = this.settings.background;
    if (dir === null) throw new NotApplicableError("no background model (pass --background RUN: a run trained on perturbed images, gcrl train --data.perturb 0.2)");
    const run = loadRun(dir);
    const problem = backgroundMismatch(this.run, run);
    if (problem !== null) {
      run.model.dispose();
      run.palette.dispose();
      throw new InputError(`--background ${dir}: ${problem}`);
    }
    this.#background = { run, cache: new EvalCache(run.dir, weightsFingerprint(run.dir)) };
    return this.#background;
  }

  // ---- discriminative -------------------------------------------------------------------------

  /** Both in-distribution splits; labels required. */
  async #labelledSplits(): Promise<{ train: LoadedSplit; test: LoadedSplit }> {
    const train = await this.split("train");
    const test = await this.split("test");
    requireLabels(train.set);
    requireLabels(test.set);
    return { train, test };
  }

  /** Both in-distribution splits (labels required) and their features. */
  async #labelledFeatures(): Promise<{ train: LoadedSplit; test: LoadedSplit; trainFeatures: Tensor; testFeatures: Tensor }> {
    const { train, test } = await this.#labelledSplits();
    return { train, test, trainFeatures: await this.features("train"), testFeatures: await this.features("test") };
  }

  /** A linear probe on training features, L2 chosen on the validation part (validate: even for a one-value grid). */
  #fitProbe(trainFeatures: Tensor, train: LoadedSplit, test: LoadedSplit, validate: boolean): ProbeFit {
    return fitLinearProbe(trainFeatures, train.set.labels!, {
      validationFraction: this.settings.probeValidationFraction,
      seed: this.settings.seed,
      numClasses: numClasses(train.set, test.set),
      validate,
      ...(this.settings.probeL2Grid !== null ? { l2Grid: this.settings.probeL2Grid } : {}),
    });
  }

  #probeResult(fit: ProbeFit, train: LoadedSplit, test: LoadedSplit, testFeatures: Tensor, layer: number | "concat", how: string, layers: LayerProbe[] | null): ProbeResult {
    return {
      trainAccuracy: fit.trainAccuracy,
      validationAccuracy: fit.validationAccuracy,
      testAccuracy: fit.probe.accuracy(testFeatures, test.set.labels!),
      l2: fit.l2,
      grid: fit.grid,
      trainImages: train.key.count,
      testImages: test.key.count,
      featureDim: testFeatures.size(1),
      representationLayer: layer,
      layerSelection: how,
      layers,
    };
  }

  /** The linear probe on the chosen r(x), fitted once (L2 chosen on a held-out part of the training features). */
  async probe(): Promise<ProbeResult> {
    if (this.#probe) return this.#probe.result;
    const { train, test } = await this.#labelledSplits();
    const choice = await this.layerChoice(); // the layer sweep, when it runs, fits the chosen probe
    if (this.#probe) return (this.#probe as { result: ProbeResult }).result;
    const { trainFeatures, testFeatures } = await this.#labelledFeatures();
    const fit = this.#timed("linear probe", () => this.#fitProbe(trainFeatures, train, test, false));
    this.#probe = { probe: fit.probe, result: this.#probeResult(fit, train, test, testFeatures, choice.layer, choice.how, null) };
    return this.#probe.result;
  }

  async knn(): Promise<KnnResult> {
    const { train, test, trainFeatures, testFeatures } = await this.#labelledFeatures();
    const { knnK: k, knnTemperature: temperature } = this.settings;
    const accuracy = this.#timed("kNN", () =>
      knnAccuracy(trainFeatures, train.set.labels!, testFeatures, test.set.labels!, { k, temperature, numClasses: numClasses(train.set, test.set) }),
    );
    return { accuracy, k, temperature, trainImages: train.key.count, testImages: test.key.count };
  }

  // ---- generative -----------------------------------------------------------------------------

  async likelihood(): Promise<LikelihoodResult | NotApplicable> {
    if (!this.hasDecoder) return this.noDecoder;
    const test = await this.bitsPerDim("test");
    const train = await this.bitsPerDim("train");
    const [q5, q50, q95] = quantiles(test, [0.05, 0.5, 0.95]);
    return { testBitsPerDim: mean(test), trainBitsPerDim: mean(train), testImages: test.length, trainImages: train.length, testQuantiles: [q5!, q50!, q95!] };
  }

  /** max(samples, fidSamples) unconditional samples (int64 (n, H, W)), cached with their settings. */
  samples(): SampleResult {
    if (this.#samples) return this.#samples;
    const { temperature, topK, seed } = this.settings;
    const n = Math.max(this.settings.samples, this.settings.fidSamples);
    let perSecond = NaN;
    const tokens = this.cache.tensor({ kind: "samples", dataset: this.run.config.data.name, split: "none", count: n, variant: `t${temperature}-k${topK}-s${seed}` }, () => {
      const started = performance.now();
      let lastPrint = started;
      const out = sampleTokens(this.run.model, n, {
        temperature,
        topK,
        seed,
        batchSize: this.settings.batchSize,
        onProgress: (done, total) => {
          const now = performance.now();
          if (now - lastPrint > 10_000) {
            lastPrint = now;
            this.log(`  sampling: row ${done}/${total} (${seconds(started)})`);
          }
        },
      });
      perSecond = n / ((performance.now() - started) / 1000);
      this.log(`samples: ${n} in ${seconds(started)} (${perSecond.toFixed(2)} samples/s)`);
      return out;
    });
    this.#samples = { tokens, samplesPerSecond: perSecond };
    return this.#samples;
  }

  /** Completions of the first completionImages test images: int64 (N, samples, H, W) and the rows given. */
  async completions(): Promise<{ originals: Tensor; completions: Tensor; givenRows: number }> {
    const test = await this.split("test");
    const n = Math.min(this.settings.completionImages, test.key.count);
    const givenRows = this.settings.completionRows ?? Math.floor(this.run.modelConfig.height / 2);
    const originals = test.tokens.narrow(0, 0, n);
    const completions = this.#timed(`completions (${n} × ${this.settings.completionSamples})`, () =>
      completeTokens(this.run.model, originals, givenRows, this.settings.completionSamples, {
        temperature: this.settings.temperature,
        topK: this.settings.topK,
        seed: this.settings.seed,
        batchSize: this.settings.batchSize,
      }),
    );
    return { originals, completions, givenRows };
  }

  /** FID and KID of fidSamples samples against as many test images, in the fid-net's (and Inception's) features. */
  async fid(): Promise<FidResult[] | NotApplicable> {
    if (!this.hasDecoder) return this.noDecoder;
    const n = this.settings.fidSamples;
    if (n === 0) return { na: "FID skipped (fidSamples = 0)" };
    const test = await this.split("test");
    const train = await this.split("train");
    const count = Math.min(n, test.key.count, train.key.count);
    if (count < 2) return { na: `too few images for FID (${count})` };
    const samples = this.samples().tokens.narrow(0, 0, count);
    // Everything in palette space: real images quantized and painted back, as the model sees them.
    const images = {
      samples: keep(tidy(() => this.run.palette.dequantize(samples))),
      test: keep(tidy(() => this.run.palette.dequantize(test.tokens.narrow(0, 0, count)))),
      train: keep(tidy(() => this.run.palette.dequantize(train.tokens.narrow(0, 0, count)))),
    };
    const results: FidResult[] = [];
    try {
      const extractors: { network: string; info: string; features: (x: Tensor) => Tensor; dispose: () => void }[] = [];
      const fidNet = await this.#fidNet();
      extractors.push({ network: "fid-net", info: fidNet.info, features: (x) => fidNet.net.features(x, this.settings.batchSize), dispose: () => fidNet.net.dispose() });
      if (this.settings.inception !== null) {
        const inception = InceptionFeatures.load(this.settings.inception);
        extractors.push({ network: "inception", info: `TorchScript Inception-v3 ${resolve(this.settings.inception)}`, features: (x) => inception.features(x, 32), dispose: () => inception.dispose() });
      }
      for (const e of extractors) {
        try {
          const r = this.#timed(`FID/KID in ${e.network} features (${count} vs ${count})`, () =>
            tidy(() => {
              const fs = e.features(images.samples);
              const ft = e.features(images.test);
              const fr = e.features(images.train);
              const kidOptions = { subsets: this.settings.kidSubsets, subsetSize: Math.min(this.settings.kidSubsetSize, count), seed: this.settings.seed };
              return {
                network: e.network,
                networkInfo: e.info,
                featureDim: fs.size(1),
                samples: count,
                fid: fidOf(fs, ft),
                fidTrainVsTest: fidOf(fr, ft),
                kid: kernelInceptionDistance(fs, ft, kidOptions),
                kidTrainVsTest: kernelInceptionDistance(fr, ft, kidOptions),
              };
            }),
          );
          results.push(r);
        } finally {
          e.dispose();
        }
      }
    } finally {
      for (const t of Object.values(images)) t.dispose();
    }
    return results;
  }

  /** The FID CNN in settings.fidNet (default fid-nets/<dataset>), trained there first when the folder has none. */
  async #fidNet(): Promise<{ net: FidNet; info: string }> {
    const data = this.run.config.data;
    const classes = data.classes !== null ? `-classes-${data.classes.join("+")}` : "";
    const dir = this.settings.fidNet ?? join("fid-nets", `${data.name}${classes}`.replace(/[^A-Za-z0-9._+-]+/g, "_"));
    if (!existsSync(join(dir, "fid-net.json"))) {
      requireLabels((await this.split("train")).set); // the FID CNN is a classifier of the in-distribution classes
      // The whole training split (of the run's classes) unless fidNetTrainImages limits it — not the
      // evaluation's trainImages: the network is saved and shared by every later evaluation.
      const limit = this.settings.fidNetTrainImages;
      this.log(`fid-net: none in ${dir}; training one on ${limit === null ? "all" : `the first ${limit}`} of ${data.name}'s training split (once; later evaluations reuse it)`);
      const spec = (split: DatasetSplit): DatasetSpec => ({
        name: data.name,
        split,
        ...(data.dataDir !== null ? { dataDir: data.dataDir } : {}),
        ...(data.classes !== null ? { classes: data.classes } : {}),
        ...(limit !== null ? { limit } : {}),
      });
      const train = await loadDataset(spec("train"));
      const test = await loadDataset(spec("test"));
      try {
        const result = trainFidNet(train, test, { seed: this.settings.seed, onProgress: (m) => this.log(`  fid-net: ${m}`) });
        saveFidNet(dir, result.net, { dataset: data.name, testAccuracy: result.testAccuracy, epochs: result.epochs, trainImages: setSize(train), testImages: setSize(test) });
        this.log(`fid-net: test accuracy ${(100 * result.testAccuracy).toFixed(2)}%, saved in ${dir}`);
        result.net.dispose();
      } finally {
        disposeSet(train);
        disposeSet(test);
      }
    }
    const { net, info } = loadFidNet(dir);
    return { net, info: `${dir} (CNN, test accuracy ${(100 * info.testAccuracy).toFixed(2)}% on ${info.dataset})` };
  }


  // ---- OOD ------------------------------------------------------------------------------------

  /**
   * Every OOD score of OOD_SCORE_INFO on the test split (in) vs the OOD set (out). A score that
   * cannot be computed (no decoder, no labels, or an error while computing it) is n/a with the
   * reason; it never takes the other scores down.
   */
  async ood(): Promise<OodScores> {
    const inSplit = await this.split("test");
    const outSplit = await this.split("ood");
    const train = await this.split("train");
    const trainFeatures = await this.features("train");
    const inFeatures = await this.features("test");
    const outFeatures = await this.features("ood");
    const scores = new Map<OodScoreName, { inScores: Float64Array; outScores: Float64Array }>();
    const failed = new Map<OodScoreName, string>();
    const both = (f: (x: Tensor) => Float64Array, a: Tensor, b: Tensor) => ({ inScores: f(a), outScores: f(b) });
    /** Runs one score family; an error makes its scores n/a with the message instead of ending ood(). */
    const attempt = async (names: OodScoreName[], what: string, compute: () => void | Promise<void>): Promise<void> => {
      const started = performance.now();
      try {
        await compute();
        this.log(`${what}: ${seconds(started)}`);
      } catch (err) {
        const reason = `${what} could not be computed: ${err instanceof Error ? err.message : String(err)}`;
        for (const name of names) failed.set(name, reason);
        this.log(`${names.join(", ")}: n/a (${reason})`);
      }
    };

    if (this.hasDecoder) {
      let inBits: Float64Array | null = null;
      let outBits: Float64Array | null = null;
      await attempt(["nll", "typicality", "complexity"], "bits/dim", async () => {
        inBits = await this.bitsPerDim("test");
        outBits = await this.bitsPerDim("ood");
        const trainMean = mean(await this.bitsPerDim("train"));
        scores.set("nll", { inScores: inBits, outScores: outBits });
        scores.set("typicality", { inScores: typicalityScores(inBits, trainMean), outScores: typicalityScores(outBits, trainMean) });
      });
      if (inBits !== null && outBits !== null) {
        const [bitsIn, bitsOut] = [inBits, outBits];
        if (this.settings.background !== null) {
          await attempt(["likelihood-ratio"], `likelihood ratio (background ${this.settings.background})`, async () => {
            const inBackground = await this.backgroundBitsPerDim("test");
            const outBackground = await this.backgroundBitsPerDim("ood");
            scores.set("likelihood-ratio", { inScores: likelihoodRatioScores(bitsIn, inBackground), outScores: likelihoodRatioScores(bitsOut, outBackground) });
          });
        }
        await attempt(["complexity"], `complexity (${this.settings.compressor} of the palette-coloured images)`, async () => {
          const inComplexity = await this.#complexity(inSplit.tokens);
          const outComplexity = await this.#complexity(outSplit.tokens);
          scores.set("complexity", { inScores: complexityCorrectedScores(bitsIn, inComplexity), outScores: complexityCorrectedScores(bitsOut, outComplexity) });
        });
      }
    }
    await attempt(["mahalanobis"], "Mahalanobis", () => {
      const m = MahalanobisScorer.fit(trainFeatures);
      try {
        scores.set("mahalanobis", both((x) => m.score(x), inFeatures, outFeatures));
      } finally {
        m.dispose();
      }
    });
    await attempt(["knn-distance"], "kNN distance", () => {
      const k = this.settings.oodKnnK;
      scores.set("knn-distance", both((x) => knnDistanceScores(trainFeatures, x, { k }), inFeatures, outFeatures));
    });
    if (train.set.labels !== null) {
      await attempt(["msp", "energy"], "linear probe scores", async () => {
        await this.probe();
        const probe = this.#probe!.probe;
        const [inLogits, outLogits] = [probe.logits(inFeatures), probe.logits(outFeatures)];
        try {
          scores.set("msp", { inScores: maxSoftmaxScores(inLogits), outScores: maxSoftmaxScores(outLogits) });
          scores.set("energy", { inScores: energyScores(inLogits), outScores: energyScores(outLogits) });
        } finally {
          inLogits.dispose();
          outLogits.dispose();
        }
      });
      await attempt(["class-mahalanobis"], "class-conditional Mahalanobis", () => {
        const m = ClassConditionalMahalanobis.fit(trainFeatures, train.set.labels!, { numClasses: numClasses(train.set, inSplit.set) });
        try {
          scores.set("class-mahalanobis", both((x) => m.score(x), inFeatures, outFeatures));
        } finally {
          m.dispose();
        }
      });
    }

    const results: OodScoreResult[] = [];
    const raw = new Map<OodScoreName, { inScores: Float64Array; outScores: Float64Array; roc: RocCurve }>();
    for (const name of Object.keys(OOD_SCORE_INFO) as OodScoreName[]) {
      const info = OOD_SCORE_INFO[name];
      const s = scores.get(name);
      let metrics: OodMetrics | NotApplicable;
      if (s) {
        metrics = oodMetrics(s.inScores, s.outScores);
        raw.set(name, { ...s, roc: rocCurve(s.inScores, s.outScores) });
      } else {
        metrics = { na: failed.get(name) ?? this.#missingReason(name) };
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
  #missingReason(name: OodScoreName): string {
    if (OOD_SCORE_INFO[name].needsDecoder && !this.hasDecoder) return this.noDecoder.na;
    if (name === "likelihood-ratio") return "no background model (pass --background RUN: a run trained on perturbed images, gcrl train --data.perturb 0.2)";
    return "the training set has no labels";
  }

  /** L(x) of token maps (N, H, W): the compressed size of each image painted in its palette colours (complexity.ts). */
  async #complexity(tokens: Tensor): Promise<Float64Array> {
    const painted = keep(tidy(() => this.run.palette.dequantize(tokens)));
    try {
      return await complexityBitsPerDim(painted, this.settings.compressor);
    } finally {
      painted.dispose();
    }
  }

  // ---- bookkeeping ----------------------------------------------------------------------------

  /** A progress callback that logs "what: done/total images (rate, ETA)" at most every 10 s. */
  #progress(what: string): (done: number, total: number) => void {
    const started = performance.now();
    let last = started;
    return (done, total) => {
      const now = performance.now();
      if (now - last < 10_000 || done >= total) return;
      last = now;
      const rate = done / ((now - started) / 1000);
      this.log(`  ${what}: ${done}/${total} images (${rate.toFixed(0)} images/s, ETA ${Math.round((total - done) / rate)} s)`);
    };
  }

  #timed<T>(what: string, f: () => T): T {
    const started = performance.now();
    const out = f();
    this.log(`${what}: ${seconds(started)}`);
    return out;
  }

  dispose(): void {
    for (const s of this.#splits.values()) {
      disposeSet(s.set);
      s.tokens.dispose();
    }
    this.#splits.clear();
    for (const t of [...this.#layerFeatures.values()].flat()) t.dispose();
    this.#layerFeatures.clear();
    for (const t of this.#concatFeatures.values()) t.dispose();
    this.#concatFeatures.clear();
    this.#probe?.probe.dispose();
    this.#probe = null;
    this.#samples?.tokens.dispose();
    this.#samples = null;
    this.run.model.dispose();
    this.run.palette.dispose();
    this.#background?.run.model.dispose();
    this.#background?.run.palette.dispose();
    this.#background = null;
  }
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

export function isNotApplicable(x: unknown): x is NotApplicable {
  return typeof x === "object" && x !== null && "na" in x;
}

export function mean(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i]!;
  return s / values.length;
}

/** The values at fractions ps of the sorted values (lower element, no interpolation). */
export function quantiles(values: ArrayLike<number>, ps: readonly number[]): number[] {
  const sorted = Float64Array.from(values).sort();
  return ps.map((p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!);
}

function seconds(started: number): string {
  return `${((performance.now() - started) / 1000).toFixed(1)} s`;
}

function requireLabels(set: ImageSet): void {
  if (set.labels === null) throw new NotApplicableError(`${set.source} has no labels (the linear probe and kNN need labelled images)`);
}

/** Classes of the probe: the dataset's class list when known, else 1 + the largest label seen. */
function numClasses(a: ImageSet, b: ImageSet): number {
  const largest = (s: ImageSet): number => tidy(() => s.labels!.max().item());
  return Math.max(a.classes?.length ?? 0, largest(a) + 1, largest(b) + 1);
}

/** The layer (1-based) with the best validation accuracy; ties go to the shallower layer. */
export function chooseLayer(validationAccuracy: readonly number[]): number {
  if (validationAccuracy.length === 0 || validationAccuracy.some((a) => !Number.isFinite(a))) {
    throw new RangeError(`chooseLayer: expected one finite validation accuracy per layer, got [${validationAccuracy.join(", ")}]`);
  }
  let best = 0;
  validationAccuracy.forEach((a, i) => {
    if (a > validationAccuracy[best]!) best = i;
  });
  return best + 1;
}

function joinVariant(a: string | undefined, b: string): string {
  return a === undefined ? b : `${a}-${b}`;
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
