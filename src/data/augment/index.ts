// Batched, seeded augmentations of uint8 (B, H, W, C) image batches: GCRL's weak view (pad + random
// crop + flip) and strong view (SimCLR: resized crop, flip, color jitter, grayscale, blur).
// Parameters are drawn in JS from an Rng (sample*Params) and applied on tensors (apply*).
export {
  DEFAULT_WEAK_CONFIG,
  DEFAULT_STRONG_CONFIG,
  JITTER_OPS,
  AugmentConfigError,
  resolveWeakConfig,
  resolveStrongConfig,
  simclrColorJitter,
  type WeakAugmentConfig,
  type StrongAugmentConfig,
  type WeakAugmentOptions,
  type StrongAugmentOptions,
  type PadMode,
  type JitterOp,
} from "./config.ts";
export { sampleWeakParams, applyWeak, type WeakParams, type WeakSample } from "./weak.ts";
export { sampleStrongParams, applyStrong, identityStrongParams, type StrongParams, type StrongSample } from "./strong.ts";
export { sampleCropBox, resizedCropFlip, roundHalfEven, type CropBox } from "./resized-crop.ts";
export { applyColorJitter, applyColorJitter_, type ColorJitterSample } from "./color-jitter.ts";
export {
  GRAY_WEIGHTS,
  grayscale,
  adjustBrightness,
  adjustContrast,
  adjustSaturation,
  adjustHue,
  adjustBrightness_,
  adjustContrast_,
  adjustSaturation_,
  adjustHue_,
  toGrayscale_,
} from "./color.ts";
export { gaussianBlur, gaussianKernel1d, simclrBlurKernelSize } from "./blur.ts";
export { augmentPair, pairAugment, type AugmentedPair } from "./pair.ts";
