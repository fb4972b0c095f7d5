// GCRLModel: the GCRL network of ../shared/design/GCRL.md section 3 — an axial-attention
// encoder–decoder (Axial Transformer layout) over color-quantized pixels, or its dense (iGPT)
// variant. Shapes: B images, H×W pixels, d model width, K palette size, p projection size.
//
//   e       = tok[x] + row[i] + col[j]                                   (B, H, W, d)
//   h_enc   = encoder(e)                                                  (B, H, W, d)
//   r(x)    = mean_{i,j} LN_r(h_enc)                                      (B, d)
//   z       = normalize(head(r(x)))                                       (B, p)
//   u       = shift_right(e) + (shift_down(h_enc) + row[i] + col[j])      (B, H, W, d)
//   logits  = out(LN_f(decoder(u)))                                       (B, H, W, K)
//
// Axial: encoder layer = unmasked row block + causal column block; decoder = causal row blocks.
// Dense: every block is causal over the H·W raster sequence, and both shifts become one raster
// step (see docs/model.md, "Dependency structure"). Either way the logits at (i, j) depend only on
// pixels before (i, j) in raster order.
//
// Parameter names follow ../shared/bench/torch_ref.py (tok, row, col, enc.N.*, dec.N.*, ln_r, ln_f,
// head.0/2, out) plus `start`, the learned start vector of shift_right.
import { Module, ModuleList, Linear, LayerNorm, Embedding, Tensor, empty, zeros, normalInit_, tidy, widenBf16, type ComputeOptions } from "../torch/index.ts";
import { resolveModelConfig, type ModelConfig } from "./config.ts";
import { TransformerBlock } from "./block.ts";
import { ProjectionHead } from "./projection-head.ts";
import { shiftDown, shiftRaster, shiftRight } from "./shift.ts";

/** Standard deviation of the embedding initialisations (GPT-2 / iGPT). */
const EMBEDDING_INIT_STD = 0.02;

export interface EncodeResult {
  /** Final encoder output h_enc (B, H, W, d): the decoder's context. */
  hidden: Tensor;
  /** r(x) = mean over the H·W positions of LN_r(encoder output at representationLayer) (B, d). */
  representation: Tensor;
}

export interface ForwardOptions {
  /** Run the decoder and return logits (default true). */
  needLogits?: boolean;
  /** Run the projection head and return z (default true). */
  needProjection?: boolean;
}

export interface ForwardResult extends EncodeResult {
  /** (B, H, W, K), or null when not asked for. */
  logits: Tensor | null;
  /** z (B, projectionDim), unit rows, or null when not asked for. */
  projection: Tensor | null;
}

export class GCRLModel extends Module {
  readonly config: Readonly<ModelConfig>;
  /** Row position embeddings (H, 1, d) ~ N(0, 0.02²): broadcast over columns. */
  readonly row: Tensor;
  /** Column position embeddings (1, W, d) ~ N(0, 0.02²): broadcast over rows. */
  readonly col: Tensor;
  /** The learned start vector (d) ~ N(0, 0.02²): shift_right's input at j = 0 (dense: at t = 0). */
  readonly start: Tensor;
  /** Token embeddings (K, d) ~ N(0, 0.02²). */
  readonly tok: Embedding;
  /** Axial: [row (unmasked), column (causal)] × L_enc. Dense: [sequence (causal)] × L_enc. */
  readonly enc: ModuleList<TransformerBlock>;
  /** Axial: causal row blocks. Dense: causal sequence blocks. L_dec of them. */
  readonly dec: ModuleList<TransformerBlock>;
  /** LayerNorm of the representation (before the mean). */
  readonly ln_r: LayerNorm;
  /** Final LayerNorm of the decoder. */
  readonly ln_f: LayerNorm;
  readonly head: ProjectionHead;
  /** Linear(d, K): the logits. */
  readonly out: Linear;

