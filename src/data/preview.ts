// What the model will see: for n images, the original, its palette quantization, and the weak and
// strong views after quantization (tokens mapped back to colors). Each row is uint8 (n, H, W, C).
import { Tensor, tensor, tidy } from "../torch/index.ts";
import { Rng } from "./rng.ts";
import { setSize, type ImageSet } from "./image-set.ts";
import type { PaletteQuantizer } from "./palette.ts";
import { augmentPair, resolveStrongConfig, resolveWeakConfig, type StrongAugmentOptions, type WeakAugmentOptions } from "./augment/index.ts";

export interface PreviewRows {
  original: Tensor;
  quantized: Tensor;
  weak: Tensor;
  strong: Tensor;
}

/** Rows for n images picked at random (seeded) from the set. */
export function previewRows(set: ImageSet, palette: PaletteQuantizer, n: number, seed: number, weak: WeakAugmentOptions = {}, strong: StrongAugmentOptions = {}): PreviewRows {
  const count = Math.min(n, setSize(set));
  const rng = new Rng(seed);
  const picked = rng.permutation(setSize(set)).slice(0, count);
  const weakCfg = resolveWeakConfig(weak);
  const strongCfg = resolveStrongConfig(strong);
  return tidy(() => {
    const original = set.images.indexSelect(0, tensor(picked).long());
    const views = augmentPair(original, weakCfg, strongCfg, rng);
    const roundTrip = (images: Tensor) => palette.dequantize(palette.quantize(images));
    return { original, quantized: roundTrip(original), weak: roundTrip(views.weak), strong: roundTrip(views.strong) };
  });
}
