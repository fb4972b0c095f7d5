// The two views of a batch: augmentPair for one call, pairAugment for the loader (configs resolved
// once). The weak view's parameters are drawn before the strong view's, so the weak view of a batch
// is the same whether or not the strong view is computed.
import { Tensor, tidy } from "../../torch/index.ts";
import type { Rng } from "../rng.ts";
import { resolveStrongConfig, resolveWeakConfig, type StrongAugmentOptions, type WeakAugmentOptions } from "./config.ts";
import { batchShape } from "./images.ts";
import { applyWeak, sampleWeakParams } from "./weak.ts";
import { applyStrong, sampleStrongParams } from "./strong.ts";

export interface AugmentedPair {
  /** uint8 (B, H, W, C): pad + random crop (+ flip). */
  weak: Tensor;
  /** uint8 (B, H, W, C): SimCLR's augmentation. */
  strong: Tensor;
}

/** Weak and strong views of uint8 (B, H, W, C) images; a pure function of (images, configs, rng state). */
export function augmentPair(images: Tensor, weak: WeakAugmentOptions, strong: StrongAugmentOptions, rng: Rng): AugmentedPair {
  const { batch, height, width, channels } = batchShape("augmentPair", images);
  const weakParams = sampleWeakParams(batch, height, width, weak, rng);
  const strongParams = sampleStrongParams(batch, height, width, channels, strong, rng);
  return tidy(() => ({ weak: applyWeak(images, weakParams), strong: applyStrong(images, strongParams) }));
}

/**
 * An augmentation function for the PairLoader: (images, rng, withStrong) -> { weak, strong | null }.
 * The configs are validated here, once.
 */
export function pairAugment(weak: WeakAugmentOptions = {}, strong: StrongAugmentOptions = {}): (images: Tensor, rng: Rng, withStrong: boolean) => { weak: Tensor; strong: Tensor | null } {
  const weakConfig = resolveWeakConfig(weak);
  const strongConfig = resolveStrongConfig(strong);
  return (images, rng, withStrong) => {
    if (withStrong) return augmentPair(images, weakConfig, strongConfig, rng);
    const { batch, height, width } = batchShape("augment", images);
    return { weak: applyWeak(images, sampleWeakParams(batch, height, width, weakConfig, rng)), strong: null };
  };
}
