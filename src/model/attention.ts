// Multi-head scaled dot-product attention along the last sequence axis of a 4-d grid of tokens,
// the operation every GCRL block uses (row, column or raster attention is a matter of layout; see
// block.ts). Written out with matmul/softmax as in ../shared/bench/torch_ref.py (libtorch 1.13 has no
// fused scaled_dot_product_attention). The caller's compute options (its block's, set from the
// model's) pick how: on kernels "fast" (the default) attention on the CPU without dropout runs the
// fused gcrl::attention (float32, float64, or the bfloat16 qkv of precision "bf16" with float32
// scores, softmax and accumulation inside); otherwise, under precision "bf16", both matmuls take
// bfloat16 operands and return bfloat16 while the scaling and softmax run in float32, as autocast
// does (src/torch/kernels.ts).
import { Tensor, ones, keep, matmulKernel, attentionFused, fusedAttentionApplies, widenBf16, type ComputeOptions } from "../torch/index.ts";

/** Upper-triangular (strictly above the diagonal) boolean masks, one per (device, length), cached. */
const maskCache = new Map<string, Tensor>();

/**
 * The (n, n) boolean mask that is true where key position > query position: the entries a causal
 * attention must not see. Cached and kept (a few KB per length); do not dispose it.
 */
export function causalMask(n: number, device: string): Tensor {
  const key = `${device}:${n}`;
  let mask = maskCache.get(key);
  if (mask === undefined || mask.isDisposed) {
    const all = ones([n, n], { dtype: "bool", device });
    mask = keep(all.triu(1));
    all.dispose();
    maskCache.set(key, mask);
  }
  return mask;
}

export interface AttentionOptions {
  /** Query position p sees key positions ≤ p only (exactly: masked scores are −∞, weight 0). */
  causal: boolean;
  /** Dropout probability on the attention weights (applied only when training). */
  dropout: number;
  training: boolean;
  /** Matmul precision and kernel path (the calling module's `compute`). */
  compute: ComputeOptions;
}

/**
 * qkv (B, n1, n2, 3d), the packed output of one Linear(d, 3d) laid out [q | k | v] with heads
 * contiguous inside each, attends along n2 independently for each of the B·n1 sequences:
 * softmax(q·kᵀ / √(d/heads) [causal]) · v per head → (B, n1, n2, d), heads concatenated.
 * Cost: 4·B·n1·n2²·d multiply-adds (scores and values), O(B·n1·heads·n2²) memory for the weights.
 */
export function multiHeadAttention(qkv: Tensor, heads: number, options: AttentionOptions): Tensor {
  const [b, n1, n2, d3] = qkv.shape as [number, number, number, number];
  const d = d3 / 3;
  const dropoutActive = options.training && options.dropout > 0;
  if (fusedAttentionApplies(qkv, dropoutActive, options.compute)) {
    // gcrl::attention (native/kernels/kernels.cc): the same function without the permute copies.
    return attentionFused(qkv.reshape([b * n1, n2, d3]), heads, options.causal).reshape([b, n1, n2, d]);
  }
  const dh = d / heads;
  const parts = qkv.reshape([b, n1, n2, 3, heads, dh]).permute([3, 0, 1, 4, 2, 5]); // (3, B, n1, heads, n2, dh)
  const q = parts.select(0, 0);
  const k = parts.select(0, 1);
  const v = parts.select(0, 2);
  // Scores in float32 (or float64) whatever the matmul precision: softmax is float32 under bf16.
  let att = widenBf16(matmulKernel(q, k.transpose(-1, -2), options.compute)).div(Math.sqrt(dh)); // (B, n1, heads, n2, n2)
  if (options.causal) att = att.maskedFill(causalMask(n2, qkv.device), -Infinity);
  att = att.softmax(-1);
  if (dropoutActive) att = att.dropout(options.dropout, true);
  const y = matmulKernel(att, v, options.compute); // (B, n1, heads, n2, dh); bfloat16 under precision "bf16"
  return y.permute([0, 1, 3, 2, 4]).reshape([b, n1, n2, d]);
}
