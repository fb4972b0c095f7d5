// Input complexity L(x) of images, in the units of our NLL — bits per pixel, i.e. per palette
// token (bits/dim) — for the complexity-corrected OOD score S(x) = NLL(x) − L(x) of Serrà et al.
// 2020 (ICLR, "Input complexity and out-of-distribution detection with likelihood-based generative
// models"); see complexityCorrectedScores in ood-scores.ts. (Convention of every OOD file here:
// higher score = more OOD, OOD is the positive class.)
//
//   L(x) = 8 · bytes(compress(x)) / (H · W)      x: one (H, W, C) 8-bit image, C = 1 or 3
//
// What is compressed: the evaluation (RunEvaluation.ood) compresses the *quantized image*, each
// pixel painted in its palette colour (PaletteQuantizer.dequantize: gray levels for C = 1, RGB for
// C = 3), i.e. the image exactly as the model sees it — as Serrà et al. compress the input image.
// This works for every palette size K (an RGB palette has K = 512 > 256 tokens, which fit no 8-bit
// token map). complexityBitsPerDim also takes (N, H, W) token maps with values 0..255, compressed as
// one-channel 8-bit images of the indices.
//
// Compressors:
//   "png"     the whole PNG file from sharp (libvips + libpng): compression level 9 with adaptive
//             (per-row) filtering, 8-bit grayscale or RGB. Like Serrà et al., who took the PNG file
//             size, it includes the container (signature, IHDR, pHYs, IDAT, IEND chunks and the zlib
//             wrapper, ~80 bytes): a constant for one image size, which shifts every score alike.
//   "deflate" node:zlib deflateRawSync at level 9 of the raw row-major (H, W, C) bytes (no header,
//             no filter).
import { deflateRawSync } from "node:zlib";
import sharp from "sharp";
import { Tensor, noGrad, tidy } from "../torch/index.ts";
import { isFloating } from "../torch/dtype.ts";

export const COMPRESSORS = ["png", "deflate"] as const;
export type Compressor = (typeof COMPRESSORS)[number];


export interface ComplexityOptions {
  /** PNG encodes in flight at once (sharp runs them on libuv's thread pool); default 8. */
  concurrency?: number;
}

export const COMPLEXITY_DEFAULTS = Object.freeze({ concurrency: 8 });

function checkCompressor(fn: string, compressor: unknown): Compressor {
  if (compressor === "png" || compressor === "deflate") return compressor;
  throw new RangeError(`${fn}: compressor must be one of ${COMPRESSORS.map((c) => JSON.stringify(c)).join(", ")}, got ${typeof compressor === "string" ? JSON.stringify(compressor) : String(compressor)}`);
}

/**
 * The compressed bytes of one (height, width, channels) 8-bit image given row-major in pixels (a PNG
 * file for "png", a raw deflate stream for "deflate"); channels 1 (gray) or 3 (RGB).
 */
export async function compressImage(pixels: Uint8Array, height: number, width: number, compressor: Compressor = "png", channels: 1 | 3 = 1): Promise<Buffer> {
  const fn = "compressImage";
  checkCompressor(fn, compressor);
  for (const [name, v] of [["height", height], ["width", width]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`${fn}: ${name} must be a positive integer, got ${String(v)}`);
  }
  if (channels !== 1 && channels !== 3) throw new RangeError(`${fn}: channels must be 1 or 3, got ${String(channels)}`);
  const size = height * width * channels;
  if (!(pixels instanceof Uint8Array) || pixels.length !== size) {
    throw new RangeError(`${fn}: pixels must be a Uint8Array of ${height}×${width}×${channels} = ${size} bytes, got ${pixels instanceof Uint8Array ? pixels.length : String(pixels)}`);
  }
  const bytes = Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength);
  if (compressor === "deflate") return deflateRawSync(bytes, { level: 9 });
  return sharp(bytes, { raw: { width, height, channels } })
    .toColourspace(channels === 1 ? "b-w" : "srgb")
    .png({ compressionLevel: 9, adaptiveFiltering: true, palette: false })
    .toBuffer();
}

