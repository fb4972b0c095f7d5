// Representations r(x) of many images at once, for the probes and detectors of the evaluation
// (../shared/design/GCRL.md section 4): a thin front over passImages (image-pass.ts), which
// batches, moves tokens to the model's device, and runs without gradients in eval mode.
import type { Tensor } from "../torch/index.ts";
import type { GCRLModel } from "../model/gcrl-model.ts";
import { passImages, type ImagePassOptions } from "./image-pass.ts";

export { passImages, IMAGE_PASS_DEFAULTS, type ImagePassOptions, type ImagePassResult } from "./image-pass.ts";

/** r(x) of every image: tokens int64 (N, H, W) → float32 (N, d) on the CPU (the caller disposes it). */
export function encodeFeatures(model: GCRLModel, tokens: Tensor, options: Omit<ImagePassOptions, "withFeatures" | "withNll"> = {}): Tensor {
  return passImages(model, tokens, { ...options, withFeatures: true, withNll: false }).features!;
}