  /**
   * `config` may hold only overrides of MODEL_DEFAULTS (height, width, vocabSize are required).
   * `compute`: the matmul precision and kernel path of every layer (default fp32 on the fast
   * kernels; a run's come from train.precision: src/train/compute.ts); this.compute reports it and
   * setCompute() changes it for the whole model.
   */
  constructor(config: Partial<ModelConfig> & Pick<ModelConfig, "height" | "width" | "vocabSize">, compute: Partial<ComputeOptions> = {}) {
    super();
    const c = resolveModelConfig(config);
    this.config = Object.freeze({ ...c });
    const { d, height: h, width: w } = c;
    // Registration order = torch_ref.py's named_parameters() order (own parameters first).
    this.row = this.param("row", normalInit_(empty([h, 1, d]), 0, EMBEDDING_INIT_STD));
    this.col = this.param("col", normalInit_(empty([1, w, d]), 0, EMBEDDING_INIT_STD));
    this.start = this.param("start", normalInit_(empty([d]), 0, EMBEDDING_INIT_STD));
    this.tok = this.child("tok", new Embedding(c.vocabSize, d));
    normalInit_(this.tok.weight, 0, EMBEDDING_INIT_STD);
    const blocks: TransformerBlock[] = [];
    for (let l = 0; l < c.encoderLayers; l++) {
      if (c.attention === "axial") blocks.push(new TransformerBlock(c, "row", false), new TransformerBlock(c, "column", true));
      else blocks.push(new TransformerBlock(c, "sequence", true));
    }
    this.enc = this.child("enc", new ModuleList(blocks));
    const decoderAxis = c.attention === "axial" ? "row" : "sequence";
    this.dec = this.child("dec", new ModuleList(Array.from({ length: c.decoderLayers }, () => new TransformerBlock(c, decoderAxis, true))));
    this.ln_r = this.child("ln_r", new LayerNorm(d, { eps: c.layerNormEps }));
    this.ln_f = this.child("ln_f", new LayerNorm(d, { eps: c.layerNormEps }));
    this.head = this.child("head", new ProjectionHead(d, c.projectionDim));
    this.out = this.child("out", new Linear(d, c.vocabSize));
    this.setCompute(compute); // every block, attention and Linear reads its own (the same) value
  }

  // ---- the four stages ------------------------------------------------------------------------

  /** tokens (B, H, W) int64 → e = tok[x] + row[i] + col[j] (B, H, W, d). */
  embed(tokens: Tensor): Tensor {
    this.#checkTokens("embed", tokens);
    return tidy(() => this.tok.forward(tokens).add(this.row).add(this.col));
  }

  /**
   * tokens (B, H, W) int64 → { hidden (B, H, W, d), representation (B, d) }. `representationLayer`
   * (1..encoderLayers) pools r(x) from that encoder layer instead of the config's choice; `hidden`
   * is always the final encoder output.
   */
  encode(tokens: Tensor, options: { representationLayer?: number } = {}): EncodeResult {
    this.#checkTokens("encode", tokens);
    const layer = options.representationLayer ?? this.config.representationLayer ?? this.config.encoderLayers;
    if (!Number.isInteger(layer) || layer < 1 || layer > this.config.encoderLayers) {
      throw new RangeError(`GCRLModel.encode: representationLayer must be an integer in [1, ${this.config.encoderLayers}], got ${layer}`);
    }
    return tidy(() => {
      const { hidden, representations } = this.#encodeEmbedded(this.embed(tokens), [layer]);
      return { hidden, representation: representations[0]! };
    });
  }

