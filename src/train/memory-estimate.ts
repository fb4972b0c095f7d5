// The memory guard's estimate: the peak resident memory of a training run, from its config alone,
// so that a model or batch that cannot fit is refused before anything is allocated (docs/training.md,
// "Memory guard"). All sizes in bytes; tensors are float32 (4 bytes) unless said otherwise.
//
//   total = base + data + parameters · 16 + activations of one step · ACTIVATION_FACTOR
//
//   base         node, tsx and libtorch loaded, before any tensor (measured: BASE_BYTES)
//   data         the training images (uint8, twice while a file is read), the eval and kNN images
//                (uint8) and their tokens (int64), which the Evaluator keeps
//   parameters   weights, gradients and AdamW's two moments: 4 + 4 + 8 bytes per parameter
//   activations  what autograd keeps for the backward pass of one step, counted block by block
//                (activationFloatsPerImage), times the batch size
//
// Calibrated against the peak RSS of fresh processes (bench/train-memory.ts; the figures are in
// docs/training.md) and tested within ±30% (test/train/memory-estimate.test.ts).
import type { ModelConfig } from "../model/config.ts";
import type { ObjectiveMode } from "./objectives.ts";

/**
 * RSS of a trainer process before its first tensor: node, tsx, libtorch, OpenBLAS's buffers. Fitted
 * with ACTIVATION_FACTOR to the measurements of bench/train-memory.ts.
 */
export const BASE_BYTES = 375 * 1024 ** 2;
/**
 * Measured peak over counted activations: the gradients of the backward pass that live next to the
 * saved activations, and the caching allocator's freed blocks of other sizes.
 */
export const ACTIVATION_FACTOR = 1.085;

/** What the estimate needs: the model (with the data-given sizes) and the run's settings. */
export interface MemoryEstimateInput {
  model: ModelConfig;
  /** Image channels (1 or 3): the uint8 images take H·W·C bytes each. */
  channels: number;
  mode: ObjectiveMode;
  batchSize: number;
  /** train.precision: "bf16" keeps most activations in bfloat16 (half a float each; see blockFloatsPerToken). */
  precision: "fp32" | "bf16";
  /** Images held: the training set, the eval images, the kNN's labelled neighbours. */
  trainImages: number;
  evalImages: number;
  knnImages: number;
}

export interface MemoryEstimate {
  parameters: number;
  /** Bytes of each part and their sum. */
  base: number;
  data: number;
  /** Weights and gradients (8 bytes per parameter). */
  model: number;
  /** AdamW's two moments (8 bytes per parameter). */
  optimizer: number;
  /** One step's activations at this batch size (ACTIVATION_FACTOR included). */
  activations: number;
  total: number;
  /** activations / batchSize: what one more image in the batch costs. */
  activationsPerImage: number;
}

/** GCRLModel's parameter count (src/model/gcrl-model.ts, block.ts), without building it. */
export function countParameters(c: ModelConfig): number {
  const d = c.d;
  const hidden = Math.round(c.mlpRatio * d);
  const block = 2 * 2 * d + (3 * d * d + 3 * d) + (d * d + d) + (d * hidden + hidden) + (hidden * d + d); // ln1, ln2, qkv, proj, fc1, fc2
  const blocks = (c.attention === "axial" ? 2 : 1) * c.encoderLayers + c.decoderLayers;
  const embeddings = c.height * d + c.width * d + d + c.vocabSize * d; // row, col, start, tok
  const rest = 2 * 2 * d + (d * d + d) + (d * c.projectionDim + c.projectionDim) + (d * c.vocabSize + c.vocabSize); // ln_r, ln_f, head, out
  return embeddings + blocks * block + rest;
}

/**
 * Extra floats per token of a block with dropout (the unfused attention, libtorch's CPU dropout
 * keeping a float noise tensor per dropout, their transients): a·d + b·heads·length, least-squares
 * fit of the measured difference with and without dropout 0.1 at d = 32, 64, 128, 512
 * (bench/train-memory.ts; within 20% of each).
 */
const DROPOUT_FLOATS = { perWidth: 7.2, perWeight: 2.25 };

