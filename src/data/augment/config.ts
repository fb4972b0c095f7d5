// The two augmentation configs — plain data with commented defaults — and their validation.
//
// A config given by a user (code, a JSON config file) holds only overrides; resolveWeakConfig /
// resolveStrongConfig fill in the defaults, reject unknown keys and check every value, with errors
// that name the key: `strong.scale: expected [min, max] with 0 < min <= max <= 1, got [0.5, 0.2]`.
// Resolving a resolved config gives the same config back.
//
// Sources of the defaults: GCRL = ../shared/design/GCRL.md §2 (Kim, Kim & Lee, arXiv 2106.06162);
// SimCLR = Chen et al. 2020 (arXiv 2002.05709), appendix A, and its reference code; torchvision =
// the transforms SimCLR's PyTorch re-implementations use (RandomResizedCrop, ColorJitter, ...).

/** How the weak view's border is filled: zeros (torchvision RandomCrop(padding=p)) or a mirror image. */
export type PadMode = "zero" | "reflect";

/** The four color-jitter operations, in torchvision's (and the "fixed" order's) sequence. */
export type JitterOp = "brightness" | "contrast" | "saturation" | "hue";
export const JITTER_OPS: readonly JitterOp[] = ["brightness", "contrast", "saturation", "hue"];

export interface WeakAugmentConfig {
  /** Pixels of padding before the random H×W crop, i.e. a random translation of up to ±pad. GCRL: 2 (range 2–4). */
  readonly pad: number;
  /** Border fill: "zero" (GCRL/torchvision RandomCrop default) or "reflect" (needs pad < H and W). */
  readonly padMode: PadMode;
  /** Horizontal flip with p = 0.5. GCRL: on, a per-dataset option — turn it off for digits. */
  readonly flip: boolean;
}

export interface StrongAugmentConfig {
  /** Random resized crop: area fraction [min, max]. GCRL: [0.2, 1] (SimCLR paper and torchvision: [0.08, 1]). */
  readonly scale: readonly [number, number];
  /** Random resized crop: aspect ratio w/h range, sampled log-uniformly. SimCLR/torchvision: [3/4, 4/3]. */
  readonly ratio: readonly [number, number];
  /** Horizontal flip with p = 0.5. SimCLR: on. */
  readonly flip: boolean;
  /** Probability that color jitter is applied to a sample. SimCLR: 0.8. */
  readonly jitterProbability: number;
  /**
   * Color-jitter strength s. GCRL: 0.5 (SimCLR: 1.0 on ImageNet, 0.5 on CIFAR-10). SimCLR's mapping
   * gives the four ranges below unless they are set explicitly: brightness = contrast = saturation
   * = 0.8·s, hue = 0.2·s.
   */
  readonly jitterStrength: number;
  /** Brightness factor ~ U[max(0, 1−b), 1+b] (torchvision ColorJitter). Default 0.8·0.5 = 0.4. */
  readonly brightness: number;
  /** Contrast factor ~ U[max(0, 1−c), 1+c], blending with the mean of the grayscale image. Default 0.4. */
  readonly contrast: number;
  /** Saturation factor ~ U[max(0, 1−s), 1+s], blending with the grayscale image (RGB only). Default 0.4. */
  readonly saturation: number;
  /** Hue shift ~ U[−h, h] in turns of the HSV hue circle, 0 <= h <= 0.5 (RGB only). Default 0.2·0.5 = 0.1. */
  readonly hue: number;
  /** "random": a new order of the four ops per sample (torchvision, SimCLR); "fixed": brightness, contrast, saturation, hue. */
  readonly jitterOrder: "random" | "fixed";
  /** Probability of converting to grayscale (RGB only; the result keeps 3 equal channels). SimCLR: 0.2. */
  readonly grayscaleProbability: number;
  /** Gaussian blur. SimCLR: on for ImageNet, off for CIFAR; GCRL: optional. Default off. */
  readonly blur: boolean;
  /** Probability of blurring a sample when blur is on. SimCLR: 0.5. */
  readonly blurProbability: number;
  /** Blur sigma ~ U[min, max] in pixels. SimCLR: [0.1, 2.0]. */
  readonly blurSigma: readonly [number, number];
  /**
   * Blur kernel size (odd), or null for SimCLR's rule: 10% of the image height, made odd
   * (2·⌊⌊H/10⌋/2⌋ + 1: 23 for 224, 3 for 28 and 32, 1 — no blur — below 20).
   */
  readonly blurKernelSize: number | null;
}

/** What a user may pass: any subset of the keys. */
export type WeakAugmentOptions = Partial<WeakAugmentConfig>;
export type StrongAugmentOptions = Partial<StrongAugmentConfig>;

export const DEFAULT_WEAK_CONFIG: WeakAugmentConfig = Object.freeze({
  pad: 2,
  padMode: "zero",
  flip: true,
});

/** SimCLR's color-jitter ranges for a strength s: brightness = contrast = saturation = 0.8·s, hue = 0.2·s. */
export function simclrColorJitter(strength: number): { brightness: number; contrast: number; saturation: number; hue: number } {
  return { brightness: 0.8 * strength, contrast: 0.8 * strength, saturation: 0.8 * strength, hue: 0.2 * strength };
}

const GCRL_JITTER_STRENGTH = 0.5;