  /**
   * tokens (B, H, W) int64 → { hidden (B, H, W, d), representations: r(x) pooled from every encoder
   * layer, [layer 1, …, layer encoderLayers] (with rowBlocks: every tap of representationTaps(true),
   * row blocks included), each (B, d) }: the layer sweep of the iGPT probing protocol in one encoder
   * pass. Layer l's r(x) is mean over H·W of LN_r(output of layer l), as encode().
   */
  encodeAllLayers(tokens: Tensor, options: { rowBlocks?: boolean } = {}): { hidden: Tensor; representations: Tensor[] } {
    this.#checkTokens("encodeAllLayers", tokens);
    const layers = this.representationTaps(options.rowBlocks ?? false);
    return tidy(() => this.#encodeEmbedded(this.embed(tokens), layers));
  }

  /**
   * The points of the encoder r(x) can pool from, in encoder order: layers 1..encoderLayers, and
   * with rowBlocks (axial attention only) also each layer's row block, as layer l − ½ (0.5, 1, 1.5,
   * 2, …): an axial layer is a row block followed by a column block, and iGPT probes the output of
   * every block.
   */
  representationTaps(rowBlocks = false): number[] {
    if (rowBlocks && this.config.attention !== "axial") {
      throw new RangeError(`GCRLModel.representationTaps: row blocks exist only with attention "axial", this model's is "${this.config.attention}"`);
    }
    const step = rowBlocks ? 0.5 : 1;
    return Array.from({ length: this.config.encoderLayers / step }, (_, i) => (i + 1) * step);
  }

  /** representation (B, d) → z (B, projectionDim) with unit rows. */
  project(representation: Tensor): Tensor {
    const d = this.config.d;
    if (representation.ndim !== 2 || representation.shape[1] !== d) {
      throw new TypeError(`GCRLModel.project: expected a representation of shape (B, ${d}), got [${representation.shape.join(", ")}]`);
    }
    return tidy(() => this.head.project(representation));
  }

  /**
   * tokens (B, H, W) int64 and the encoder output of the same tokens, hidden (B, H, W, d) →
   * logits (B, H, W, K); the logits at (i, j) are the model's prediction of tokens[:, i, j] from
   * the pixels before it in raster order.
   */
  decode(tokens: Tensor, hidden: Tensor): Tensor {
    this.#checkTokens("decode", tokens);
    this.#checkHidden("decode", hidden, tokens.shape[0]!);
    return tidy(() => {
      const e = this.embed(tokens);
      let x: Tensor;
      if (this.config.attention === "axial") {
        x = shiftRight(e, this.start).add(shiftDown(hidden).add(this.row).add(this.col));
      } else {
        x = shiftRaster(e, this.start).add(shiftRaster(hidden, null).add(this.row).add(this.col));
      }
      for (const block of this.dec) x = block.forward(x);
      return this.logitsFrom(x);
    });
  }

  /**
   * The output head: decoder output x (…, d) → logits out(LN_f(x)) (…, K), float32 under precision
   * "bf16" too (the out Linear's bf16 result widened, as autocast widens before the loss).
   */
  logitsFrom(x: Tensor): Tensor {
    return tidy(() => widenBf16(this.out.forward(this.ln_f.forward(x))));
  }

  /**
   * Everything a training step or an evaluation needs in one call. Default: logits and projection
   * both computed; pass { needLogits: false } to skip the decoder, { needProjection: false } to
   * skip the head.
   */
  forward(tokens: Tensor, options: ForwardOptions = {}): ForwardResult {
    return tidy(() => {
      const { hidden, representation } = this.encode(tokens);
      const logits = (options.needLogits ?? true) ? this.decode(tokens, hidden) : null;
      const projection = (options.needProjection ?? true) ? this.project(representation) : null;
      return { hidden, representation, logits, projection };
    });
  }

  // ---- row-by-row decoding (axial only) -------------------------------------------------------
  //
  // In the axial layout the decoder's rows are independent given the context shift_down(h_enc):
  // decoder blocks attend within a row only, and h_enc row i−1 depends on image rows ≤ i−1 only.
  // rowContext(hidden, i) and decodeRow give one row's logits at once; decode() on the whole image
  // gives the same logits as decodeRow on each row (up to rounding: the batching of the matmuls
  // differs). Sampling goes further, one pixel at a time with key/value caches
  // (IncrementalDecoder, src/model/incremental.ts).

  /**
   * The decoder's input for row `row` minus the shifted token embeddings: shift_down(h_enc)[row]
   * + row[row] + col, i.e. hidden[:, row − 1] (zeros for row 0) plus positions → (B, W, d).
   */
  rowContext(hidden: Tensor, row: number): Tensor {
    this.#checkAxial("rowContext");
    this.#checkHidden("rowContext", hidden, hidden.shape[0] ?? 0);
    this.#checkRow("rowContext", row);
    return tidy(() => {
      const above = row === 0 ? zeros([hidden.shape[0]!, this.config.width, this.config.d], { dtype: hidden.dtype, device: hidden.device }) : hidden.select(1, row - 1);
      return above.add(this.row.select(0, row)).add(this.col.select(0, 0));
    });
  }

  /**
   * Decoder logits for one row: rowTokens (B, W) int64 (the row's pixels; only columns < j affect
   * the logits at column j), context (B, W, d) from rowContext(hidden, row) → logits (B, W, K).
   */
  decodeRow(rowTokens: Tensor, context: Tensor, row: number): Tensor {
    this.#checkAxial("decodeRow");
    this.#checkRow("decodeRow", row);
    const { width: w, d } = this.config;
    if (rowTokens.ndim !== 2 || rowTokens.shape[1] !== w || (rowTokens.dtype !== "int64" && rowTokens.dtype !== "int32")) {
      throw new TypeError(`GCRLModel.decodeRow: expected rowTokens int64 of shape (B, ${w}), got ${rowTokens.dtype}[${rowTokens.shape.join(", ")}]`);
    }
    const b = rowTokens.shape[0]!;
    if (context.ndim !== 3 || context.shape[0] !== b || context.shape[1] !== w || context.shape[2] !== d) {
      throw new TypeError(`GCRLModel.decodeRow: expected context of shape (${b}, ${w}, ${d}), got [${context.shape.join(", ")}]`);
    }
    return tidy(() => {
      // e for this row: (B, 1, W, d)
      const e = this.tok.forward(rowTokens.reshape([b, 1, w])).add(this.row.select(0, row)).add(this.col);
      let x = shiftRight(e, this.start).add(context.reshape([b, 1, w, d]));
      for (const block of this.dec) x = block.forward(x);
      return this.logitsFrom(x).view([b, w, this.config.vocabSize]);
    });
  }

  // ---- bookkeeping ----------------------------------------------------------------------------

  /** Number of trainable parameter elements. */
  parameterCount(): number {
    return this.numParameters();
  }

  /** One line for the start of a run: "GCRLModel axial 28x28 K=16 d=128 heads=4 enc=4 dec=2: 2.03M parameters". */
  describe(): string {
    const c = this.config;
    const n = this.parameterCount();
    const count = n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}K` : String(n);
    return `GCRLModel ${c.attention} ${c.height}x${c.width} K=${c.vocabSize} d=${c.d} heads=${c.heads} enc=${c.encoderLayers} dec=${c.decoderLayers}: ${count} parameters`;
  }

  /** Weight matrices of every Linear layer: the parameters AdamW should decay. */
  decayParameters(): Tensor[] {
    const decay = this.#decaySet();
    return this.parameters().filter((p) => decay.has(p));
  }

  /** Everything else: LayerNorm scales and shifts, all biases, embeddings, the start vector. */
  noDecayParameters(): Tensor[] {
    const decay = this.#decaySet();
    return this.parameters().filter((p) => !decay.has(p));
  }

  #decaySet(): Set<Tensor> {
    const decay = new Set<Tensor>();
    for (const m of this.modules()) if (m instanceof Linear) decay.add(m.weight);
    return decay;
  }

  // ---- internals ------------------------------------------------------------------------------

  /**
   * The encoder over embeddings e (B, H, W, d): the final output and r(x) pooled at each of `layers`
   * (in that order; l − ½ is layer l's row block, see representationTaps).
   */
  #encodeEmbedded(e: Tensor, layers: readonly number[]): { hidden: Tensor; representations: Tensor[] } {
    const perLayer = this.config.attention === "axial" ? 2 : 1; // axial: a row block and a column block per layer
    const pooled = new Map<number, Tensor>();
    let h = e;
    let index = 0;
    for (const block of this.enc) {
      h = block.forward(h);
      index++;
      const layer = index / perLayer;
      if (layers.includes(layer)) pooled.set(layer, this.ln_r.forward(h).mean([1, 2]));
    }
    return { hidden: h, representations: layers.map((l) => pooled.get(l)!) };
  }


  #checkTokens(method: string, tokens: Tensor): void {
    const { height: h, width: w } = this.config;
    if (!(tokens instanceof Tensor) || tokens.ndim !== 3 || tokens.shape[1] !== h || tokens.shape[2] !== w || (tokens.dtype !== "int64" && tokens.dtype !== "int32")) {
      const got = tokens instanceof Tensor ? `${tokens.dtype}[${tokens.shape.join(", ")}]` : String(tokens);
      throw new TypeError(`GCRLModel.${method}: expected tokens int64 of shape (B, ${h}, ${w}), got ${got}`);
    }
  }

  #checkHidden(method: string, hidden: Tensor, b: number): void {
    const { height: h, width: w, d } = this.config;
    const s = hidden.shape;
    if (hidden.ndim !== 4 || s[0] !== b || s[1] !== h || s[2] !== w || s[3] !== d) {
      throw new TypeError(`GCRLModel.${method}: expected hidden of shape (${b}, ${h}, ${w}, ${d}), got [${s.join(", ")}]`);
    }
  }

  #checkRow(method: string, row: number): void {
    if (!Number.isInteger(row) || row < 0 || row >= this.config.height) {
      throw new RangeError(`GCRLModel.${method}: row must be an integer in [0, ${this.config.height - 1}], got ${row}`);
    }
  }

  #checkAxial(method: string): void {
    if (this.config.attention !== "axial") {
      throw new Error(
        `GCRLModel.${method}: row-by-row decoding needs attention "axial"; with "dense" every pixel depends on the whole raster prefix (IncrementalDecoder steps through it one pixel at a time)`,
      );
    }
  }
}