/** One (height, width) token map (values 0..255) as a one-channel 8-bit image: compressImage with channels 1. */
export async function compressTokenMap(pixels: Uint8Array, height: number, width: number, compressor: Compressor = "png"): Promise<Buffer> {
  return compressImage(pixels, height, width, compressor, 1);
}

/**
 * The images as row-major bytes: (N, H, W, C) uint8 images (C = 1 or 3), or (N, H, W) integer token
 * maps with values in [0, 255] (C = 1), after checking dtype, shape and range.
 */
function imageBytes(fn: string, x: unknown): { bytes: Uint8Array; n: number; h: number; w: number; c: 1 | 3 } {
  const expected = "(N, H, W, C) uint8 images or (N, H, W) integer token maps";
  if (!(x instanceof Tensor)) throw new TypeError(`${fn}: expected ${expected}, got ${String(x)}`);
  if (isFloating(x.dtype) || x.dtype === "bool") throw new TypeError(`${fn}: expected ${expected}, got ${x.dtype}`);
  if (x.ndim === 4 && x.dtype !== "uint8") throw new TypeError(`${fn}: (N, H, W, C) images must be uint8, got ${x.dtype}`);
  if (x.ndim === 4 && x.size(3) !== 1 && x.size(3) !== 3) throw new RangeError(`${fn}: images must have C = 1 or 3 channels, got shape [${x.shape.join(", ")}]`);
  if (x.ndim !== 3 && x.ndim !== 4) throw new RangeError(`${fn}: expected ${expected}, got shape [${x.shape.join(", ")}]`);
  const [n, h, w] = x.shape as [number, number, number];
  const c = (x.ndim === 4 ? x.size(3) : 1) as 1 | 3;
  if (h < 1 || w < 1) throw new RangeError(`${fn}: images must have H, W >= 1, got shape [${x.shape.join(", ")}]`);
  if (n === 0) return { bytes: new Uint8Array(0), n, h, w, c };
  const bytes = noGrad(() =>
    tidy(() => {
      if (x.dtype !== "uint8") {
        const lo = x.min().item();
        const hi = x.max().item();
        if (lo < 0 || hi > 255) throw new RangeError(`${fn}: token maps must lie in [0, 255] to be stored as 8-bit pixels, got values from ${lo} to ${hi} (compress the palette-coloured image instead)`);
      }
      return x.to("uint8").contiguous().cpu().toTypedArray<"uint8">();
    }),
  );
  return { bytes, n, h, w, c };
}

/**
 * L(x) in bits per pixel for each image of x: (N, H, W, C) uint8 images or (N, H, W) token maps
 * (integer, values 0..255): 8 · compressed bytes / (H · W). PNG encodes run `concurrency` at a time.
 */
export async function complexityBitsPerDim(x: Tensor, compressor: Compressor = "png", options: ComplexityOptions = {}): Promise<Float64Array> {
  const fn = "complexityBitsPerDim";
  checkCompressor(fn, compressor);
  const concurrency = options.concurrency ?? COMPLEXITY_DEFAULTS.concurrency;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`${fn}: concurrency must be a positive integer, got ${String(concurrency)}`);
  const { bytes, n, h, w, c } = imageBytes(fn, x);
  const size = h * w * c;
  const out = new Float64Array(n);
  const image = (i: number): Uint8Array => bytes.subarray(i * size, (i + 1) * size);
  if (compressor === "deflate") {
    for (let i = 0; i < n; i++) out[i] = (8 * deflateRawSync(image(i), { level: 9 }).length) / (h * w);
    return out;
  }
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      out[i] = (8 * (await compressImage(image(i), h, w, "png", c)).length) / (h * w);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  return out;
}
