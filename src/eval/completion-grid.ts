// The completion picture, one line per image: the original (in palette colours) | the same image
// with rows ≥ givenRows painted mid-gray (what the model was given) | its completions. Pure
// tensor helpers shared by `gcrl complete` and the evaluation report; feed the rows to
// imageGrid (src/report/grid.ts).
import { Tensor, cat, tidy } from "../torch/index.ts";
import type { PaletteQuantizer } from "../data/palette.ts";

/** The gray that hides the rows a completion did not see. */
export const MASK_GRAY = 128;

/**
 * images uint8 (N, H, W, C) → a copy with rows ≥ givenRows set to `fill` (default 128) in every
 * channel. givenRows in [0, H].
 */
export function maskedImages(images: Tensor, givenRows: number, fill = MASK_GRAY): Tensor {
  if (!(images instanceof Tensor) || images.dtype !== "uint8" || images.ndim !== 4) {
    throw new TypeError(`maskedImages: images must be uint8 (N, H, W, C), got ${images instanceof Tensor ? images.toString() : String(images)}`);
  }
  const h = images.shape[1]!;
  checkGivenRows("maskedImages", givenRows, h);
  if (!Number.isInteger(fill) || fill < 0 || fill > 255) throw new RangeError(`maskedImages: fill must be an integer in [0, 255], got ${fill}`);
  return tidy(() => {
    const out = images.clone();
    if (givenRows < h) out.narrow(1, givenRows, h - givenRows).fill_(fill);
    return out;
  });
}

/**
 * originals int64 (N, H, W) tokens and completions int64 (N, S, H, W) of them → N grid rows, row n
 * uint8 (2 + S, H, W, C): original | masked at givenRows | S completions, painted with the palette.
 */
export function completionGridRows(palette: PaletteQuantizer, originals: Tensor, completions: Tensor, givenRows: number): Tensor[] {
  const so = originals.shape;
  const sc = completions.shape;
  if (originals.ndim !== 3) throw new TypeError(`completionGridRows: originals must be int64 tokens (N, H, W), got ${originals.toString()}`);
  if (completions.ndim !== 4 || sc[0] !== so[0] || sc[2] !== so[1] || sc[3] !== so[2]) {
    throw new TypeError(`completionGridRows: completions must be tokens (${so[0]}, S, ${so[1]}, ${so[2]}) for originals [${so.join(", ")}], got ${completions.toString()}`);
  }
  checkGivenRows("completionGridRows", givenRows, so[1]!);
  return tidy(() => {
    const original = palette.dequantize(originals); // (N, H, W, C)
    const masked = maskedImages(original, givenRows);
    // Painted where the originals are: the sampler returns completions on the model's device
    // (`gcrl complete --device cuda`), the originals come from the CPU data; cat needs one device.
    const painted = palette.dequantize(completions.device === originals.device ? completions : completions.toDevice(originals.device)); // (N, S, H, W, C)
    return Array.from({ length: so[0]! }, (_, n) => cat([original.narrow(0, n, 1), masked.narrow(0, n, 1), painted.select(0, n)], 0));
  });
}

function checkGivenRows(where: string, givenRows: number, h: number): void {
  if (!Number.isInteger(givenRows) || givenRows < 0 || givenRows > h) {
    throw new RangeError(`${where}: givenRows must be an integer in [0, ${h}], got ${givenRows}`);
  }
}
