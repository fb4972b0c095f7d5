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
 * Rows [start, start + B) of a batch of `total` images (B: the images given): a data-parallel
 * rank's shard. The parameters of all `total` images are drawn, in the order of the whole batch,
 * and the shard's are applied, so each image gets the augmentation it gets in one process.
 */
export interface BatchRows {
  start: number;
  total: number;
}

/**
 * An augmentation function for the PairLoader: (images, rng, withStrong, rows?) -> { weak, strong | null }.
 * The configs are validated here, once.
 */
export function pairAugment(weak: WeakAugmentOptions = {}, strong: StrongAugmentOptions = {}): (images: Tensor, rng: Rng, withStrong: boolean, rows?: BatchRows) => { weak: Tensor; strong: Tensor | null } {
  const weakConfig = resolveWeakConfig(weak);
  const strongConfig = resolveStrongConfig(strong);
  return (images, rng, withStrong, rows) => {
    if (withStrong && rows === undefined) return augmentPair(images, weakConfig, strongConfig, rng);
    const { batch, height, width, channels } = batchShape("augment", images);
    const start = rows?.start ?? 0;
    const total = rows?.total ?? batch;
    if (!(Number.isInteger(start) && Number.isInteger(total) && start >= 0 && start + batch <= total)) {
      throw new RangeError(`augment: rows [${start}, ${start + batch}) do not lie in a batch of ${total}`);
    }
    // Weak parameters before strong ones, for the whole batch (augmentPair's order).
    const weakParams = sampleWeakParams(total, height, width, weakConfig, rng);
    const strongParams = withStrong ? sampleStrongParams(total, height, width, channels, strongConfig, rng) : null;
    const mine = <T>(samples: T[]): T[] => samples.slice(start, start + batch);
    return tidy(() => ({
      weak: applyWeak(images, { ...weakParams, samples: mine(weakParams.samples) }),
      strong: strongParams === null ? null : applyStrong(images, { ...strongParams, samples: mine(strongParams.samples) }),
    }));
  };
}
