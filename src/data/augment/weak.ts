// The weak view (GCRL x⁽¹⁾, also modelled generatively): pad by `pad` pixels, take a random H×W
// crop of the padded image — a random translation by up to ±pad — and optionally mirror it.
// Every output pixel is an exact copy of an input pixel (or a padding zero): integer gathers (whole
// rows, then columns within each row), no interpolation.
import { Tensor, tidy, pad as padImages } from "../../torch/index.ts";
import type { Rng } from "../rng.ts";
import { resolveWeakConfig, type PadMode, type WeakAugmentOptions } from "./config.ts";
import { batchShape, checkSampleCount, longTensor } from "./images.ts";

export interface WeakSample {
  /** Row of the crop's top-left corner in the padded image, in [0, 2·pad] (pad = no shift). */
  top: number;
  /** Column of the crop's top-left corner in the padded image, in [0, 2·pad]. */
  left: number;
  /** Mirror left–right after cropping. */
  flip: boolean;
}

/** Everything applyWeak needs: the padding and one sample per image. */
export interface WeakParams {
  pad: number;
  padMode: PadMode;
  samples: WeakSample[];
}

/**
 * Draws the weak view's parameters for a batch, sample by sample: top and left uniform in
 * [0, 2·pad] (torchvision RandomCrop(padding=pad)), then flip with p = 0.5 when enabled.
 */
export function sampleWeakParams(batch: number, height: number, width: number, config: WeakAugmentOptions, rng: Rng): WeakParams {
  const c = resolveWeakConfig(config);
  checkReflect(c.pad, c.padMode, height, width);
  const samples: WeakSample[] = [];
  for (let b = 0; b < batch; b++) {
    const top = rng.int(0, 2 * c.pad + 1);
    const left = rng.int(0, 2 * c.pad + 1);
    samples.push({ top, left, flip: c.flip && rng.bernoulli(0.5) });
  }
  return { pad: c.pad, padMode: c.padMode, samples };
}

function checkReflect(pad: number, mode: PadMode, height: number, width: number): void {
  if (mode === "reflect" && (pad >= height || pad >= width)) {
    throw new RangeError(`weak.pad: reflect padding needs pad < image size, got pad ${pad} for ${height}×${width} images`);
  }
}

/** Reflects a coordinate into [0, n) without repeating the edge (PyTorch's "reflect" padding). */
function reflect(i: number, n: number): number {
  if (i < 0) return -i;
  if (i >= n) return 2 * (n - 1) - i;
  return i;
}

/** The weak view of uint8 (B, H, W, C) images under fixed parameters: uint8 (B, H, W, C). */
export function applyWeak(images: Tensor, params: WeakParams): Tensor {
  const { batch: B, height: H, width: W, channels: C } = batchShape("applyWeak", images);
  checkSampleCount("applyWeak", params.samples, B);
  const p = params.pad;
  if (!Number.isInteger(p) || p < 0) throw new RangeError(`applyWeak: pad must be an integer >= 0, got ${p}`);
  checkReflect(p, params.padMode, H, W);
  // Source coordinates: in the zero-padded image (zero mode) or reflected into the image itself.
  const zero = params.padMode === "zero";
  const srcH = zero ? H + 2 * p : H;
  const srcW = zero ? W + 2 * p : W;
  const rows = new Int32Array(B * H);
  const cols = new Int32Array(B * W);
  params.samples.forEach((s, b) => {
    if (!(Number.isInteger(s.top) && Number.isInteger(s.left) && s.top >= 0 && s.left >= 0 && s.top <= 2 * p && s.left <= 2 * p)) {
      throw new RangeError(`applyWeak: sample ${b}: top/left must be integers in [0, ${2 * p}], got ${s.top}/${s.left}`);
    }
    for (let y = 0; y < H; y++) rows[b * H + y] = zero ? s.top + y : reflect(s.top + y - p, H);
    for (let x = 0; x < W; x++) {
      const px = s.left + (s.flip ? W - 1 - x : x);
      cols[b * W + x] = zero ? px : reflect(px - p, W);
    }
  });
  return tidy(() => {
    const device = images.device;
    const src = zero && p > 0 ? padImages(images, [0, 0, p, p, p, p]) : images; // (B, srcH, srcW, C)
    // Rows: whole rows of the (B·srcH, srcW·C) view (sample b's row i is b·srcH + i).
    const rowIndex = rows.map((r, i) => Math.floor(i / H) * srcH + r);
    const picked = src.reshape([B * srcH, srcW * C]).indexSelect(0, longTensor(rowIndex, [B * H], device)); // (B·H, srcW·C)
    // Columns: one gather along srcW·C, the index shared by all rows of a sample.
    const colIndex = new Int32Array(B * W * C);
    for (let i = 0; i < B * W; i++) for (let c = 0; c < C; c++) colIndex[i * C + c] = cols[i]! * C + c;
    const index = longTensor(colIndex, [B, 1, W * C], device).expand([B, H, W * C]);
    return picked.reshape([B, H, srcW * C]).gather(2, index).reshape([B, H, W, C]);
  });
}
