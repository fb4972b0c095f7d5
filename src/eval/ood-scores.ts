// Per-image out-of-distribution scores (tensors or number lists in, Float64Array (N,) out).
//
// Convention (every OOD file of this project): **higher score = more OOD; OOD is the positive
// class** — so each score below is oriented, negated where its paper uses the opposite sign.
//
// Unsupervised (generative model, bits per palette token):
//   typicality           |NLL(x) − mean training NLL|                    (the typical set, not the mode)
//   complexity-corrected NLL(x) − L(x), L = a lossless compressor's bits per pixel of the same
//                        token map (Serrà et al. 2020, ICLR, "Input complexity and out-of-
//                        distribution detection with likelihood-based generative models", S(x))
//   likelihood ratio     NLL(x) − NLL_bg(x), NLL_bg of a background model of the same architecture
//                        trained on perturbed images (each pixel a random palette colour with
//                        probability μ): the background explains the population-level statistics
//                        (Ren et al. 2019, NeurIPS, "Likelihood ratios for out-of-distribution
//                        detection"; their LLR = log p(x) − log p_bg(x), negated here)
// Representation space:
//   kNN distance         1 − cos(z, z_(k)), z_(k) the k-th most similar training feature, features
//                        L2-normalised (Sun et al. 2022, ICML, "Out-of-distribution detection with
//                        deep nearest neighbors"; their distance ‖z − z_(k)‖² = 2 − 2·cos ranks alike)
// Supervised (logits (N, C) of a classifier such as the linear probe):
//   max softmax          −max_c softmax(logits)_c               (Hendrycks & Gimpel 2017, ICLR)
//   energy               E(x) = −T · logsumexp(logits / T)      (Liu et al. 2020, NeurIPS)
// Mahalanobis scores live in mahalanobis.ts, the compressor in complexity.ts.
import { Tensor, noGrad, normalize, tidy } from "../torch/index.ts";
import { checkMatrix, checkNumbers, checkPositiveInt } from "./score-checks.ts";

export interface KnnDistanceOptions {
  /**
   * Which neighbour's distance is the score (default 50: Sun et al.'s setting for CIFAR-10's 50,000
   * training images, the scale of Fashion-MNIST's 60,000; clamped to the number of training features).
   */
  k?: number;
  /** Queries per similarity block: the block is (chunk, N) floats (default 256). */
  chunk?: number;
}

export const KNN_DISTANCE_DEFAULTS = Object.freeze({ k: 50, chunk: 256 });

/** |bitsPerDim[i] − trainMeanBitsPerDim| (typicality: both too likely and too unlikely are OOD). */
export function typicalityScores(bitsPerDim: ArrayLike<number>, trainMeanBitsPerDim: number): Float64Array {
  const nll = checkNumbers("typicalityScores", "bitsPerDim", bitsPerDim);
  if (typeof trainMeanBitsPerDim !== "number" || !Number.isFinite(trainMeanBitsPerDim)) {
    throw new RangeError(`typicalityScores: trainMeanBitsPerDim must be a finite number, got ${String(trainMeanBitsPerDim)}`);
  }
  return nll.map((v) => Math.abs(v - trainMeanBitsPerDim));
}

/**
 * NLL(x) − L(x) in bits per dimension: the model's code length minus a generic compressor's
 * (complexityBitsPerDim in complexity.ts) for the same image. Both lists have one entry per image.
 */
export function complexityCorrectedScores(bitsPerDim: ArrayLike<number>, complexityBitsPerDim: ArrayLike<number>): Float64Array {
  return bitsPerDimDifference("complexityCorrectedScores", bitsPerDim, "complexityBitsPerDim", complexityBitsPerDim);
}

/**
 * NLL(x) − NLL_background(x) per image, both in bits/dim of the same palette: the likelihood-ratio
 * score of Ren et al. 2019 (higher = more OOD). Both lists have one entry per image.
 */
