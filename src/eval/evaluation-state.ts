// The state RunEvaluation's stages share: the loaded run, its settings and cache, the log, and
// what this evaluation has already loaded or computed (splits, features, bits/dim, the probe, the
// layer choice, the background model, samples). Plus the small helpers every stage uses.
import { performance } from "node:perf_hooks";
import { tidy, type Tensor } from "../torch/index.ts";
import type { LoadedRun } from "../train/load-run.ts";
import { disposeSet, type ImageSet } from "../data/image-set.ts";
import type { LinearProbe } from "./linear-probe.ts";
import type { EvalSettings } from "./eval-settings.ts";
import { EvalCache, weightsFingerprint, type CacheKey } from "./eval-cache.ts";
import { NotApplicableError, type DataIdentity, type LayerChoice, type Log, type NotApplicable, type ProbeResult, type SampleResult } from "./evaluation-types.ts";

/** One split as loaded: its images, their palette tokens int64 (N, H, W), where they came from. */
export interface LoadedSplit {
  set: ImageSet;
  tokens: Tensor;
  identity: DataIdentity;
  /** The cache key of values computed from these images (source and fingerprint included). */
  key: Omit<CacheKey, "kind">;
}

export type SplitName = "train" | "test" | "ood";

/** What one evaluation holds; every tensor in it is owned by the evaluation (disposeEvaluation). */
export interface EvaluationState {
  readonly run: LoadedRun;
  readonly settings: EvalSettings;
  readonly cache: EvalCache;
  readonly log: Log;
  /**
   * Where the run's model (and the background run's, and Inception) computes. Everything else —
   * the splits' tokens, features, bits/dim, samples and the CPU-only code that reads them (probe
   * L-BFGS, kNN, Mahalanobis, FID, compressors) — is on the CPU: model passes take their batches
   * to this device and give their results back on the CPU.
   */
  readonly device: string;
  readonly splits: Map<string, LoadedSplit>;
  /** Features (per layer, and the layers concatenated) and bits/dim computed or read from the cache so far. */
  readonly layerFeatures: Map<string, Tensor[]>;
  readonly concatFeatures: Map<string, Tensor>;
  readonly bits: Map<string, Float64Array>;
  probe: { probe: LinearProbe; result: ProbeResult } | null;
  choice: LayerChoice | null;
  background: { run: LoadedRun; cache: EvalCache } | null;
  samples: SampleResult | null;
}

export function newEvaluationState(run: LoadedRun, settings: EvalSettings, log: Log, device = "cpu"): EvaluationState {
  return {
    run, settings, log, device,
    cache: new EvalCache(run.dir, weightsFingerprint(run.dir)),
    splits: new Map(), layerFeatures: new Map(), concatFeatures: new Map(), bits: new Map(),
    probe: null, choice: null, background: null, samples: null,
  };
}

/** Disposes of everything the evaluation holds, the run's model and palette (and the background run's) included. */
export function disposeEvaluation(s: EvaluationState): void {
  for (const split of s.splits.values()) {
    disposeSet(split.set);
    split.tokens.dispose();
  }
  s.splits.clear();
  for (const t of [...s.layerFeatures.values()].flat()) t.dispose();
  s.layerFeatures.clear();
  for (const t of s.concatFeatures.values()) t.dispose();
  s.concatFeatures.clear();
  s.probe?.probe.dispose();
  s.probe = null;
  s.samples?.tokens.dispose();
  s.samples = null;
  s.run.model.dispose();
  s.run.palette.dispose();
  s.background?.run.model.dispose();
  s.background?.run.palette.dispose();
  s.background = null;
}

/** True when the decoder was trained (gcrl, igpt): likelihoods and samples mean something. */
export function hasDecoder(s: EvaluationState): boolean {
  return s.run.config.objective.mode !== "simclr";
}

export function noDecoder(s: EvaluationState): NotApplicable {
  return { na: `a ${s.run.config.objective.mode} run has no trained decoder` };
}

/** The layer the run's training pooled r(x) from (its contrastive head's input). */
export function modelLayer(s: EvaluationState): number {
  return s.run.modelConfig.representationLayer ?? s.run.modelConfig.encoderLayers;
}

/** A progress callback that logs "what: done/total images (rate, ETA)" at most every 10 s. */
export function progressLog(s: EvaluationState, what: string): (done: number, total: number) => void {
  const started = performance.now();
  let last = started;
  return (done, total) => {
    const now = performance.now();
    if (now - last < 10_000 || done >= total) return;
    last = now;
    const rate = done / ((now - started) / 1000);
    s.log(`  ${what}: ${done}/${total} images (${rate.toFixed(0)} images/s, ETA ${Math.round((total - done) / rate)} s)`);
  };
}

/** f(), then "what: N.N s" in the log. */
export function timed<T>(s: EvaluationState, what: string, f: () => T): T {
  const started = performance.now();
  const out = f();
  s.log(`${what}: ${seconds(started)}`);
  return out;
}

/** Seconds since `started` (a performance.now()), as "N.N s". */
export function seconds(started: number): string {
  return `${((performance.now() - started) / 1000).toFixed(1)} s`;
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

export function requireLabels(set: ImageSet): void {
  if (set.labels === null) throw new NotApplicableError(`${set.source} has no labels (the linear probe and kNN need labelled images)`);
}

/** Classes of the probe: the dataset's class list when known, else 1 + the largest label seen. */
export function numClasses(a: ImageSet, b: ImageSet): number {
  const largest = (s: ImageSet): number => tidy(() => s.labels!.max().item());
  return Math.max(a.classes?.length ?? 0, largest(a) + 1, largest(b) + 1);
}
