// One batched, gradient-free pass of a GCRLModel over a set of token images, giving what the
// evaluations need per image (../shared/design/GCRL.md section 4):
//
//   features   r(x) (N, d): the pooled representation of encode() (optionally from another
//              encoder layer), float32 on the CPU — the input of the linear probe, kNN, Mahalanobis
//   bits/dim   per image x:  bpd(x) = −(1/(H·W)) Σ_{i,j} log₂ p(x_ij | x_<ij)            (N,)
//              the model's negative log-likelihood in palette space (tokens, not 8-bit pixels),
//              from decode(x, encode(x).hidden) — the same per-pixel terms generativeLoss averages
//
// Because every image has H·W pixels, the mean of bpd over a batch equals generativeLoss / ln 2.
// The pass runs in eval mode (dropout off; the caller's mode is restored), under noGrad, one tidy
// scope per batch, on the model's device (each batch of tokens is moved there).
import { Tensor, cat, noGrad, tidy, zeros, withCpuCacheSync } from "../torch/index.ts";
import type { GCRLModel } from "../model/gcrl-model.ts";

export interface ImagePassOptions {
  /** Images per forward pass (default 256). */
  batchSize?: number;
  /** Encoder layer (1..encoderLayers) whose output r(x) pools; default: the model config's choice. */
  representationLayer?: number;
  /** Compute r(x) (default true). */
  withFeatures?: boolean;
  /** r(x) of every encoder layer (layerFeatures) instead of one (features); one encoder pass either way. */
  allLayers?: boolean;
  /** With allLayers (axial models): also every layer's row block, as layer l − ½ (GCRLModel.representationTaps(true)). */
  rowBlocks?: boolean;
  /** Compute the per-image bits/dim (default false; needs the decoder, about 1.5× the cost). */
  withNll?: boolean;
  /** Called after every batch with the images done so far and the total. */
  onProgress?: (done: number, total: number) => void;
}

export interface ImagePassResult {
  /** r(x), float32 (N, d) on the CPU, or null when withFeatures is false or allLayers is set. The caller disposes it. */
  features: Tensor | null;
  /** With allLayers: r(x) of layer 1..encoderLayers (with rowBlocks: of every tap, 0.5, 1, 1.5, …), each float32 (N, d) on the CPU; else null. The caller disposes them. */
  layerFeatures: Tensor[] | null;
  /** Per image: mean over its H·W pixels of −log₂ p(x_ij | x_<ij), palette space; null unless withNll. */
  bitsPerDim: Float64Array | null;
}

export const IMAGE_PASS_DEFAULTS = Object.freeze({ batchSize: 256 });

/**
 * Per-image bits/dim from decoder logits: logits (B, H, W, K) and tokens (B, H, W) → float64 (B,),
 *   bpd_b = −(1/(H·W)) Σ_{i,j} log_softmax(logits[b,i,j])[tokens[b,i,j]] / ln 2.
 * The log-softmax runs in float64 (the logits are converted first).
 */
export function bitsPerDimOfLogits(logits: Tensor, tokens: Tensor): Tensor {
  const k = logits.shape[logits.ndim - 1]!;
  const expected = [...tokens.shape, k];
  if (tokens.ndim !== 3 || logits.ndim !== 4 || logits.shape.some((s, i) => s !== expected[i])) {
    throw new TypeError(`bitsPerDimOfLogits: expected logits (B, H, W, K) and tokens (B, H, W), got logits [${logits.shape.join(", ")}] and tokens [${tokens.shape.join(", ")}]`);
  }
  return tidy(() => {
    const logp = logits.to("float64").logSoftmax(-1).gather(-1, tokens.long().unsqueeze(-1)).squeeze(-1); // (B, H, W)
    return logp.mean([1, 2]).neg().div(Math.LN2); // (B,)
  });
}

/** The device of the model's parameters. */
function modelDevice(model: GCRLModel): string {
  const first = model.parameters()[0];
  return first === undefined ? "cpu" : first.device;
}