export const DEFAULT_STRONG_CONFIG: StrongAugmentConfig = Object.freeze({
  scale: Object.freeze([0.2, 1]) as readonly [number, number],
  ratio: Object.freeze([3 / 4, 4 / 3]) as readonly [number, number],
  flip: true,
  jitterProbability: 0.8,
  jitterStrength: GCRL_JITTER_STRENGTH,
  ...simclrColorJitter(GCRL_JITTER_STRENGTH),
  jitterOrder: "random",
  grayscaleProbability: 0.2,
  blur: false,
  blurProbability: 0.5,
  blurSigma: Object.freeze([0.1, 2.0]) as readonly [number, number],
  blurKernelSize: null,
});

/** An augmentation config value that fails validation; the message names the key. */
export class AugmentConfigError extends RangeError {
  override name = "AugmentConfigError";
}

function show(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(show).join(", ")}]`;
  if (typeof v === "number" || typeof v === "boolean" || v === null || v === undefined) return String(v);
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}

function fail(key: string, expected: string, got: unknown): never {
  throw new AugmentConfigError(`${key}: expected ${expected}, got ${show(got)}`);
}

function asObject(name: string, options: unknown): Record<string, unknown> {
  if (options === undefined || options === null) return {};
  if (typeof options !== "object" || Array.isArray(options)) fail(name, "an object of options", options);
  // A key set to undefined means "the default", as if it were absent.
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
}

function rejectUnknown(name: string, options: Record<string, unknown>, known: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw new AugmentConfigError(`${name}: unknown key '${key}'; known keys: ${known.join(", ")}`);
  }
}

const isNum = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

function checkBool(key: string, v: unknown): boolean {
  if (typeof v !== "boolean") fail(key, "true or false", v);
  return v;
}

function checkProbability(key: string, v: unknown): number {
  if (!isNum(v) || v < 0 || v > 1) fail(key, "a probability in [0, 1]", v);
  return v;
}

function checkNonNegative(key: string, v: unknown): number {
  if (!isNum(v) || v < 0) fail(key, "a number >= 0", v);
  return v;
}

function checkRange(key: string, v: unknown, expected: string, ok: (lo: number, hi: number) => boolean): readonly [number, number] {
  if (!Array.isArray(v) || v.length !== 2 || !isNum(v[0]) || !isNum(v[1]) || !(v[0] <= v[1]) || !ok(v[0], v[1])) {
    fail(key, expected, v);
  }
  return Object.freeze([v[0], v[1]]) as readonly [number, number];
}

/** The full weak config: defaults filled in, unknown keys rejected, every value checked. */
export function resolveWeakConfig(options: WeakAugmentOptions = {}, name = "weak"): WeakAugmentConfig {
  const o = asObject(name, options);
  rejectUnknown(name, o, Object.keys(DEFAULT_WEAK_CONFIG));
  const c = { ...DEFAULT_WEAK_CONFIG, ...o } as Record<string, unknown>;
  if (!Number.isInteger(c.pad) || (c.pad as number) < 0) fail(`${name}.pad`, "an integer >= 0", c.pad);
  if (c.padMode !== "zero" && c.padMode !== "reflect") fail(`${name}.padMode`, `"zero" or "reflect"`, c.padMode);
  return Object.freeze({ pad: c.pad as number, padMode: c.padMode, flip: checkBool(`${name}.flip`, c.flip) });
}

/**
 * The full strong config: defaults filled in, unknown keys rejected, every value checked. The
 * brightness/contrast/saturation/hue ranges come from jitterStrength (SimCLR's mapping) unless given.
 */
export function resolveStrongConfig(options: StrongAugmentOptions = {}, name = "strong"): StrongAugmentConfig {
  const o = asObject(name, options);
  rejectUnknown(name, o, Object.keys(DEFAULT_STRONG_CONFIG));
  const k = (key: string): string => `${name}.${key}`;
  const strength = checkNonNegative(k("jitterStrength"), o.jitterStrength ?? DEFAULT_STRONG_CONFIG.jitterStrength);
  const c = { ...DEFAULT_STRONG_CONFIG, ...simclrColorJitter(strength), ...o } as Record<string, unknown>;
  const hue = c.hue;
  if (!isNum(hue) || hue < 0 || hue > 0.5) fail(k("hue"), "a number in [0, 0.5]", hue);
  if (c.jitterOrder !== "random" && c.jitterOrder !== "fixed") fail(k("jitterOrder"), `"random" or "fixed"`, c.jitterOrder);
  const kernel = c.blurKernelSize;
  if (kernel !== null && (!Number.isInteger(kernel) || (kernel as number) < 1 || (kernel as number) % 2 !== 1)) {
    fail(k("blurKernelSize"), "an odd integer >= 1, or null for 10% of the image height", kernel);
  }
  return Object.freeze({
    scale: checkRange(k("scale"), c.scale, "[min, max] with 0 < min <= max <= 1", (lo, hi) => lo > 0 && hi <= 1),
    ratio: checkRange(k("ratio"), c.ratio, "[min, max] with 0 < min <= max", (lo) => lo > 0),
    flip: checkBool(k("flip"), c.flip),
    jitterProbability: checkProbability(k("jitterProbability"), c.jitterProbability),
    jitterStrength: strength,
    brightness: checkNonNegative(k("brightness"), c.brightness),
    contrast: checkNonNegative(k("contrast"), c.contrast),
    saturation: checkNonNegative(k("saturation"), c.saturation),
    hue,
    jitterOrder: c.jitterOrder,
    grayscaleProbability: checkProbability(k("grayscaleProbability"), c.grayscaleProbability),
    blur: checkBool(k("blur"), c.blur),
    blurProbability: checkProbability(k("blurProbability"), c.blurProbability),
    blurSigma: checkRange(k("blurSigma"), c.blurSigma, "[min, max] with 0 < min <= max", (lo) => lo > 0),
    blurKernelSize: kernel as number | null,
  });
}
