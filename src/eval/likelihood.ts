// Per-image likelihood under the generative half of GCRL (../shared/design/GCRL.md section 4):
//
//   bpd(x) = −(1/(H·W)) Σ_{i,j} log₂ p(x_ij | x_<ij)          (bits per dimension, one per image)
//
// in palette space: the dimensions are the H·W colour-quantised tokens, not the 8-bit channels, so
// the numbers compare between models with the same palette only. The mean of bpd over a set is the
// test NLL the trainer reports (generativeLoss / ln 2); per image, it is the raw-likelihood OOD
// score (higher = less likely = more OOD). Computed by passImages (image-pass.ts).
import type { Tensor } from "../torch/index.ts";
import type { GCRLModel } from "../model/gcrl-model.ts";
import { passImages, type ImagePassOptions } from "./image-pass.ts";

export { bitsPerDimOfLogits } from "./image-pass.ts";

/** bpd(x) of every image of tokens int64 (N, H, W) → (N,) float64. */
export function imageBitsPerDim(model: GCRLModel, tokens: Tensor, options: Omit<ImagePassOptions, "withFeatures" | "withNll" | "representationLayer"> = {}): Float64Array {
  return passImages(model, tokens, { ...options, withFeatures: false, withNll: true }).bitsPerDim!;
}