/** Features and/or per-image bits/dim of every image of `tokens` (int64 (N, H, W)), batch by batch. */
export function passImages(model: GCRLModel, tokens: Tensor, options: ImagePassOptions = {}): ImagePassResult {
  const batchSize = options.batchSize ?? IMAGE_PASS_DEFAULTS.batchSize;
  const withFeatures = options.withFeatures ?? true;
  const withNll = options.withNll ?? false;
  const layer = options.representationLayer;
  const { height: h, width: w, encoderLayers } = model.config;
  if (!(tokens instanceof Tensor) || tokens.ndim !== 3 || tokens.shape[1] !== h || tokens.shape[2] !== w || (tokens.dtype !== "int64" && tokens.dtype !== "int32")) {
    const got = tokens instanceof Tensor ? `${tokens.dtype}[${tokens.shape.join(", ")}]` : String(tokens);
    throw new TypeError(`passImages: tokens must be int64 of shape (N, ${h}, ${w}) (the model's image size), got ${got}`);
  }
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`passImages: batchSize must be a positive integer, got ${batchSize}`);
  if (layer !== undefined && (!Number.isInteger(layer) || layer < 1 || layer > encoderLayers)) {
    throw new RangeError(`passImages: representationLayer must be an integer in [1, ${encoderLayers}] (the model's encoder layers), got ${layer}`);
  }
  if (!withFeatures && !withNll) throw new RangeError("passImages: nothing to compute (withFeatures and withNll are both false)");

  const allLayers = withFeatures && (options.allLayers ?? false);
  const rowBlocks = allLayers && (options.rowBlocks ?? false);
  const taps = allLayers ? model.representationTaps(rowBlocks) : [layer]; // throws for row blocks of a dense model
  const n = tokens.size(0);
  const device = modelDevice(model);
  const parts: Tensor[][] = []; // per batch: one (rows, d) per layer wanted
  const bitsPerDim = withNll ? new Float64Array(n) : null;
  const wasTraining = model.training;
  model.eval();
  try {
    // The caching allocator (src/torch/kernels.ts): each batch reuses the previous one's large
    // blocks instead of fresh pages from the kernel; measured 1.3–1.6× images/s on the reference model.
    withCpuCacheSync(() => noGrad(() => {
      for (let start = 0; start < n; start += batchSize) {
        const rows = Math.min(batchSize, n - start);
        const part = tidy(() => {
          const slice = tokens.narrow(0, start, rows);
          const x = slice.device === device ? slice : slice.toDevice(device); // (rows, H, W)
          const { hidden, representations } = allLayers
            ? model.encodeAllLayers(x, { rowBlocks })
            : (({ hidden, representation }) => ({ hidden, representations: [representation] }))(model.encode(x, layer === undefined ? {} : { representationLayer: layer }));
          if (bitsPerDim !== null) bitsPerDim.set(bitsPerDimOfLogits(model.decode(x, hidden), x).toTypedArray<"float64">(), start);
          return withFeatures ? representations.map((r) => r.toDevice("cpu", "float32")) : null; // each (rows, d)
        });
        if (part !== null) parts.push(part);
        options.onProgress?.(start + rows, n);
      }
    }));
  } catch (err) {
    for (const p of parts.flat()) p.dispose();
    throw err;
  } finally {
    model.train(wasTraining);
  }
  if (!withFeatures) return { features: null, layerFeatures: null, bitsPerDim };
  const joined = taps.map((_, l) => {
    if (n === 0) return zeros([0, model.config.d]);
    if (parts.length === 1) return parts[0]![l]!;
    const whole = tidy(() => cat(parts.map((p) => p[l]!), 0));
    for (const p of parts) p[l]!.dispose();
    return whole;
  });
  return allLayers ? { features: null, layerFeatures: joined, bitsPerDim } : { features: joined[0]!, layerFeatures: null, bitsPerDim };
}