/**
 * Floats autograd keeps per token of one block (pre-LN: x += Attn(LN1 x); x += MLP(LN2 x)) attending
 * over sequences of `length`: the block input (LN1's), LN1's output (qkv's input), q|k|v (3d, the
 * attention's), the attention output (proj's input), x1 (LN2's), LN2's output (fc1's), fc1's output
 * (GELU's) and GELU's output (fc2's): (8 + 2·mlpRatio)·d; plus the attention weights, heads·length
 * (gcrl::attention keeps the softmax). Dropout adds DROPOUT_FLOATS. bf16 mixed precision (autocast's
 * dtype flow, src/torch/kernels.ts) keeps the block input and x1 in float32 (LayerNorm's inputs),
 * LN1's and LN2's outputs as the Linear layers' bf16 copies, q|k|v, the attention output, fc1's and
 * GELU's outputs in bf16 (half a float each), and the softmax in float32 (gcrl::attention):
 * 2·d + ½·(d + 3d + d + d + 2·mlpRatio·d) = (5 + mlpRatio)·d + heads·length (counted from what
 * gcrl::linear and gcrl::attention save, not measured).
 */
export function blockFloatsPerToken(c: ModelConfig, length: number, precision: "fp32" | "bf16"): number {
  const kept = (8 + 2 * c.mlpRatio) * c.d + c.heads * length;
  if (c.dropout > 0) return kept + DROPOUT_FLOATS.perWidth * c.d + DROPOUT_FLOATS.perWeight * c.heads * length;
  return precision === "bf16" ? (5 + c.mlpRatio) * c.d + c.heads * length : kept;
}

/**
 * Floats one image of the batch adds to a step's saved activations: the encoder's blocks over its
 * views (gcrl, simclr: weak and strong; igpt: weak) plus the embedding and LN_r (2d per token), and
 * the decoder's blocks over the weak view (not in simclr) plus its input, LN_f's output and the
 * logits with their log-softmax and its gradient (3d + 3K per token).
 */
export function activationFloatsPerImage(c: ModelConfig, mode: ObjectiveMode, precision: "fp32" | "bf16"): number {
  const tokens = c.height * c.width;
  const axial = c.attention === "axial";
  const encoderBlock = axial
    ? blockFloatsPerToken(c, c.width, precision) + blockFloatsPerToken(c, c.height, precision) // a row block and a column block
    : blockFloatsPerToken(c, tokens, precision);
  const decoderBlock = blockFloatsPerToken(c, axial ? c.width : tokens, precision);
  const encoderViews = mode === "igpt" ? 1 : 2;
  const decoderViews = mode === "simclr" ? 0 : 1;
  const encoder = encoderViews * tokens * (c.encoderLayers * encoderBlock + 2 * c.d);
  const decoder = decoderViews * tokens * (c.decoderLayers * decoderBlock + 3 * c.d + 3 * c.vocabSize);
  return encoder + decoder;
}

/** The estimate of a run's peak resident memory, part by part (see the file header). */
export function estimateTrainingMemory(input: MemoryEstimateInput): MemoryEstimate {
  const m = input.model;
  const pixels = m.height * m.width;
  const parameters = countParameters(m);
  const activationsPerImage = 4 * ACTIVATION_FACTOR * activationFloatsPerImage(m, input.mode, input.precision);
  const data = 2 * input.trainImages * pixels * input.channels + (input.evalImages + input.knnImages) * pixels * (input.channels + 8);
  const parts = {
    base: BASE_BYTES,
    data,
    model: 8 * parameters,
    optimizer: 8 * parameters,
    activations: activationsPerImage * input.batchSize,
  };
  const total = parts.base + parts.data + parts.model + parts.optimizer + parts.activations;
  return { parameters, ...parts, total, activationsPerImage };
}

/**
 * The largest batch size whose estimate fits in `bytes` (activations grow linearly with it), at
 * most `input.batchSize`; 0 when not even the smallest batch the mode can train fits (contrastive
 * modes need 2 images: NT-Xent has no negatives with one).
 */
export function largestBatchThatFits(input: MemoryEstimateInput, bytes: number): number {
  const fixed = estimateTrainingMemory({ ...input, batchSize: 0 });
  const batch = Math.min(input.batchSize, Math.floor((bytes - fixed.total) / fixed.activationsPerImage));
  const smallest = input.mode === "igpt" ? 1 : 2;
  return batch >= smallest ? batch : 0;
}
