// What RunEvaluation's stages return: the result of each measurement, the OOD scores and their
// descriptions, and the n/a value a stage gives when it cannot apply to a run.
import type { Tensor } from "../torch/index.ts";
import type { KidResult } from "./kid.ts";
import type { OodMetrics, RocCurve } from "./ood-metrics.ts";

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

export function isNotApplicable(x: unknown): x is NotApplicable {
  return typeof x === "object" && x !== null && "na" in x;
}
