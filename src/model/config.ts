// ModelConfig: the sizes and switches of a GCRLModel, declared once (util/settings.ts): each key's
// type, range, default and help line below, the TypeScript type derived from that, and a validator
// whose messages name the offending key ("model.heads: d=130 is not divisible by heads=4").
//
// A config file holds only overrides; resolveModelConfig() fills in the defaults, rejects unknown
// keys and wrong types, and checks the rules that tie keys together. The image size and palette
// size have no defaults: they come from the data.
import { z } from "zod";
import { checkSettings, choice, int, intOrNull, num, showValue, type ProblemStyle } from "../util/settings.ts";

export const ATTENTION_KINDS = ["axial", "dense"] as const;
/** How attention is laid out (docs/model.md). */
export type AttentionKind = (typeof ATTENTION_KINDS)[number];
/** GELU variant: "none" is the exact erf form (PyTorch's F.gelu default, used by torch_ref.py). */
export type GeluApproximate = "none" | "tanh";

/** The model section of a run config: every key but the data-given sizes. */
export const MODEL_SETTINGS = z.strictObject({
  d: int({ min: 1, default: 128, help: "model width d (embedding and residual stream)" }),
  heads: int({ min: 1, default: 4, help: "attention heads; d must be divisible by heads" }),
  encoderLayers: int({ min: 1, default: 4, help: "encoder layers L_enc (axial: a row block, then a causal column block; dense: one causal raster block each)" }),
  decoderLayers: int({ min: 1, default: 2, help: "decoder layers L_dec (axial: causal row blocks; dense: causal raster blocks)" }),
  mlpRatio: num({ gt: 0, default: 4, help: "MLP hidden width = mlpRatio·d (an integer)" }),
  dropout: num({ min: 0, lt: 1, default: 0, help: "dropout on attention weights and residual branches while training, in [0, 1)" }),
  attention: choice(ATTENTION_KINDS, { default: "axial", help: "axial (Axial Transformer layout) or dense (full causal attention over the raster, iGPT)" }),
  projectionDim: int({ min: 1, default: 128, help: "output size of the contrastive projection head" }),
  geluApproximate: choice(["none", "tanh"], { default: "none", help: "GELU form: none (exact erf, as torch_ref.py) or tanh" }),
  layerNormEps: num({ gt: 0, default: 1e-5, help: "LayerNorm epsilon" }),
  representationLayer: intOrNull({
    min: 1, default: null, expected: "null (the final encoder output) or an encoder layer in [1, encoderLayers]",
    help: "encoder layer that r(x) pools, 1..encoderLayers; null: the last (the decoder always gets the last)",
  }),
});

/** The data-given sizes: no defaults. */
const MODEL_SIZES = {
  height: int({ min: 1, help: "image height H in pixels (tokens per column)" }),
  width: int({ min: 1, help: "image width W in pixels (tokens per row)" }),
  vocabSize: int({ min: 2, help: "palette size K: tokens are 0..K−1 and the decoder predicts K logits per pixel" }),
};
const MODEL_CONFIG_SETTINGS = MODEL_SETTINGS.extend(MODEL_SIZES);

/** The model section of a run config (ModelConfig without height, width, vocabSize). */
export type ModelSection = z.output<typeof MODEL_SETTINGS>;
/** Everything a GCRLModel is built from. */
export type ModelConfig = z.output<typeof MODEL_CONFIG_SETTINGS>;

/** Everything except the data-given sizes (height, width, vocabSize). */
export const MODEL_DEFAULTS: Readonly<ModelSection> = Object.freeze(MODEL_SETTINGS.parse({}));

export class ModelConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.length === 1 ? `invalid model config: ${problems[0]}` : `invalid model config (${problems.length} problems):\n  ${problems.join("\n  ")}`);
    this.name = "ModelConfigError";
  }
}

const MODEL_STYLE: ProblemStyle = {
  unknownKey: (at, key, known) => `${at}.${key}: unknown key (known keys: ${known.join(", ")})`,
  notObject: (at, value) => `${at}: expected an object, got ${Array.isArray(value) ? "an array" : showValue(value)}`,
};

/**
 * The rules that tie model keys together, on a section whose keys passed their own checks (`bad`:
 * those that did not, relative paths): mlpRatio·d is an integer, representationLayer is an encoder
 * layer, d is divisible by heads. Each problem is prefixed by `path`.
 */
export function modelRuleProblems(c: Record<string, unknown>, bad: ReadonlySet<string>, path: string): string[] {
  const problems: string[] = [];
  const ok = (...keys: string[]): boolean => keys.every((k) => !bad.has(k) && c[k] !== undefined);
  if (ok("mlpRatio", "d") && !Number.isInteger((c.mlpRatio as number) * (c.d as number))) {
    problems.push(`${path}.mlpRatio: mlpRatio·d = ${c.mlpRatio}·${c.d} is not an integer (the MLP width)`);
  }
  if (ok("representationLayer", "encoderLayers") && c.representationLayer !== null && (c.representationLayer as number) > (c.encoderLayers as number)) {
    problems.push(`${path}.representationLayer: expected null (the final encoder output) or an encoder layer in [1, ${c.encoderLayers}], got ${showValue(c.representationLayer)}`);
  }
  if (ok("d", "heads") && (c.d as number) % (c.heads as number) !== 0) problems.push(`${path}.heads: d=${c.d} is not divisible by heads=${c.heads}`);
  return problems;
}

/**
 * Every problem with a model config (defaults fill absent keys; height, width and vocabSize are
 * required), each prefixed by its key path (`${path}.key`); [] when it is valid. Unknown keys,
 * missing keys, wrong types, out-of-range values and the rules tying keys together are all
 * reported at once.
 */
export function validateModelConfig(value: unknown, path = "model"): string[] {
  const { problems, bad } = checkSettings(MODEL_CONFIG_SETTINGS, value, path, MODEL_STYLE);
  if (typeof value !== "object" || value === null || Array.isArray(value)) return problems;
  const merged = { ...MODEL_DEFAULTS, ...(value as Record<string, unknown>) };
  return [...problems, ...modelRuleProblems(merged, bad, path)];
}

/**
 * A complete, validated ModelConfig from overrides: MODEL_DEFAULTS, then `overrides`. Throws a
 * ModelConfigError listing every problem (key paths start with `path`).
 */
export function resolveModelConfig(overrides: unknown, path = "model"): ModelConfig {
  const problems = validateModelConfig(overrides, path);
  if (problems.length > 0) throw new ModelConfigError(problems);
  return MODEL_CONFIG_SETTINGS.parse(overrides);
}
