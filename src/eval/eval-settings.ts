// EvalSettings: every choice `gcrl eval` makes, as plain data with documented defaults. The
// resolved settings are written into eval.json and stated in the report, so every number can be
// traced to how it was measured (docs/evaluation.md describes each one).
import type { Compressor } from "./complexity.ts";

export interface EvalSettings {
  /** Images per forward pass. */
  batchSize: number;
  /**
   * Encoder layer r(x) pools from: 1..encoderLayers, or "auto" — the iGPT protocol: a linear probe
   * on every layer's r(x), the layer with the best accuracy on the validation part of the training
   * split is used for every number (test labels are never read to choose it). Without labels "auto"
   * falls back to the run's model.representationLayer (else the last layer).
   */
  representationLayer: number | "auto";
  /** r(x) = every layer's pooled features concatenated (L·d dims) instead of one layer's. */
  concatLayers: boolean;
  /** Training images whose features the probe, kNN and OOD scorers fit on (null: the whole training split). */
  trainImages: number | null;
  /** Test images evaluated (null: the whole test split). */
  testImages: number | null;
  /** Linear probe: fraction of the training features held out to choose the L2 strength. */
  probeValidationFraction: number;
  /** Linear probe: the L2 strengths tried (null: the probe's default grid). */
  probeL2Grid: number[] | null;
  /** kNN classifier: neighbours and vote temperature (cosine similarity, weights exp(s / T)). */
  knnK: number;
  knnTemperature: number;
  /** Training images whose mean bits/dim anchors the typicality score (first N of the training split). */
  likelihoodTrainImages: number;
  /** Unconditional samples drawn for the sample grid (and FID, see fidSamples). */
  samples: number;
  temperature: number;
  /** 0: sample from all K colours. */
  topK: number;
  /** Completions: test images completed, rows given (null: half the image), completions per image. */
  completionImages: number;
  completionRows: number | null;
  completionSamples: number;
  /** FID / KID: generated samples compared with as many test images (0: skip FID). */
  fidSamples: number;
  /** Folder of the FID feature CNN (`gcrl fid-net train`); null: fid-nets/<dataset>. Trained there when it holds none. */
  fidNet: string | null;
  /** Training images the FID CNN learns from when it has to be trained (null: the whole training split). */
  fidNetTrainImages: number | null;
  /** A TorchScript Inception-v3 (clean-fid's inception-2015-12-05.pt): FID/KID also in its features. */
  inception: string | null;
  /** KID subsets and subset size (clean-fid: 100 × 1000, capped at the sample count). */
  kidSubsets: number;
  kidSubsetSize: number;
  /** OOD dataset (null: none; the default depends on the in-distribution dataset, see defaultOodDataset). */
  ood: string | null;
  oodDataDir: string | null;
  oodSplit: "train" | "test" | "all";
  /** OOD images evaluated (null: the whole split). */
  oodImages: number | null;
  /**
   * A background run for the likelihood-ratio score: the same architecture and palette, trained on
   * perturbed images (`gcrl train --data.perturb 0.2 --objective.mode igpt`); null: the score is n/a.
   */
  background: string | null;
  /** Lossless compressor of the complexity-corrected likelihood score. */
  compressor: Compressor;
  /** kNN-distance OOD score: distance to the k-th nearest training feature. */
  oodKnnK: number;
  seed: number;
}

export const EVAL_DEFAULTS: Readonly<EvalSettings> = Object.freeze({
  batchSize: 256,
  representationLayer: "auto",
  concatLayers: false,
  trainImages: null,
  testImages: null,
  probeValidationFraction: 0.1,
  probeL2Grid: null,
  knnK: 20,
  knnTemperature: 0.07,
  likelihoodTrainImages: 5000,
  samples: 64,
  temperature: 1,
  topK: 0,
  completionImages: 8,
  completionRows: null,
  completionSamples: 4,
  fidSamples: 1000,
  fidNet: null,
  fidNetTrainImages: null,
  inception: null,
  kidSubsets: 100,
  kidSubsetSize: 1000,
  ood: null,
  oodDataDir: null,
  oodSplit: "test",
  oodImages: null,
  background: null,
  compressor: "png",
  oodKnnK: 50,
  seed: 0,
});

/**
 * The usual far-OOD partner of each built-in dataset: Fashion-MNIST ↔ MNIST digits (the pair of
 * ../shared/design/GCRL.md section 4), null where none is available offline.
 */
export function defaultOodDataset(inDataset: string): string | null {
  switch (inDataset) {
    case "fashion-mnist":
      return "mnist-digits";
    case "mnist":
    case "mnist-digits":
      return "fashion-mnist";
    default:
      return null;
  }
}
