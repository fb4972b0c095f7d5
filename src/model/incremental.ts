// IncrementalDecoder: a GCRLModel run one step at a time with key/value caches — what sampling
// needs, since every pixel depends only on the pixels before it in raster order. Each step runs
// the network on the new positions only; a causal block's attention reads the keys and values of
// earlier positions from its KVCache (TransformerBlock.step).
//
// Axial layout (B images, H×W, d):
//   encodeRow(x[:, r], r)     e = tok + row[r] + col          (B, 1, W, d)
//                             row blocks: forward on the one row (they attend within it only);
//                             column blocks: step over B·W column sequences at position r
//                             → h_enc row r (B, W, d)         rows must come in order 0, 1, 2, …
//   rowContext(h_enc row i−1 or null, i) = h + row[i] + col  (B, W, d)   shift_down for row i
//   decodeStep(shifted, context[:, j], j)                     the decoder's causal row blocks,
//                             B sequences at position j → logits (B, K) of pixel (i, j); restart
//                             at j = 0 for each row (positions ≥ j are never read)
//   where shifted = start for j = 0, else embedAt(x[:, i, j−1], i, j−1)   (shift_right)
//
// Dense layout (raster position t = i·W + j; every block causal over the H·W sequence):
//   encodeToken(x[:, t], t)   → { embedded e_t, hidden h_t } (B, d)       positions in order
//   denseContext(h_{t−1} or null, t) = (t = 0 ? 0 : h_{t−1}) + row[i] + col[j]     (B, d)
//   decodeStep(t = 0 ? start : e_{t−1}, denseContext, t) → logits (B, K) of pixel t
//
// Cost of a whole image: one encoder pass and one decoder pass over its H·W positions (plus
// attention over the cached prefix), against H/2 encoder and H decoder passes for the row-prefix
// method and H·W of each for the naive one. The additions follow GCRLModel.embed / decode term
// for term, so the logits equal decode()'s up to the rounding of differently shaped matmuls.
// Inference only: the model must be in eval mode (or have no dropout), under noGrad.
import { Tensor, tidy, zeros, isGradEnabled } from "../torch/index.ts";
import type { GCRLModel } from "./gcrl-model.ts";
import { KVCache } from "./kv-cache.ts";

export class IncrementalDecoder {
  /** One cache per causal encoder block (axial: the column blocks), in block order; null for the others. */
  readonly #enc: (KVCache | null)[];
  /** One cache per decoder block. */
  readonly #dec: KVCache[];
  /** Axial: image rows encoded so far. Dense: raster positions encoded so far. */
  #encoded = 0;
  /** The decoder position the next decodeStep must use (0 restarts a row / the image). */
  #decoded = 0;

  constructor(
    readonly model: GCRLModel,
    readonly batch: number,
  ) {
    const where = "IncrementalDecoder";
    if (!Number.isInteger(batch) || batch < 1) throw new RangeError(`${where}: batch must be an integer >= 1, got ${String(batch)}`);
    if (model.training && model.config.dropout > 0) throw new Error(`${where}: inference only; call model.eval() first (dropout is active)`);
    const { height: h, width: w, d, heads, attention } = model.config;
    const options = { dtype: model.row.dtype, device: model.row.device };
    const dh = d / heads;
    const axial = attention === "axial";
    this.#enc = [...model.enc].map((block) => (block.causal ? new KVCache(axial ? batch * w : batch, heads, axial ? h : h * w, dh, options) : null));
    this.#dec = [...model.dec].map(() => new KVCache(batch, heads, axial ? w : h * w, dh, options));
  }

  /** Axial: image row r's tokens (B, W) int64 → h_enc row r (B, W, d). Rows 0..r−1 must have been encoded. */
  encodeRow(rowTokens: Tensor, r: number): Tensor {
    const where = "IncrementalDecoder.encodeRow";
    this.#checkLayout(where, "axial");
    const { width: w, d } = this.model.config;
    this.#checkTokens(where, rowTokens, [this.batch, w]);
    this.#checkOrder(where, r, this.#encoded, "row");
    const b = this.batch;
    const m = this.model;
    const out = tidy(() => {
      let x = m.tok.forward(rowTokens.view([b, 1, w])).add(m.row.narrow(0, r, 1)).add(m.col); // (B, 1, W, d)
      [...m.enc].forEach((block, l) => {
        const cache = this.#enc[l];
        x = cache === null || cache === undefined ? block.forward(x) : block.step(x.reshape([b * w, d]), cache, r).view([b, 1, w, d]);
      });
      return x.view([b, w, d]);
    });
    this.#encoded = r + 1;
    return out;
  }

  /** Axial: the decoder's context of row i, shift_down(h_enc)[i] + row[i] + col (B, W, d); `above` = h_enc row i−1, null for i = 0. */
  rowContext(above: Tensor | null, i: number): Tensor {
    const where = "IncrementalDecoder.rowContext";
    this.#checkLayout(where, "axial");
    const { height: h, width: w, d } = this.model.config;
    if (!Number.isInteger(i) || i < 0 || i >= h) throw new RangeError(`${where}: row must be an integer in [0, ${h - 1}], got ${String(i)}`);
    return this.#context(where, above, i === 0, [this.batch, w, d], `h_enc row i − 1 for row i >= 1 and null for row 0 (row ${i})`, i, () => this.model.col.select(0, 0));
  }

