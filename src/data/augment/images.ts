// The input every augmentation takes: a batch of images as one uint8 (B, H, W, C) tensor, C = 1
// (grayscale) or 3 (RGB); and small per-sample parameter tensors built from JS arrays.
import { Tensor, tensor } from "../../torch/index.ts";

export interface BatchShape {
  batch: number;
  height: number;
  width: number;
  channels: 1 | 3;
}

/** Checks that `images` is uint8 (B, H, W, 1|3) and returns its shape. */
export function batchShape(what: string, images: Tensor): BatchShape {
  const s = images instanceof Tensor ? images.shape : [];
  if (!(images instanceof Tensor) || images.dtype !== "uint8" || s.length !== 4 || (s[3] !== 1 && s[3] !== 3)) {
    throw new TypeError(`${what}: images must be a uint8 tensor (B, H, W, C) with C = 1 or 3, got ${images instanceof Tensor ? images.toString() : String(images)}`);
  }
  return { batch: s[0]!, height: s[1]!, width: s[2]!, channels: s[3] as 1 | 3 };
}

/** Checks that a parameter set was sampled for `batch` samples. */
export function checkSampleCount(what: string, samples: readonly unknown[], batch: number): void {
  if (!Array.isArray(samples) || samples.length !== batch) {
    throw new RangeError(`${what}: parameters for ${Array.isArray(samples) ? samples.length : "no"} samples, but the batch has ${batch} images`);
  }
}

/** A float32 tensor of one value per sample, shaped (n, 1, 1, 1) to broadcast over (n, H, W, C). */
export function perSample(values: ArrayLike<number>, device: string): Tensor {
  return tensor(Float32Array.from(values), { shape: [values.length, 1, 1, 1], device });
}

/** An int64 tensor from JS integers, with the given shape. */
export function longTensor(values: Int32Array, shape: number[], device: string): Tensor {
  return tensor(values, { shape, device }).long();
}
