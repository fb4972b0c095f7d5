// Batched color operations with one factor per sample, on float32 images (n, H, W, C) holding
// values in [0, 255]. They follow torchvision's tensor functions (adjust_brightness,
// adjust_contrast, adjust_saturation, adjust_hue, rgb_to_grayscale): each blends the image with
// black, its mean gray level or its grayscale version and clamps to [0, 255]; the caller rounds
// once at the end (torchvision on uint8 tensors truncates after every op instead).
//
// The `_` functions work in place on a tensor the caller owns (the strong view's float copy): on
// CPU an out-of-place op over a batch costs several times the arithmetic in allocation alone. The
// functions without `_` return a new tensor. Identity factors (1; a hue shift of 0 up to float
// rounding) leave an image unchanged.
import { Tensor, tensor, tidy, einsum } from "../../torch/index.ts";
import { perSample } from "./images.ts";

/**
 * ITU-R BT.601 luma weights, as PIL's convert("L") (torchvision's tensor rgb_to_grayscale rounds
 * the red weight to 0.2989).
 */
export const GRAY_WEIGHTS: readonly [number, number, number] = [0.299, 0.587, 0.114];

/** Grayscale of float images (n, H, W, 3) -> (n, H, W, 1); a 1-channel image is copied. */
export function grayscale(x: Tensor): Tensor {
  if (x.size(-1) === 1) return x.clone();
  return tidy(() => einsum("nhwc,c->nhw", x, tensor(Float32Array.from(GRAY_WEIGHTS), { device: x.device })).unsqueeze(-1));
}

/**
 * x ← f·x + (1−f)·end per sample, end broadcasting over x (a gray image (n, H, W, 1) or a gray
 * level (n, 1, 1, 1)); end is overwritten. f = 1 keeps x exactly, f = 0 gives end exactly.
 */
function blend_(x: Tensor, end: Tensor, factors: ArrayLike<number>): Tensor {
  x.mul_(perSample(factors, x.device));
  return x.add_(end.mul_(perSample(Array.from(factors, (f) => 1 - f), x.device)));
}

/** x ← clamp(f·x): torchvision adjust_brightness (a blend with black). */
export function adjustBrightness_(x: Tensor, factors: ArrayLike<number>): Tensor {
  tidy(() => x.mul_(perSample(factors, x.device)).clamp_(0, 255));
  return x;
}

/**
 * x ← clamp(f·x + (1−f)·m) with m the mean of the image's grayscale version (its only channel for
 * 1-channel images): torchvision adjust_contrast.
 */
export function adjustContrast_(x: Tensor, factors: ArrayLike<number>): Tensor {
  tidy(() => {
    const mean = grayscale(x.mean([1, 2], true)); // (n, 1, 1, 1): the gray mean is the gray of the channel means
    blend_(x, mean, factors).clamp_(0, 255);
  });
  return x;
}

/** x ← clamp(f·x + (1−f)·gray(x)): torchvision adjust_saturation (1-channel images are left alone). */
export function adjustSaturation_(x: Tensor, factors: ArrayLike<number>): Tensor {
  if (x.size(-1) === 1) return x;
  tidy(() => blend_(x, grayscale(x), factors).clamp_(0, 255));
  return x;
}

/** x ← gray(x) (3 equal channels) where gray[i] is true: torchvision rgb_to_grayscale(num_output_channels=3). */
export function toGrayscale_(x: Tensor, gray: readonly boolean[]): Tensor {
  if (x.size(-1) === 1) return x;
  tidy(() => blend_(x, grayscale(x), gray.map((g) => (g ? 0 : 1))));
  return x;
}

/**
 * Rotates the HSV hue of RGB images by `shifts` turns (h ↦ (h + shift) mod 1), keeping saturation
 * and value: torchvision adjust_hue (1-channel images are left alone), without building HSV.
 * With max, min and chroma C = max − min of a pixel, its hue in sextants is (torchvision _rgb2hsv)
 *   h6 = (g − b)/C if max = r;  2 + (b − r)/C else if max = g;  4 + (r − g)/C otherwise,
 * and HSV → RGB (torchvision _hsv2rgb) is, per channel n = 5 (r), 3 (g), 1 (b), with h6' = h6 + 6·shift:
 *   out_n = max − C·clamp(min(k, 4 − k), 0, 1),  k = (n + h6') mod 6
 *         = min + C·clamp(d − 1, 0, 1),          d = distance from n + h6' to 2 on the circle mod 6.
 * Gray pixels (C = 0) are unchanged. The output lies in [min, max]: no clamping needed.
 */
export function adjustHue_(x: Tensor, shifts: ArrayLike<number>): Tensor {
  if (x.size(-1) === 1) return x;
  tidy(() => {
    // Few allocations: on CPU a fresh buffer costs more than the arithmetic, so buffers are reused.
    const [r, g, b] = [0, 1, 2].map((c) => x.narrow(-1, c, 1)) as [Tensor, Tensor, Tensor];
    const max = r.maximum(g); // (n, H, W, 1)
    max.clampMin_(b);
    const min = r.minimum(g);
    min.clampMax_(b);
    const chroma = max.sub(min);
    const isR = max.eq(r);
    const isG = max.eq(g);
    // h6·C of the branch holding the max: start from b's, then overwrite where max = g, then where
    // max = r (torchvision's tie order r, g, b): h ← h + mask·(branch − h).
    const h6 = r.sub(g).add_(chroma, 4);
    const branch = b.sub(r).add_(chroma, 2);
    h6.add_(branch.sub_(h6).mul_(isG));
    branch.copy_(g).sub_(b);
    h6.add_(branch.sub_(h6).mul_(isR));
    // h6 + 6·shift, in sextants (gray pixels have h6·C = 0; C is clamped away from 0 for the division).
    h6.div_(branch.copy_(chroma).clamp_(1e-6, null)).add_(perSample(Array.from(shifts, (s) => 6 * s), x.device));
    const d = branch;
    const nearest = max.mul(0);
    [5, 3, 1].forEach((n, c) => {
      // d ← distance from n + h6' to 2 (mod 6); out = max − C·clamp(2 − d, 0, 1) = min + C·clamp(d − 1, 0, 1).
      d.copy_(h6).add_(n - 2);
      nearest.copy_(d).div_(6).round_();
      d.sub_(nearest.mul_(6)).abs_();
      x.narrow(-1, c, 1).copy_(d.sub_(1).clamp_(0, 1).mul_(chroma).add_(min));
    });
  });
  return x;
}

/** Out-of-place versions (a new tensor; x is left as it is). */
export const adjustBrightness = (x: Tensor, factors: ArrayLike<number>): Tensor => adjustBrightness_(x.clone(), factors);
export const adjustContrast = (x: Tensor, factors: ArrayLike<number>): Tensor => adjustContrast_(x.clone(), factors);
export const adjustSaturation = (x: Tensor, factors: ArrayLike<number>): Tensor => adjustSaturation_(x.clone(), factors);
export const adjustHue = (x: Tensor, shifts: ArrayLike<number>): Tensor => adjustHue_(x.clone(), shifts);
