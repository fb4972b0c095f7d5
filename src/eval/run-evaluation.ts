// RunEvaluation: everything `gcrl eval` measures on one run folder, stage by stage, sharing the
// expensive parts. Datasets are loaded once and quantized with the run's palette; features r(x)
// and per-image bits/dim are computed once per (dataset, split, count, layer) and cached under
// <run>/cache/ (eval-cache.ts), so `gcrl eval ood` after `gcrl eval probe` re-encodes nothing.
//
//   data            splits, features of every layer, bits/dim          (evaluation-data.ts)
//   representation  which layer's r(x): --layer, --concat-layers or the layer sweep (layer-sweep.ts)
//   discriminative  linear probe (linear-probe.ts) and weighted kNN (metrics/knn.ts) on r(x) (probe-stage.ts)
//   likelihood      per-image NLL in bits/dim, palette space (likelihood.ts)
//   generative      unconditional samples, completions of the top rows, FID / KID (generative-stage.ts)
//   ood             every score of ood-scores.ts × every metric of ood-metrics.ts; the background
//                   model of the likelihood ratio                       (ood-stage.ts)
//
// This class is the stages' facade: it owns the shared state (evaluation-state.ts) and keeps the
// public methods; the result types live in evaluation-types.ts and are re-exported here.
//
// A simclr run has no trained decoder: likelihood, samples, completions, FID and the NLL-based OOD
// scores are reported as n/a with that reason, never computed from an untrained decoder.
import type { Tensor } from "../torch/index.ts";
import type { ModelConfig } from "../model/config.ts";
import { loadRun, type LoadedRun } from "../train/load-run.ts";
import { InputError } from "../util/input-error.ts";
import { defaultOodDataset, resolveEvalSettings, type EvalSettings } from "./eval-settings.ts";
import type { EvalCache } from "./eval-cache.ts";
import type { DataIdentity, FidResult, KnnResult, LayerChoice, LikelihoodResult, Log, NotApplicable, OodScores, ProbeResult, SampleResult } from "./evaluation-types.ts";
import { disposeEvaluation, hasDecoder, modelLayer, newEvaluationState, noDecoder, type EvaluationState, type LoadedSplit, type SplitName } from "./evaluation-state.ts";
import { bitsPerDim, dataIdentities, layerFeatures, loadSplit } from "./evaluation-data.ts";
import { chosenFeatures, layerChoice } from "./layer-sweep.ts";
import { knn, probe } from "./probe-stage.ts";
import { completions, fid, likelihood, samples } from "./generative-stage.ts";
import { backgroundBitsPerDim, ood } from "./ood-stage.ts";

export * from "./evaluation-types.ts";
export { mean, quantiles } from "./evaluation-state.ts";
export { chooseLayer } from "./layer-sweep.ts";
export { backgroundMismatch } from "./ood-stage.ts";

export interface RunEvaluationOptions {
  /** Where the run's model (and a background run's) computes: "cpu" (default), "cuda", "cuda:N"; checked by the caller (checkDevice). */
  device?: string;
}

export class RunEvaluation {
  readonly run: LoadedRun;
  readonly settings: EvalSettings;
  readonly cache: EvalCache;
  readonly log: Log;
  readonly #state: EvaluationState;

  private constructor(run: LoadedRun, settings: EvalSettings, log: Log, device: string) {
    this.#state = newEvaluationState(run, settings, log, device);
    this.run = run;
    this.settings = settings;
    this.cache = this.#state.cache;
    this.log = log;
  }

  /**
   * Loads the run folder (its model in eval mode, on options.device, default "cpu"); settings
   * override EVAL_DEFAULTS and are checked first (InputError naming each bad key). On a GPU the
   * model's passes (features, bits/dim, samples, completions) and Inception run there; what
   * follows them (probe, kNN, Mahalanobis, FID statistics, OOD metrics) takes their results on the CPU.
   */
  static open(runDir: string, settings: Partial<EvalSettings> = {}, log: Log = () => {}, options: RunEvaluationOptions = {}): RunEvaluation {
    const resolved: EvalSettings = resolveEvalSettings(settings); // checked before the run loads
    const device = options.device ?? "cpu";
    const run = loadRun(runDir, { device });
    if (settings.ood === undefined) resolved.ood = defaultOodDataset(run.config.data.name);
    const refusal = layerRefusal(resolved, run.modelConfig);
    if (refusal !== null) {
      run.model.dispose();
      run.palette.dispose();
      throw new InputError(refusal);
    }
    return new RunEvaluation(run, resolved, log, device);
  }

  /** Where the model computes. */
  get device(): string {
    return this.#state.device;
  }

