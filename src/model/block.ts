// TransformerBlock: one pre-LayerNorm transformer block over a (B, H, W, d) grid of tokens,
// attending along one axis:
//
//   x += Attn(LN1(x));  x += MLP(LN2(x)),   MLP = Linear(d, r·d) → GELU → Linear(r·d, d)
//
// axis "row":      attention within each image row (over W; B·H sequences of length W)
// axis "column":   attention within each image column (over H; B·W sequences of length H)
// axis "sequence": attention over the whole image in raster order (B sequences of length H·W);
//                  the dense (iGPT) layout.
//
// Parameter names and registration order (ln1, ln2, qkv, proj, fc1, fc2) are those of the Block in
// ../shared/bench/torch_ref.py, so state dicts line up key for key.
import { Module, Linear, LayerNorm, Tensor, tidy, matmulKernel, widenBf16 } from "../torch/index.ts";
import { multiHeadAttention } from "./attention.ts";
import type { KVCache } from "./kv-cache.ts";
import type { ModelConfig } from "./config.ts";

export type BlockAxis = "row" | "column" | "sequence";

export class TransformerBlock extends Module {
  readonly ln1: LayerNorm;
  readonly ln2: LayerNorm;
  /** Linear(d, 3d): q, k, v in one matmul. */
  readonly qkv: Linear;
  /** Linear(d, d): the attention output projection. */
  readonly proj: Linear;
  readonly fc1: Linear;
  readonly fc2: Linear;
  readonly heads: number;
  readonly dropout: number;
  readonly geluApproximate: ModelConfig["geluApproximate"];

  constructor(
    config: Pick<ModelConfig, "d" | "heads" | "mlpRatio" | "dropout" | "geluApproximate" | "layerNormEps">,
    readonly axis: BlockAxis,
    readonly causal: boolean,
  ) {
    super();
    const { d } = config;
    const hidden = Math.round(config.mlpRatio * d);
    this.ln1 = this.child("ln1", new LayerNorm(d, { eps: config.layerNormEps }));
    this.ln2 = this.child("ln2", new LayerNorm(d, { eps: config.layerNormEps }));
    this.qkv = this.child("qkv", new Linear(d, 3 * d));
    this.proj = this.child("proj", new Linear(d, d));
    this.fc1 = this.child("fc1", new Linear(d, hidden));
    this.fc2 = this.child("fc2", new Linear(hidden, d));
    this.heads = config.heads;
    this.dropout = config.dropout;
    this.geluApproximate = config.geluApproximate;
  }

  /** The attention branch: (B, H, W, d) → (B, H, W, d), before the residual add. */
  attend(x: Tensor): Tensor {
    const [b, h, w, d] = x.shape as [number, number, number, number];
    // Lay the attended axis out as dim 2: (B, n1, n2, d).
    const laid = this.axis === "row" ? x : this.axis === "column" ? x.transpose(1, 2) : x.reshape([b, 1, h * w, d]);
    const y = this.proj.forward(
      multiHeadAttention(this.qkv.forward(laid), this.heads, { causal: this.causal, dropout: this.dropout, training: this.training, compute: this.compute }),
    );
    return this.axis === "row" ? y : this.axis === "column" ? y.transpose(1, 2) : y.reshape([b, h, w, d]);
  }

  /** (B, H, W, d) → (B, H, W, d). Intermediates are freed on return (autograd keeps what it needs). */
  forward(x: Tensor): Tensor {
    return tidy(() => {
      const a = this.residualDropout(this.attend(this.ln1.forward(x)));
      const x1 = x.add(a);
      return x1.add(this.residualDropout(this.mlp(x1)));
    });
  }

  /**
   * Inference one token at a time (causal blocks, eval mode): x (N, d) holds position `pos` of N
   * sequences whose positions 0..pos−1 went through step() with the same cache → the block's
   * output at `pos` (N, d), which forward() on the whole sequences gives at that position (up to
   * float rounding). The token's key and value are written into the cache at `pos`; its query
   * attends to cached positions 0..pos, so no mask is needed.
   */
  step(x: Tensor, cache: KVCache, pos: number): Tensor {
    if (!this.causal) throw new Error(`TransformerBlock.step: needs a causal block (this ${this.axis} block attends to later positions too)`);
    if (this.training && this.dropout > 0) throw new Error("TransformerBlock.step: inference only; call model.eval() first (dropout is active)");
    const [n, d] = x.shape as [number, number];
    cache.check("TransformerBlock.step", n, this.heads, d / this.heads, pos);
    return tidy(() => {
      const dh = d / this.heads;
      const qkv = this.qkv.forward(this.ln1.forward(x)).view([n, 3, this.heads, dh]); // (N, 3, heads, dh)
      cache.keys.select(2, pos).copy_(qkv.select(1, 1));
      cache.values.select(2, pos).copy_(qkv.select(1, 2));
      const q = qkv.select(1, 0).unsqueeze(2); // (N, heads, 1, dh)
      // Scores widened to float32 under bf16: the softmax runs in float32, as in multiHeadAttention.
      const att = widenBf16(matmulKernel(q, cache.keys.narrow(2, 0, pos + 1).transpose(-1, -2), this.compute)).div(Math.sqrt(dh)).softmax(-1); // (N, heads, 1, pos+1)
      const y = matmulKernel(att, cache.values.narrow(2, 0, pos + 1), this.compute).reshape([n, d]); // heads concatenated
      const x1 = x.add(this.proj.forward(y));
      return x1.add(this.mlp(x1));
    });
  }

  /**
   * The MLP branch: (…, d) → (…, d), before the residual add. Under precision "bf16" fc1 returns
   * bfloat16, GELU runs on it and fc2 takes it as it is (autocast's flow); the branch's bf16
   * output promotes to float32 when added to the residual stream.
   */
  private mlp(x: Tensor): Tensor {
    return this.fc2.forward(this.fc1.forward(this.ln2.forward(x)).gelu(this.geluApproximate));
  }

  private residualDropout(t: Tensor): Tensor {
    return this.training && this.dropout > 0 ? t.dropout(this.dropout, true) : t;
  }
}
