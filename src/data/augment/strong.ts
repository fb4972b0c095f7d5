// The strong view (GCRL x⁽²⁾, SimCLR's augmentation), in SimCLR's order:
//   random resized crop → horizontal flip → color jitter (p 0.8, per-sample order) → random
//   grayscale (p 0.2, RGB only) → optional Gaussian blur (p 0.5)
// All randomness is drawn in JS from the caller's Rng (sampleStrongParams); applyStrong is a pure
// function of (images, params). Images are converted to float32 once, every step works on values
// in [0, 255] (clamping after each color operation, as torchvision), and the result is rounded
// (half to even) back to uint8 once at the end.
import { Tensor, tidy, tensor } from "../../torch/index.ts";
import type { Rng } from "../rng.ts";
import { JITTER_OPS, resolveStrongConfig, type JitterOp, type StrongAugmentConfig, type StrongAugmentOptions } from "./config.ts";
import { batchShape, checkSampleCount } from "./images.ts";
import { checkCropBox, resizedCropFlip, sampleCropBox, type CropBox } from "./resized-crop.ts";
import { applyColorJitter_, type ColorJitterSample } from "./color-jitter.ts";
import { toGrayscale_ } from "./color.ts";
import { gaussianBlur, simclrBlurKernelSize } from "./blur.ts";

export interface StrongSample {
  /** The crop box, resized back to the full image (bilinear). */
  crop: CropBox;
  /** Mirror left–right after the resize. */
  flip: boolean;
  /** Color jitter factors and order, or null when jitter is not applied to this sample. */
  jitter: ColorJitterSample | null;
  /** Convert to grayscale (RGB only; keeps 3 equal channels). */
  grayscale: boolean;
  /** Gaussian blur sigma in pixels, or null for no blur. */
  blurSigma: number | null;
}

/** Everything applyStrong needs: the blur kernel size and one sample per image. */
export interface StrongParams {
  /** Odd blur kernel size (1: blur does nothing). */
  blurKernelSize: number;
  samples: StrongSample[];
}

/** Parameters that leave every image unchanged (a starting point for fixing parameters by hand). */
export function identityStrongParams(batch: number, height: number, width: number): StrongParams {
  return {
    blurKernelSize: simclrBlurKernelSize(height),
    samples: Array.from({ length: batch }, () => ({
      crop: { top: 0, left: 0, height, width },
      flip: false,
      jitter: null,
      grayscale: false,
      blurSigma: null,
    })),
  };
}

function sampleJitter(c: StrongAugmentConfig, channels: number, rng: Rng): ColorJitterSample {
  // Saturation and hue change nothing in a 1-channel image (torchvision skips them): not drawn.
  const ops: JitterOp[] = channels === 3 ? [...JITTER_OPS] : ["brightness", "contrast"];
  const order = c.jitterOrder === "random" ? Array.from(rng.permutation(ops.length), (i) => ops[i]!) : ops;
  const factor = (range: number): number => rng.uniform(Math.max(0, 1 - range), 1 + range);
  const brightness = factor(c.brightness);
  const contrast = factor(c.contrast);
  const saturation = channels === 3 ? factor(c.saturation) : 1;
  const hue = channels === 3 ? rng.uniform(-c.hue, c.hue) : 0;
  return { order, brightness, contrast, saturation, hue };
}

/**
 * Draws the strong view's parameters for a batch of (B, H, W, C) images, sample by sample in the
 * order the transforms run: crop box (torchvision RandomResizedCrop.get_params), flip (p 0.5 when
 * enabled), jitter (applied with jitterProbability; then its order and factors), grayscale (RGB
 * only), blur sigma (when blur is on, with blurProbability).
 */
export function sampleStrongParams(batch: number, height: number, width: number, channels: 1 | 3, config: StrongAugmentOptions, rng: Rng): StrongParams {
  const c = resolveStrongConfig(config);
  const samples: StrongSample[] = [];
  for (let b = 0; b < batch; b++) {
    const crop = sampleCropBox(height, width, c.scale, c.ratio, rng);
    const flip = c.flip && rng.bernoulli(0.5);
    const jitter = c.jitterProbability > 0 && rng.bernoulli(c.jitterProbability) ? sampleJitter(c, channels, rng) : null;
    const gray = channels === 3 && c.grayscaleProbability > 0 && rng.bernoulli(c.grayscaleProbability);
    const blurSigma = c.blur && rng.bernoulli(c.blurProbability) ? rng.uniform(c.blurSigma[0], c.blurSigma[1]) : null;
    samples.push({ crop, flip, jitter, grayscale: gray, blurSigma });
  }
  return { blurKernelSize: c.blurKernelSize ?? simclrBlurKernelSize(height), samples };
}

/** The strong view of uint8 (B, H, W, C) images under fixed parameters: uint8 (B, H, W, C). */
export function applyStrong(images: Tensor, params: StrongParams): Tensor {
  const { batch: B, height: H, width: W, channels: C } = batchShape("applyStrong", images);
  const samples = params.samples;
  checkSampleCount("applyStrong", samples, B);
  samples.forEach((s, b) => {
    checkCropBox(`applyStrong: sample ${b}`, s.crop, H, W);
    const j = s.jitter;
    const badJitter = j !== null && (![j.brightness, j.contrast, j.saturation, j.hue].every(Number.isFinite) || Math.min(j.brightness, j.contrast, j.saturation) < 0);
    if (badJitter) {
      throw new RangeError(`applyStrong: sample ${b}: jitter factors must be finite numbers >= 0 and the hue shift finite, got ${JSON.stringify(j)}`);
    }
    if (s.blurSigma !== null && !(Number.isFinite(s.blurSigma) && s.blurSigma > 0)) {
      throw new RangeError(`applyStrong: sample ${b}: blurSigma must be a positive number or null, got ${s.blurSigma}`);
    }
  });
  const k = params.blurKernelSize;
  if (!Number.isInteger(k) || k < 1 || k % 2 !== 1) throw new RangeError(`applyStrong: blurKernelSize must be an odd integer >= 1, got ${k}`);
  return tidy(() => {
    let x = resizedCropFlip(
      images,
      samples.map((s) => s.crop),
      samples.map((s) => s.flip),
    ); // (B, H, W, C) float in [0, 255], ours: changed in place from here on
    if (samples.some((s) => s.jitter !== null)) x = applyColorJitter_(x, samples.map((s) => s.jitter));
    if (C === 3 && samples.some((s) => s.grayscale)) toGrayscale_(x, samples.map((s) => s.grayscale));
    const blurred = samples.flatMap((s, b) => (s.blurSigma === null ? [] : [b]));
    if (blurred.length > 0 && k > 1) {
      const idx = tensor(Int32Array.from(blurred), { device: x.device }).long();
      const sigmas = blurred.map((b) => samples[b]!.blurSigma!);
      x = x.indexCopy(0, idx, gaussianBlur(x.indexSelect(0, idx), sigmas, k));
    }
    return x.round_().clamp_(0, 255).to("uint8");
  });
}
