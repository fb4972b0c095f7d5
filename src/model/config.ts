// ModelConfig: the sizes and switches of a GCRLModel, as plain JSON-able data, with defaults and a
// validator whose messages name the offending key ("model.heads: d=130 is not divisible by heads=4").
//
// A config file holds only overrides; resolveModelConfig() fills in MODEL_DEFAULTS, rejects unknown
// keys and wrong types, and checks the cross-key constraints. The image size and palette size have
// no defaults: they come from the data.

/** How attention is laid out (docs/model.md). */
export type AttentionKind = "axial" | "dense";
/** GELU variant: "none" is the exact erf form (PyTorch's F.gelu default, used by torch_ref.py). */
export type GeluApproximate = "none" | "tanh";

export interface ModelConfig {
  /** Image height H in pixels (tokens per column). */
  height: number;
  /** Image width W in pixels (tokens per row). */
  width: number;
  /** Palette size K: tokens are 0..K−1 and the decoder predicts K logits per pixel. */
  vocabSize: number;
  /** Model width d (embedding and residual stream). Default 128. */
  d: number;
  /** Attention heads; d must be divisible by heads. Default 4. */
  heads: number;
  /**
   * Encoder layers L_enc. Axial: each layer is an unmasked row block then a causal column block.
   * Dense: each layer is one causal block over the raster sequence. Default 4.
   */
  encoderLayers: number;
  /** Decoder layers L_dec (axial: causal row blocks; dense: causal raster blocks). Default 2. */
  decoderLayers: number;
  /** MLP hidden width = mlpRatio · d. Default 4. */
  mlpRatio: number;
  /** Dropout on attention weights and on both residual branches, in training mode. Default 0. */
  dropout: number;
  /** "axial" (Axial Transformer layout, default) or "dense" (full causal attention, iGPT style). */
  attention: AttentionKind;
  /** Output size of the projection head used by the contrastive loss. Default 128. */
  projectionDim: number;
  /** GELU form in the MLPs. Default "none" (exact), as torch_ref.py. */
  geluApproximate: GeluApproximate;
  /** LayerNorm epsilon. Default 1e-5. */
  layerNormEps: number;
  /**
   * Which encoder layer's output the representation r(x) pools (1..encoderLayers), or null for the
   * final encoder output (default). The decoder always gets the final encoder output.
   */
  representationLayer: number | null;
}

/** Everything except the data-given sizes (height, width, vocabSize). */
export const MODEL_DEFAULTS: Readonly<Omit<ModelConfig, "height" | "width" | "vocabSize">> = Object.freeze({
  d: 128,
  heads: 4,
  encoderLayers: 4,
  decoderLayers: 2,
  mlpRatio: 4,
  dropout: 0,
  attention: "axial",
  projectionDim: 128,
  geluApproximate: "none",
  layerNormEps: 1e-5,
  representationLayer: null,
});

const REQUIRED_KEYS = ["height", "width", "vocabSize"] as const;
const ALL_KEYS: readonly string[] = [...REQUIRED_KEYS, ...Object.keys(MODEL_DEFAULTS)];

export class ModelConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.length === 1 ? `invalid model config: ${problems[0]}` : `invalid model config (${problems.length} problems):\n  ${problems.join("\n  ")}`);
    this.name = "ModelConfigError";
  }
}

const show = (v: unknown): string => (typeof v === "string" ? JSON.stringify(v) : v === undefined ? "nothing" : Array.isArray(v) ? "an array" : JSON.stringify(v) ?? String(v));

/**
 * Every problem with a complete model config, each prefixed by its key path (`${path}.key`); []
 * when it is valid. Unknown keys, missing keys, wrong types, out-of-range values and cross-key
 * constraints (d divisible by heads, representationLayer within encoderLayers) are all reported at once.
 */
export function validateModelConfig(value: unknown, path = "model"): string[] {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return [`${path}: expected an object, got ${show(value)}`];
  const c = value as Record<string, unknown>;
  const problems: string[] = [];
  const at = (key: string): string => `${path}.${key}`;
  for (const key of Object.keys(c)) {
    if (!ALL_KEYS.includes(key)) problems.push(`${at(key)}: unknown key (known keys: ${ALL_KEYS.join(", ")})`);
  }
  const int = (key: string, min: number, max = Number.MAX_SAFE_INTEGER): boolean => {
    const v = c[key];
    if (!Number.isInteger(v) || (v as number) < min || (v as number) > max) {
      problems.push(`${at(key)}: expected an integer ${max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in [${min}, ${max}]`}, got ${show(v)}`);
      return false;
    }
    return true;
  };
  const oneOf = (key: string, options: readonly string[]): void => {
    if (!options.includes(c[key] as string)) problems.push(`${at(key)}: expected one of ${options.map((o) => JSON.stringify(o)).join(", ")}, got ${show(c[key])}`);
  };
  int("height", 1);
  int("width", 1);
  int("vocabSize", 2);
  const d = int("d", 1);
  const heads = int("heads", 1);
  const enc = int("encoderLayers", 1);
  int("decoderLayers", 1);
  if (!(typeof c.mlpRatio === "number" && c.mlpRatio > 0)) {
    problems.push(`${at("mlpRatio")}: expected a positive number, got ${show(c.mlpRatio)}`);
  } else if (d && !Number.isInteger(c.mlpRatio * (c.d as number))) {
    problems.push(`${at("mlpRatio")}: mlpRatio·d = ${c.mlpRatio}·${c.d} is not an integer (the MLP width)`);
  }
  if (!(typeof c.dropout === "number" && c.dropout >= 0 && c.dropout < 1)) problems.push(`${at("dropout")}: expected a number in [0, 1), got ${show(c.dropout)}`);
  oneOf("attention", ["axial", "dense"]);
  int("projectionDim", 1);
  oneOf("geluApproximate", ["none", "tanh"]);
  if (!(typeof c.layerNormEps === "number" && c.layerNormEps > 0 && Number.isFinite(c.layerNormEps))) {
    problems.push(`${at("layerNormEps")}: expected a positive number, got ${show(c.layerNormEps)}`);
  }
  if (c.representationLayer !== null) {
    const max = enc ? (c.encoderLayers as number) : Number.MAX_SAFE_INTEGER;
    const v = c.representationLayer;
    if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > max) {
      problems.push(`${at("representationLayer")}: expected null (the final encoder output) or an encoder layer in [1, ${enc ? max : "encoderLayers"}], got ${show(v)}`);
    }
  }
  if (d && heads && (c.d as number) % (c.heads as number) !== 0) {
    problems.push(`${at("heads")}: d=${c.d} is not divisible by heads=${c.heads}`);
  }
  return problems;
}

/**
 * A complete, validated ModelConfig from overrides: MODEL_DEFAULTS, then `overrides`. Throws a
 * ModelConfigError listing every problem (key paths start with `path`).
 */
export function resolveModelConfig(overrides: unknown, path = "model"): ModelConfig {
  if (typeof overrides !== "object" || overrides === null || Array.isArray(overrides)) {
    throw new ModelConfigError([`${path}: expected an object, got ${show(overrides)}`]);
  }
  const merged = { ...MODEL_DEFAULTS, ...(overrides as Record<string, unknown>) };
  const problems = validateModelConfig(merged, path);
  if (problems.length > 0) throw new ModelConfigError(problems);
  return merged as unknown as ModelConfig;
}