  /** Dense: the tokens at raster position t (B) int64 → { embedded e_t, hidden h_t } (B, d). Positions 0..t−1 must have been encoded. */
  encodeToken(tokens: Tensor, t: number): { embedded: Tensor; hidden: Tensor } {
    const where = "IncrementalDecoder.encodeToken";
    this.#checkLayout(where, "dense");
    this.#checkTokens(where, tokens, [this.batch]);
    this.#checkOrder(where, t, this.#encoded, "position");
    const { width: w } = this.model.config;
    const result = tidy(() => {
      const embedded = this.embedAt(tokens, Math.floor(t / w), t % w);
      let x = embedded;
      [...this.model.enc].forEach((block, l) => (x = block.step(x, this.#enc[l]!, t)));
      return { embedded, hidden: x };
    });
    this.#encoded = t + 1;
    return result;
  }

  /** Dense: the decoder's context at raster t, shift(h_enc)[t] + row[i] + col[j] (B, d); `previous` = h_{t−1}, null for t = 0. */
  denseContext(previous: Tensor | null, t: number): Tensor {
    const where = "IncrementalDecoder.denseContext";
    this.#checkLayout(where, "dense");
    const { height: h, width: w, d } = this.model.config;
    if (!Number.isInteger(t) || t < 0 || t >= h * w) throw new RangeError(`${where}: position must be an integer in [0, ${h * w - 1}], got ${String(t)}`);
    return this.#context(where, previous, t === 0, [this.batch, d], `h_{t−1} for t >= 1 and null for t = 0 (t = ${t})`, Math.floor(t / w), () => this.model.col.select(0, 0).select(0, t % w));
  }

  /** e at pixel (i, j) = tok[tokens] + row[i] + col[j]: tokens (B) int64 → (B, d). */
  embedAt(tokens: Tensor, i: number, j: number): Tensor {
    const where = "IncrementalDecoder.embedAt";
    const { height: h, width: w } = this.model.config;
    this.#checkTokens(where, tokens, [this.batch]);
    if (!Number.isInteger(i) || !Number.isInteger(j) || i < 0 || i >= h || j < 0 || j >= w) {
      throw new RangeError(`${where}: pixel must lie in [0, ${h - 1}] × [0, ${w - 1}], got (${i}, ${j})`);
    }
    const m = this.model;
    return tidy(() => m.tok.forward(tokens).add(m.row.select(0, i)).add(m.col.select(0, 0).select(0, j)));
  }

  /** The learned start vector broadcast to (B, d): shift_right's input at j = 0 (dense: at t = 0). */
  start(): Tensor {
    return tidy(() => this.model.start.view([1, this.model.config.d]).expand([this.batch, this.model.config.d]));
  }

  /**
   * One decoder position: shifted (B, d) (start, or e of the previous pixel) and context (B, d)
   * (axial: rowContext(…)[:, j]; dense: h_{t−1} + row[i] + col[j]) → logits (B, K) of the pixel at
   * decoder position pos (axial: column j; dense: raster t). pos is 0 or the previous pos + 1.
   */
  decodeStep(shifted: Tensor, context: Tensor, pos: number): Tensor {
    const where = "IncrementalDecoder.decodeStep";
    const { d } = this.model.config;
    for (const [name, t] of [["shifted", shifted], ["context", context]] as const) {
      if (!(t instanceof Tensor) || t.ndim !== 2 || t.shape[0] !== this.batch || t.shape[1] !== d) {
        throw new TypeError(`${where}: expected ${name} of shape (${this.batch}, ${d}), got ${t instanceof Tensor ? `[${t.shape.join(", ")}]` : String(t)}`);
      }
    }
    if (pos !== 0 && pos !== this.#decoded) throw new RangeError(`${where}: decoder positions come in order from 0; expected 0 or ${this.#decoded}, got ${String(pos)}`);
    const m = this.model;
    const logits = tidy(() => {
      let x = shifted.add(context);
      [...m.dec].forEach((block, l) => (x = block.step(x, this.#dec[l]!, pos)));
      return m.logitsFrom(x);
    });
    this.#decoded = pos + 1;
    return logits;
  }

  dispose(): void {
    for (const c of [...this.#enc, ...this.#dec]) c?.dispose();
  }

  /** (previous, or zeros of `shape` at the first position) + row[i] + col(): the decoder's context, added as decode() adds it. */
  #context(where: string, previous: Tensor | null, first: boolean, shape: number[], expected: string, i: number, col: () => Tensor): Tensor {
    if (first !== (previous === null)) throw new TypeError(`${where}: pass ${expected}`);
    if (previous !== null && (previous.ndim !== shape.length || shape.some((s, k) => previous.shape[k] !== s))) {
      throw new TypeError(`${where}: expected the previous encoder output of shape (${shape.join(", ")}), got [${previous.shape.join(", ")}]`);
    }
    const m = this.model;
    return tidy(() => {
      const base = previous ?? zeros(shape, { dtype: m.row.dtype, device: m.row.device });
      return base.add(m.row.select(0, i)).add(col());
    });
  }

  #checkLayout(where: string, attention: "axial" | "dense"): void {
    if (this.model.config.attention !== attention) throw new Error(`${where}: needs attention "${attention}", the model has "${this.model.config.attention}"`);
    if (isGradEnabled()) throw new Error(`${where}: inference only; run it under noGrad`);
  }

  #checkTokens(where: string, tokens: Tensor, shape: number[]): void {
    if (!(tokens instanceof Tensor) || (tokens.dtype !== "int64" && tokens.dtype !== "int32") || tokens.ndim !== shape.length || shape.some((s, k) => tokens.shape[k] !== s)) {
      const got = tokens instanceof Tensor ? `${tokens.dtype}[${tokens.shape.join(", ")}]` : String(tokens);
      throw new TypeError(`${where}: expected tokens int64 of shape (${shape.join(", ")}), got ${got}`);
    }
  }

  #checkOrder(where: string, index: number, next: number, what: string): void {
    if (index !== next) throw new RangeError(`${where}: ${what}s are encoded in order; expected ${what} ${next}, got ${String(index)}`);
  }
}
