// KVCache: the keys and values one causal attention block has computed so far, for N sequences
// of up to L positions: what TransformerBlock.step reads instead of recomputing the prefix.
//
//   keys, values   (N, heads, L, dh), zeros until written; position p is written by step(·, p)
//
// The two tensors are kept outside every tidy scope; dispose() frees them.
import { Tensor, zeros, keep, type DType } from "../torch/index.ts";

export class KVCache {
  readonly keys: Tensor;
  readonly values: Tensor;

  constructor(
    readonly sequences: number,
    readonly heads: number,
    readonly length: number,
    readonly headDim: number,
    options: { dtype: DType; device: string },
  ) {
    for (const [name, v] of [["sequences", sequences], ["heads", heads], ["length", length], ["headDim", headDim]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`KVCache: ${name} must be an integer >= 1, got ${String(v)}`);
    }
    this.keys = keep(zeros([sequences, heads, length, headDim], options));
    this.values = keep(zeros([sequences, heads, length, headDim], options));
  }

  /** Throws unless a step of N sequences with this head layout at position `pos` fits this cache. */
  check(where: string, n: number, heads: number, headDim: number, pos: number): void {
    if (this.keys.isDisposed) throw new Error(`${where}: the KV cache has been disposed`);
    if (n !== this.sequences || heads !== this.heads || headDim !== this.headDim) {
      throw new TypeError(`${where}: the KV cache holds ${this.sequences} sequences × ${this.heads} heads × ${this.headDim} dims, got a step of ${n} × ${heads} × ${headDim}`);
    }
    if (!Number.isInteger(pos) || pos < 0 || pos >= this.length) {
      throw new RangeError(`${where}: position must be an integer in [0, ${this.length - 1}], got ${String(pos)}`);
    }
  }

  dispose(): void {
    this.keys.dispose();
    this.values.dispose();
  }
}
