// The two augmentation configs, declared once (util/settings.ts: type, range, default and help per
// key; the TypeScript types derive from that), and their validation.
//
// A config given by a user (code, a JSON config file) holds only overrides; resolveWeakConfig /
// resolveStrongConfig fill in the defaults, reject unknown keys and check every value, with errors
// that name the key: `strong.scale: expected [min, max] with 0 < min <= max <= 1, got [0.5, 0.2]`.
// Resolving a resolved config gives the same config back.
//
// Sources of the defaults: GCRL = ../shared/design/GCRL.md §2 (Kim, Kim & Lee, arXiv 2106.06162);
// SimCLR = Chen et al. 2020 (arXiv 2002.05709), appendix A, and its reference code; torchvision =
// the transforms SimCLR's PyTorch re-implementations use (RandomResizedCrop, ColorJitter, ...).
import { z } from "zod";
import { bool, checkSettings, choice, custom, int, num, pair, parseNumberText, type ProblemStyle } from "../../util/settings.ts";

/** How the weak view's border is filled: zeros (torchvision RandomCrop(padding=p)) or a mirror image. */
export type PadMode = "zero" | "reflect";

/** The four color-jitter operations, in torchvision's (and the "fixed" order's) sequence. */
export type JitterOp = "brightness" | "contrast" | "saturation" | "hue";
export const JITTER_OPS: readonly JitterOp[] = ["brightness", "contrast", "saturation", "hue"];

/** The weak view (GCRL.md §2): a random translation and a flip. */
export const WEAK_SETTINGS = z.strictObject({
  pad: int({ min: 0, default: 2, help: "weak view: padding before the random H×W crop, i.e. a shift of up to ±pad pixels (GCRL: 2, range 2–4)" }),
  padMode: choice(["zero", "reflect"], { default: "zero", expected: `"zero" or "reflect"`, help: "weak view: border fill, zero (GCRL, torchvision RandomCrop) or reflect (needs pad < H and W)" }),
  flip: bool({ default: true, help: "weak view: random horizontal flip (p = 0.5); default: the dataset's (off for mnist and mnist-digits)" }),
});

/** SimCLR's color-jitter ranges for a strength s: brightness = contrast = saturation = 0.8·s, hue = 0.2·s. */
export function simclrColorJitter(strength: number): { brightness: number; contrast: number; saturation: number; hue: number } {
  return { brightness: 0.8 * strength, contrast: 0.8 * strength, saturation: 0.8 * strength, hue: 0.2 * strength };
}

const GCRL_JITTER_STRENGTH = 0.5;
const PROBABILITY = { min: 0, max: 1, expected: "a probability in [0, 1]" } as const;
const POSITIVE_RANGE = { expected: "[min, max] with 0 < min <= max", ok: (lo: number) => lo > 0 } as const;

/**
 * The strong view (SimCLR's augmentation). The four jitter ranges have no fixed default: absent,
 * they follow jitterStrength by SimCLR's mapping (resolveStrongConfig fills them in).
 */
export const STRONG_SETTINGS = z.strictObject({
  scale: pair({ default: [0.2, 1], expected: "[min, max] with 0 < min <= max <= 1", ok: (lo, hi) => lo > 0 && hi <= 1, help: "strong view: random resized crop, area fraction min,max (GCRL: 0.2,1; SimCLR and torchvision: 0.08,1)" }),
  ratio: pair({ default: [3 / 4, 4 / 3], ...POSITIVE_RANGE, help: "strong view: crop aspect ratio w/h min,max, sampled log-uniformly (SimCLR: 3/4,4/3)" }),
  flip: bool({ default: true, help: "strong view: random horizontal flip (p = 0.5); default: the dataset's (off for mnist and mnist-digits)" }),
  jitterProbability: num({ default: 0.8, ...PROBABILITY, help: "strong view: probability of color jitter (SimCLR: 0.8)" }),
  jitterStrength: num({ default: GCRL_JITTER_STRENGTH, min: 0, help: "strong view: jitter strength s (GCRL 0.5; SimCLR 1.0 on ImageNet); brightness, contrast, saturation = 0.8·s and hue = 0.2·s unless set" }),
  brightness: num({ min: 0, defaultText: "0.8·jitterStrength", help: "strong view: brightness factor ~ U[max(0, 1−b), 1+b] (torchvision ColorJitter)" }),
  contrast: num({ min: 0, defaultText: "0.8·jitterStrength", help: "strong view: contrast factor ~ U[max(0, 1−c), 1+c], blending with the mean gray level" }),
  saturation: num({ min: 0, defaultText: "0.8·jitterStrength", help: "strong view: saturation factor ~ U[max(0, 1−s), 1+s] (RGB only)" }),
  hue: num({ min: 0, max: 0.5, defaultText: "0.2·jitterStrength", help: "strong view: hue shift ~ U[−h, h] turns of the HSV circle, h <= 0.5 (RGB only)" }),
  jitterOrder: choice(["random", "fixed"], { default: "random", expected: `"random" or "fixed"`, help: "strong view: jitter order, random per sample (torchvision, SimCLR) or fixed (brightness, contrast, saturation, hue)" }),
  grayscaleProbability: num({ default: 0.2, ...PROBABILITY, help: "strong view: probability of grayscale conversion (RGB only; SimCLR: 0.2)" }),
  blur: bool({ default: false, help: "strong view: Gaussian blur (SimCLR: on for ImageNet, off for CIFAR)" }),
  blurProbability: num({ default: 0.5, ...PROBABILITY, help: "strong view: probability of blurring a sample when blur is on (SimCLR: 0.5)" }),
  blurSigma: pair({ default: [0.1, 2.0], ...POSITIVE_RANGE, help: "strong view: blur sigma ~ U[min, max] in pixels (SimCLR: 0.1,2)" }),
  blurKernelSize: custom(z.number().int().min(1).refine((k) => k % 2 === 1).nullable(), {
    default: null, placeholder: "N|null", expected: "an odd integer >= 1, or null for 10% of the image height",
    parse: (raw) => (raw === "null" ? null : parseNumberText(raw)),
    help: "strong view: odd blur kernel size; null: SimCLR's 10% of the image height, made odd (3 for 28 and 32, 1 — no blur — below 20)",
  }),
});