  get mode(): string {
    return this.run.config.objective.mode;
  }

  /** True when the decoder was trained (gcrl, igpt): likelihoods and samples mean something. */
  get hasDecoder(): boolean {
    return hasDecoder(this.#state);
  }

  /** The layer the run's training pooled r(x) from (its contrastive head's input). */
  get modelLayer(): number {
    return modelLayer(this.#state);
  }

  get noDecoder(): NotApplicable {
    return noDecoder(this.#state);
  }

  // ---- data (evaluation-data.ts, layer-sweep.ts) ------------------------------------------------

  /** The in-distribution training or test split (the run's classes), or the OOD set; quantized once. */
  split(which: SplitName): Promise<LoadedSplit> {
    return loadSplit(this.#state, which);
  }

  /** Source, content fingerprint and size of every split loaded so far (for eval.json). */
  dataIdentities(): Record<string, DataIdentity> {
    return dataIdentities(this.#state);
  }

  /** r(x) of every encoder layer of a split: [layer 1, …, layer L], each float32 (N, d); owned by this evaluation. */
  layerFeatures(which: SplitName): Promise<Tensor[]> {
    return layerFeatures(this.#state, which);
  }

  /** r(x) of a split as every feature-based number uses it (the chosen layer, see layerChoice), float32 (N, d). */
  features(which: SplitName): Promise<Tensor> {
    return chosenFeatures(this.#state, which);
  }

  /** Which r(x) the probe, kNN and feature-based OOD scores use (--concat-layers, --layer, or the layer sweep). */
  layerChoice(): Promise<LayerChoice> {
    return layerChoice(this.#state);
  }

  /** Per-image bits/dim of a split; for "train" only the first likelihoodTrainImages. */
  bitsPerDim(which: SplitName): Promise<Float64Array> {
    return bitsPerDim(this.#state, which);
  }

  /** Per-image bits/dim of a split under the background model (settings.background), cached in its run folder. */
  backgroundBitsPerDim(which: "test" | "ood"): Promise<Float64Array> {
    return backgroundBitsPerDim(this.#state, which);
  }

  // ---- discriminative (probe-stage.ts) ----------------------------------------------------------

  /** The linear probe on the chosen r(x), fitted once (L2 chosen on a held-out part of the training features). */
  probe(): Promise<ProbeResult> {
    return probe(this.#state);
  }

  knn(): Promise<KnnResult> {
    return knn(this.#state);
  }

  // ---- generative (generative-stage.ts) ---------------------------------------------------------

  likelihood(): Promise<LikelihoodResult | NotApplicable> {
    return likelihood(this.#state);
  }

  /** max(samples, fidSamples) unconditional samples (int64 (n, H, W)), cached with their settings. */
  samples(): SampleResult {
    return samples(this.#state);
  }

  /** Completions of the first completionImages test images: int64 (N, samples, H, W) and the rows given. */
  completions(): Promise<{ originals: Tensor; completions: Tensor; givenRows: number }> {
    return completions(this.#state);
  }

  /** FID and KID of fidSamples samples against as many test images, in the fid-net's (and Inception's) features. */
  fid(): Promise<FidResult[] | NotApplicable> {
    return fid(this.#state);
  }

  // ---- OOD (ood-stage.ts) -----------------------------------------------------------------------

  /** Every OOD score of OOD_SCORE_INFO on the test split (in) vs the OOD set (out); a score that cannot be computed is n/a with the reason. */
  ood(): Promise<OodScores> {
    return ood(this.#state);
  }

  dispose(): void {
    disposeEvaluation(this.#state);
  }
}

/** Why --layer / --row-blocks cannot apply to a model of this config, or null when they can. */
export function layerRefusal(settings: Pick<EvalSettings, "representationLayer" | "rowBlocks">, model: Pick<ModelConfig, "encoderLayers" | "attention">): string | null {
  const layers = model.encoderLayers;
  if (settings.rowBlocks && model.attention !== "axial") return `--row-blocks: this model's attention is "${model.attention}"; row blocks exist only in axial models`;
  const layer = settings.representationLayer;
  if (layer === "auto" || (Number.isInteger(layer) && layer >= 1 && layer <= layers)) return null;
  if (settings.rowBlocks && Number.isInteger(layer + 0.5) && layer >= 0.5 && layer < layers) return null;
  const rows = settings.rowBlocks ? `, or a row block in 0.5, 1.5, …, ${layers - 0.5}` : " (a row block l - 0.5 needs --row-blocks)";
  return `--layer ${JSON.stringify(layer)}: representation layer must be "auto" or an integer in [1, ${layers}] for this model${rows}`;
}
