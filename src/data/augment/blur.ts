// Gaussian blur with a sigma per sample (SimCLR's optional blur), as torchvision's gaussian_blur:
// a normalised k×k Gaussian kernel (outer product of the 1-d kernel over linspace(−(k−1)/2,
// (k−1)/2, k)), reflect padding by k//2, one depthwise conv2d for the whole batch (groups =
// samples × channels, one kernel per sample).
import { Tensor, tensor, tidy, pad, conv2d } from "../../torch/index.ts";

/** SimCLR's kernel size: 10% of the image height, made odd (2·⌊⌊H/10⌋/2⌋ + 1). */
export function simclrBlurKernelSize(height: number): number {
  return 2 * Math.floor(Math.floor(height / 10) / 2) + 1;
}

/** torchvision's 1-d Gaussian kernel of size k (odd) and the given sigma, normalised to sum 1. */
export function gaussianKernel1d(size: number, sigma: number): number[] {
  const half = (size - 1) / 2;
  const pdf = Array.from({ length: size }, (_, i) => Math.exp(-0.5 * ((i - half) / sigma) ** 2));
  const total = pdf.reduce((a, b) => a + b, 0);
  return pdf.map((v) => v / total);
}

/** Blurs float images x (n, H, W, C) with one sigma per image and a k×k kernel; float (n, H, W, C). */
export function gaussianBlur(x: Tensor, sigmas: readonly number[], kernelSize: number): Tensor {
  const [n, H, W, C] = x.shape as [number, number, number, number];
  const half = Math.floor(kernelSize / 2);
  if (half === 0) return x.clone();
  if (half >= H || half >= W) {
    throw new RangeError(`strong.blurKernelSize: reflect padding needs kernelSize/2 < image size, got ${kernelSize} for ${H}×${W} images`);
  }
  const k2 = kernelSize * kernelSize;
  const weights = new Float32Array(n * C * k2);
  sigmas.forEach((sigma, i) => {
    const k = gaussianKernel1d(kernelSize, sigma);
    for (let c = 0; c < C; c++) {
      const base = (i * C + c) * k2;
      for (let u = 0; u < kernelSize; u++) for (let v = 0; v < kernelSize; v++) weights[base + u * kernelSize + v] = k[u]! * k[v]!;
    }
  });
  return tidy(() => {
    const planes = x.permute([0, 3, 1, 2]).reshape([1, n * C, H, W]); // one plane per (sample, channel)
    const padded = pad(planes, [half, half, half, half], "reflect");
    const w = tensor(weights, { shape: [n * C, 1, kernelSize, kernelSize], device: x.device });
    return conv2d(padded, w, null, { groups: n * C }).reshape([n, C, H, W]).permute([0, 2, 3, 1]).contiguous();
  });
}