export type WeakAugmentConfig = Readonly<z.output<typeof WEAK_SETTINGS>>;
export type StrongAugmentConfig = Readonly<z.output<typeof STRONG_SETTINGS>>;
/** What a user may pass: any subset of the keys. */
export type WeakAugmentOptions = Partial<WeakAugmentConfig>;
export type StrongAugmentOptions = Partial<StrongAugmentConfig>;

/** An augmentation config value that fails validation; the message names the key. */
export class AugmentConfigError extends RangeError {
  override name = "AugmentConfigError";
}

const AUGMENT_STYLE: ProblemStyle = {
  unknownKey: (at, key, known) => `${at}: unknown key '${key}'; known keys: ${known.join(", ")}`,
  notObject: (at, value) => `${at}: expected an object of options, got ${Array.isArray(value) ? `[${value.join(", ")}]` : String(value)}`,
};

/** The options with undefined keys dropped ("the default"); null and undefined mean {}. */
function present(options: unknown): unknown {
  if (options === undefined || options === null) return {};
  if (typeof options !== "object" || Array.isArray(options)) return options;
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
}

/** Every problem of a weak view's options (each starting with `name.key`) and the resolved config. */
export function checkWeakConfig(options: unknown, name = "weak"): { config: WeakAugmentConfig | null; problems: string[] } {
  const { value, problems } = checkSettings(WEAK_SETTINGS, present(options), name, AUGMENT_STYLE);
  return { config: value === null ? null : Object.freeze(value), problems };
}

/**
 * Strong-view options with the jitter ranges they do not set filled in from their jitterStrength
 * (SimCLR's mapping; the default strength where theirs is absent or not a number >= 0).
 */
export function withDerivedJitter(options: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const s = options.jitterStrength;
  const strength = typeof s === "number" && Number.isFinite(s) && s >= 0 ? s : GCRL_JITTER_STRENGTH;
  const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  return { ...simclrColorJitter(strength), ...given };
}

/** Every problem of a strong view's options; the jitter ranges not given follow jitterStrength. */
export function checkStrongConfig(options: unknown, name = "strong"): { config: StrongAugmentConfig | null; problems: string[] } {
  let o = present(options);
  if (typeof o === "object" && o !== null && !Array.isArray(o)) o = withDerivedJitter(o as Record<string, unknown>);
  const { value, problems } = checkSettings(STRONG_SETTINGS, o, name, AUGMENT_STYLE);
  return { config: value === null ? null : Object.freeze(value), problems };
}

/** The full weak config: defaults filled in, unknown keys rejected, every value checked. */
export function resolveWeakConfig(options: WeakAugmentOptions = {}, name = "weak"): WeakAugmentConfig {
  const { config, problems } = checkWeakConfig(options, name);
  if (config === null) throw new AugmentConfigError(problems[0]);
  return config;
}

/**
 * The full strong config: defaults filled in, unknown keys rejected, every value checked. The
 * brightness/contrast/saturation/hue ranges come from jitterStrength (SimCLR's mapping) unless given.
 */
export function resolveStrongConfig(options: StrongAugmentOptions = {}, name = "strong"): StrongAugmentConfig {
  const { config, problems } = checkStrongConfig(options, name);
  if (config === null) throw new AugmentConfigError(problems[0]);
  return config;
}

export const DEFAULT_WEAK_CONFIG: WeakAugmentConfig = resolveWeakConfig();
export const DEFAULT_STRONG_CONFIG: StrongAugmentConfig = resolveStrongConfig();
