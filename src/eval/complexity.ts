// Input complexity L(x) of token maps: the code length of a generic lossless compressor, in the
// units of our NLL — bits per palette token (bits/dim) — for the complexity-corrected OOD score
// S(x) = NLL(x) − L(x) of Serrà et al. 2020 (ICLR, "Input complexity and out-of-distribution
// detection with likelihood-based generative models"); see complexityCorrectedScores in ood-scores.ts.
// (Convention of every OOD file here: higher score = more OOD, OOD is the positive class.)
//
//   L(x) = 8 · bytes(compress(x)) / (H · W)      x: the (H, W) token map as an 8-bit one-channel image
//
// Compressors:
//   "png"     the whole PNG file from sharp (libvips + libpng): compression level 9 with adaptive
//             (per-row) filtering, 8-bit grayscale. Like Serrà et al., who took the PNG file size,
//             it includes the container (signature, IHDR, pHYs, IDAT, IEND chunks and the zlib
//             wrapper, ~80 bytes): a constant for one image size, which shifts every score alike.
//   "deflate" node:zlib deflateRawSync at level 9 of the raw row-major bytes (no header, no filter).
// The token map is compressed as it is (palette indices 0..K−1, not the dequantised colours), so L
// measures the same symbols the model's NLL does.
import { deflateRawSync } from "node:zlib";
import sharp from "sharp";
import { Tensor, noGrad, tidy } from "../torch/index.ts";
import { isFloating } from "../torch/dtype.ts";

export type Compressor = "png" | "deflate";

export const COMPRESSORS: readonly Compressor[] = Object.freeze(["png", "deflate"]);

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
 * The compressed bytes of one (height, width) 8-bit one-channel image given row-major in pixels
 * (a PNG file for "png", a raw deflate stream for "deflate").
 */
export async function compressTokenMap(pixels: Uint8Array, height: number, width: number, compressor: Compressor = "png"): Promise<Buffer> {
  const fn = "compressTokenMap";
  checkCompressor(fn, compressor);
  for (const [name, v] of [["height", height], ["width", width]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`${fn}: ${name} must be a positive integer, got ${String(v)}`);
  }
  if (!(pixels instanceof Uint8Array) || pixels.length !== height * width) {
    throw new RangeError(`${fn}: pixels must be a Uint8Array of ${height}×${width} = ${height * width} bytes, got ${pixels instanceof Uint8Array ? pixels.length : String(pixels)}`);
  }
  const bytes = Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength);
  if (compressor === "deflate") return deflateRawSync(bytes, { level: 9 });
  return sharp(bytes, { raw: { width, height, channels: 1 } })
    .toColourspace("b-w")
    .png({ compressionLevel: 9, adaptiveFiltering: true, palette: false })
    .toBuffer();
}

/** The (N, H, W) token maps as row-major bytes, after checking dtype, shape and range. */
function tokenBytes(fn: string, tokens: unknown): { bytes: Uint8Array; n: number; h: number; w: number } {
  if (!(tokens instanceof Tensor)) throw new TypeError(`${fn}: tokens must be an integer (N, H, W) tensor, got ${String(tokens)}`);
  if (tokens.ndim !== 3) throw new RangeError(`${fn}: tokens must be a 3-d (N, H, W) tensor, got shape [${tokens.shape.join(", ")}]`);
  if (isFloating(tokens.dtype) || tokens.dtype === "bool") {
    throw new TypeError(`${fn}: tokens must be an integer tensor (palette indices), got ${tokens.dtype}`);
  }
  const [n, h, w] = tokens.shape as [number, number, number];
  if (h < 1 || w < 1) throw new RangeError(`${fn}: tokens must have H, W >= 1, got shape [${tokens.shape.join(", ")}]`);
  if (n === 0) return { bytes: new Uint8Array(0), n, h, w };
  const bytes = noGrad(() =>
    tidy(() => {
      const lo = tokens.min().item();
      const hi = tokens.max().item();
      if (lo < 0 || hi > 255) throw new RangeError(`${fn}: tokens must lie in [0, 255] to be stored as 8-bit pixels, got values from ${lo} to ${hi}`);
      return tokens.to("uint8").contiguous().cpu().toTypedArray<"uint8">();
    }),
  );
  return { bytes, n, h, w };
}

/**
 * L(x) in bits per pixel for each token map of tokens (N, H, W) (integer dtype, values 0..255):
 * 8 · compressed bytes / (H · W). PNG encodes run `concurrency` at a time.
 */
export async function complexityBitsPerDim(tokens: Tensor, compressor: Compressor = "png", options: ComplexityOptions = {}): Promise<Float64Array> {
  const fn = "complexityBitsPerDim";
  checkCompressor(fn, compressor);
  const concurrency = options.concurrency ?? COMPLEXITY_DEFAULTS.concurrency;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`${fn}: concurrency must be a positive integer, got ${String(concurrency)}`);
  const { bytes, n, h, w } = tokenBytes(fn, tokens);
  const pixels = h * w;
  const out = new Float64Array(n);
  const image = (i: number): Uint8Array => bytes.subarray(i * pixels, (i + 1) * pixels);
  if (compressor === "deflate") {
    for (let i = 0; i < n; i++) out[i] = (8 * deflateRawSync(image(i), { level: 9 }).length) / pixels;
    return out;
  }
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      out[i] = (8 * (await compressTokenMap(image(i), h, w, "png")).length) / pixels;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  return out;
}