export function likelihoodRatioScores(bitsPerDim: ArrayLike<number>, backgroundBitsPerDim: ArrayLike<number>): Float64Array {
  return bitsPerDimDifference("likelihoodRatioScores", bitsPerDim, "backgroundBitsPerDim", backgroundBitsPerDim);
}

/** bitsPerDim[i] − other[i] per image, after checking both lists (finite numbers, one each per image). */
function bitsPerDimDifference(fn: string, bitsPerDim: ArrayLike<number>, otherName: string, other: ArrayLike<number>): Float64Array {
  const nll = checkNumbers(fn, "bitsPerDim", bitsPerDim);
  const o = checkNumbers(fn, otherName, other);
  if (o.length !== nll.length) {
    throw new RangeError(`${fn}: ${otherName} has ${o.length} entries, bitsPerDim has ${nll.length}; expected one each per image`);
  }
  return nll.map((v, i) => v - o[i]!);
}

function checkLogits(fn: string, logits: unknown): asserts logits is Tensor {
  checkMatrix(fn, "logits", logits, { what: "(N, C)" });
}

/** −max_c softmax(logits)_c per row of logits (N, C), computed in float64. */
export function maxSoftmaxScores(logits: Tensor): Float64Array {
  checkLogits("maxSoftmaxScores", logits);
  return noGrad(() => tidy(() => logits.double().softmax(1).maxDim(1).values.neg().cpu().toTypedArray<"float64">()));
}

/** E(x) = −T · logsumexp_c(logits_c / T) per row of logits (N, C), in float64 (stable for large logits). */
export function energyScores(logits: Tensor, temperature = 1): Float64Array {
  checkLogits("energyScores", logits);
  if (typeof temperature !== "number" || !(temperature > 0) || !Number.isFinite(temperature)) {
    throw new RangeError(`energyScores: temperature must be a positive finite number, got ${String(temperature)}`);
  }
  return noGrad(() => tidy(() => logits.double().div(temperature).logsumexp(1).mul(-temperature).cpu().toTypedArray<"float64">()));
}

/**
 * 1 − cosine similarity between each row of features (M, D) and its k-th most similar row of
 * trainFeatures (N, D). Rows are L2-normalised first (a zero row has similarity 0 to everything).
 * float64 when either input is float64, otherwise float32; on trainFeatures' device, in blocks of
 * `chunk` queries.
 */
export function knnDistanceScores(trainFeatures: Tensor, features: Tensor, options: KnnDistanceOptions = {}): Float64Array {
  const fn = "knnDistanceScores";
  checkMatrix(fn, "trainFeatures", trainFeatures);
  checkMatrix(fn, "features", features, { minRows: 0, dim: trainFeatures.size(1), what: "(M, D)" });
  const k = Math.min(checkPositiveInt(fn, "k", options.k ?? KNN_DISTANCE_DEFAULTS.k), trainFeatures.size(0));
  const chunk = checkPositiveInt(fn, "chunk", options.chunk ?? KNN_DISTANCE_DEFAULTS.chunk);
  const dtype = trainFeatures.dtype === "float64" || features.dtype === "float64" ? "float64" : "float32";
  const m = features.size(0);
  const out = new Float64Array(m);
  noGrad(() =>
    tidy(() => {
      const keys = normalize(trainFeatures.to(dtype), 2, 1).transpose(0, 1); // (D, N)
      for (let start = 0; start < m; start += chunk) {
        const rows = Math.min(chunk, m - start);
        const block = tidy(() => {
          const q = normalize(features.narrow(0, start, rows).toDevice(keys.device, dtype), 2, 1); // (rows, D)
          const kth = q.matmul(keys).topk(k, 1).values.narrow(1, k - 1, 1); // (rows, 1): k-th largest similarity
          return kth.reshape([rows]).double().rsub(1).cpu().toTypedArray<"float64">();
        });
        out.set(block, start);
      }
    }),
  );
  return out;
}
