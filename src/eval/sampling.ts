// Sampling and completion from a GCRL model's decoder (../shared/design/GCRL.md section 3,
// "Sampling"): pixels are drawn one at a time in raster order, each from the model's
// p(x_ij | pixels before (i, j)), with temperature and top-k (src/eval/categorical.ts).
//
// Fast path (src/model/incremental.ts): the network runs one step at a time over the new
// positions only, its causal blocks reading earlier keys and values from caches.
//   axial, per row i:  h_enc row i−1 = encodeRow(image row i−1)   (B, W, d)   column blocks cached
//                      context = rowContext(h_enc row i−1, i)      (B, W, d)
//                      for j: logits = decodeStep(e(i, j−1) or start, context[:, j], j)   (B, K)
//   dense, per raster t: e_{t−1}, h_{t−1} = encodeToken(x_{t−1});  logits = decodeStep(…, t)
// Cost per image: about one encoder and one decoder pass over its H·W pixels, in H·W small steps.
//
// Naive path (the reference): encode + decode the full current image once per pixel, read
// logits[:, i, j]. Cost per image: H·W full passes.
//
// Randomness: image b's pixels use the uniforms of its own JS Rng stream (Rng.derive(seed, b) for
// samples, Rng.derive(seed, n, s) for completion s of image n), one draw per sampled pixel in
// raster order. Both paths and every batch size therefore give the same tokens, up to the float
// rounding of the logits (the two paths batch their matmuls differently).
//
// Everything runs under noGrad with the model in eval mode (its mode is restored), with a tidy
// scope per row and per pixel, so memory stays flat however many images are drawn.
import { Tensor, tensor, noGrad, tidy, keep, dispose, withCpuCacheSync } from "../torch/index.ts";
import type { GCRLModel } from "../model/gcrl-model.ts";
import { IncrementalDecoder } from "../model/incremental.ts";
import { Rng } from "../data/rng.ts";
import { checkCategoricalParams, sampleCategorical, type CategoricalParams } from "./categorical.ts";
import { z } from "zod";
import { int, num } from "../util/settings.ts";

/**
 * The sampling settings of `gcrl sample` / `gcrl complete` and of sampleImages / completeImages,
 * declared once (util/settings.ts): the command-line options and their help come from here.
 */
export const SAMPLING_SETTINGS = z.strictObject({
  temperature: num({ flag: "temperature", placeholder: "T", gt: 0, default: 1, expected: "a number > 0", help: "sampling temperature > 0: logits / T (< 1 sharper, > 1 more varied)" }),
  topK: int({ flag: "top-k", placeholder: "K", min: 0, default: 0, help: "keep only the K most likely colours of each pixel (0: all)" }),
  seed: int({ flag: "seed", min: 0, max: 0xffffffff, default: 0, help: "seed of the random draws (same seed, same pictures)" }),
  batchSize: int({ flag: "batch-size", min: 1, default: 64, help: "images per network pass" }),
});
export const SAMPLING_DEFAULTS: Readonly<z.output<typeof SAMPLING_SETTINGS>> = Object.freeze(SAMPLING_SETTINGS.parse({}));

export { maskedImages, completionGridRows, MASK_GRAY } from "./completion-grid.ts";

export interface SampleOptions {
  /** > 0, default 1: the logits are divided by it (< 1 sharper, > 1 flatter). */
  temperature?: number;
  /** 0 (default) = all K colours; else keep the topK largest logits of each pixel. */
  topK?: number;
  /** Seed of the per-image random streams (integer in [0, 2^32 − 1], default 0). */
  seed?: number;
  /** Images per network pass (default 64). */
  batchSize?: number;
  /** Called after each sampled row of each batch; rowsTotal = batches × rows to sample. */
  onProgress?: (rowsDone: number, rowsTotal: number) => void;
}

/** SampleOptions with the defaults filled in and checked. */
interface ResolvedOptions extends CategoricalParams {
  seed: number;
  batchSize: number;
  onProgress: ((rowsDone: number, rowsTotal: number) => void) | null;
}

/** How the images to draw are laid out: count, their starting tokens and their random streams. */
interface Job {
  count: number;
  /** Rows < givenRows are kept; the rest are sampled. */
  givenRows: number;
  /** Writes image `index`'s starting tokens (H·W values; rows ≥ givenRows are ignored) into `into`. */
  fill: (index: number, into: BigInt64Array, offset: number) => void;
  /** The random stream of image `index`. */
  rng: (index: number) => Rng;
}

/** Unconditional samples: int64 (n, H, W) tokens, by the fast (cached, step by step) path. */
export function sampleTokens(model: GCRLModel, n: number, options: SampleOptions = {}): Tensor {
  const where = "sampleTokens";
  checkCount(where, "n", n);
  const o = resolveOptions(where, model, options);
  const out = generate(model, unconditionalJob(n, o.seed), o, "fast");
  return tensorOf(out, [n, model.config.height, model.config.width], model);
}

/**
 * The reference sampler: the whole network (encode + decode of the full image) once per pixel.
 * Same streams as sampleTokens, so the same seed gives the same images. H·W times the work.
 */
export function sampleTokensNaive(model: GCRLModel, n: number, options: SampleOptions = {}): Tensor {
  const where = "sampleTokensNaive";
  checkCount(where, "n", n);
  const o = resolveOptions(where, model, options);
  const out = generate(model, unconditionalJob(n, o.seed), o, "naive");
  return tensorOf(out, [n, model.config.height, model.config.width], model);
}

/**
 * Completions: tokens int64 (N, H, W) → int64 (N, samples, H, W); rows < givenRows are copied from
 * the input, the rest sampled (completion s of image n uses the stream Rng.derive(seed, n, s)).
 * givenRows = H returns copies; givenRows = 0 is unconditional sampling.
 */
export function completeTokens(model: GCRLModel, tokens: Tensor, givenRows: number, samples: number, options: SampleOptions = {}): Tensor {
  const where = "completeTokens";
  const { height: h, width: w, vocabSize: k } = checkModel(where, model).config;
  const given = tokensToHost(where, tokens, h, w, k);
  const count = tokens.shape[0]!;
  if (typeof givenRows !== "number" || !Number.isInteger(givenRows) || givenRows < 0 || givenRows > h) {
    throw new RangeError(`${where}: givenRows must be an integer in [0, ${h}], got ${String(givenRows)}`);
  }
  checkCount(where, "samples", samples);
  const o = resolveOptions(where, model, options);
  const hw = h * w;
  const job: Job = {
    count: count * samples,
    givenRows,
    fill: (index, into, offset) => into.set(given.subarray(Math.floor(index / samples) * hw, (Math.floor(index / samples) + 1) * hw), offset),
    rng: (index) => Rng.derive(o.seed, Math.floor(index / samples), index % samples),
  };
  const out = generate(model, job, o, "fast");
  return tensorOf(out, [count, samples, h, w], model);
}

// ---- the two samplers -----------------------------------------------------------------------

function unconditionalJob(n: number, seed: number): Job {
  return { count: n, givenRows: 0, fill: () => {}, rng: (index) => Rng.derive(seed, index) };
}

/** Runs the job batch by batch → int64 host tokens (count, H, W), row-major. */
function generate(model: GCRLModel, job: Job, o: ResolvedOptions, method: "fast" | "naive"): BigInt64Array {
  const { height: h, width: w } = model.config;
  const hw = h * w;
  const out = new BigInt64Array(job.count * hw);
  const batches = Math.ceil(job.count / o.batchSize);
  const progress = { done: 0, total: batches * (h - job.givenRows) };
  const wasTraining = model.training;
  model.eval();
  try {
    // The caching allocator: the encoder's row steps reuse the same large blocks row after row.
    withCpuCacheSync(() => noGrad(() => {
      for (let first = 0; first < job.count; first += o.batchSize) {
        const b = Math.min(o.batchSize, job.count - first);
        const images = out.subarray(first * hw, (first + b) * hw);
        const rngs: Rng[] = [];
        for (let k = 0; k < b; k++) {
          job.fill(first + k, images, k * hw);
          images.fill(0n, k * hw + job.givenRows * w, (k + 1) * hw); // nothing to see below the given rows
          rngs.push(job.rng(first + k));
        }
        const batch: Batch = { model, images, b, rngs, params: o, progress, onProgress: o.onProgress };
        if (method === "naive") samplePixelByPixel(batch, job.givenRows);
        else if (model.config.attention === "axial") sampleRowByRow(batch, job.givenRows);
        else sampleRaster(batch, job.givenRows);
      }
    }));
  } finally {
    model.train(wasTraining);
  }
  return out;
}

interface Batch {
  model: GCRLModel;
  /** (b, H, W) tokens, updated in place as pixels are drawn. */
  images: BigInt64Array;
  b: number;
  rngs: Rng[];
  params: CategoricalParams;
  progress: { done: number; total: number };
  onProgress: ((rowsDone: number, rowsTotal: number) => void) | null;
}

/** Host tokens of pixel (i, j) of the batch's b images → int64 (b) on the model's device. */
function pixelTokens(batch: Batch, i: number, j: number): Tensor {
  const { model, images, b } = batch;
  const { height: h, width: w } = model.config;
  const values = new BigInt64Array(b);
  for (let n = 0; n < b; n++) values[n] = images[n * h * w + i * w + j]!;
  return tensor(values, { shape: [b], device: model.tok.weight.device });
}

/** Draws pixel (i, j) of every image from logits (b, K) and writes it into the batch's images. */
function drawPixel(batch: Batch, logits: Tensor, i: number, j: number): void {
  const { model, images, b, rngs, params } = batch;
  const { height: h, width: w, vocabSize: k } = model.config;
  const values = floatValues(logits);
  for (let n = 0; n < b; n++) images[n * h * w + i * w + j] = BigInt(sampleCategorical(values, n * k, k, params, rngs[n]!.next()));
}

/**
 * The axial fast path (src/model/incremental.ts): per row i, the encoder steps over image row i − 1
 * only (its column blocks read rows < i − 1 from their caches), then the decoder steps over the
 * row's pixels one at a time.
 */
function sampleRowByRow(batch: Batch, startRow: number): void {
  const { model, b } = batch;
  const { height: h, width: w } = model.config;
  const state = new IncrementalDecoder(model, b);
  let above: Tensor | null = null; // h_enc row i − 1 (b, W, d), kept
  try {
    for (let i = 0; i < h; i++) {
      if (i > 0) {
        const next: Tensor = keep(tidy(() => state.encodeRow(rowOf(batch, i - 1), i - 1)));
        above?.dispose();
        above = next;
      }
      if (i < startRow) continue;
      tidy(() => {
        const context = state.rowContext(above, i); // (b, W, d)
        for (let j = 0; j < w; j++) {
          const logits = tidy(() => state.decodeStep(j === 0 ? state.start() : state.embedAt(pixelTokens(batch, i, j - 1), i, j - 1), context.select(1, j), j));
          drawPixel(batch, logits, i, j);
          logits.dispose();
        }
      });
      reportRow(batch);
    }
  } finally {
    above?.dispose();
    state.dispose();
  }
}

/** Host tokens of image row i of the batch → int64 (b, W) on the model's device. */
function rowOf(batch: Batch, i: number): Tensor {
  const { model, images, b } = batch;
  const { height: h, width: w } = model.config;
  const values = new BigInt64Array(b * w);
  for (let n = 0; n < b; n++) values.set(images.subarray(n * h * w + i * w, n * h * w + (i + 1) * w), n * w);
  return tensor(values, { shape: [b, w], device: model.tok.weight.device });
}

/**
 * The dense fast path (src/model/incremental.ts): one encoder step and one decoder step per raster
 * position; given rows go through both too (the decoder's causal attention reads them).
 */
function sampleRaster(batch: Batch, startRow: number): void {
  const { model, b } = batch;
  const { height: h, width: w } = model.config;
  const state = new IncrementalDecoder(model, b);
  let previous: { embedded: Tensor; hidden: Tensor } | null = null; // e_{t−1}, h_{t−1} (b, d), kept
  try {
    for (let t = 0; t < h * w; t++) {
      const i = Math.floor(t / w);
      const j = t % w;
      if (t > 0) {
        const next: { embedded: Tensor; hidden: Tensor } = keep(tidy(() => state.encodeToken(pixelTokens(batch, Math.floor((t - 1) / w), (t - 1) % w), t - 1)));
        if (previous !== null) dispose(previous);
        previous = next;
      }
      const prev = previous;
      const logits = tidy(() => state.decodeStep(prev === null ? state.start() : prev.embedded, state.denseContext(prev === null ? null : prev.hidden, t), t));
      if (i >= startRow) drawPixel(batch, logits, i, j);
      logits.dispose();
      if (i >= startRow && j === w - 1) reportRow(batch);
    }
  } finally {
    if (previous !== null) dispose(previous);
    state.dispose();
  }
}

/** The reference: the full network once per pixel. */
function samplePixelByPixel(batch: Batch, startRow: number): void {
  const { model, images, b } = batch;
  const { height: h, width: w } = model.config;
  const device = model.tok.weight.device;
  for (let i = startRow; i < h; i++) {
    for (let j = 0; j < w; j++) {
      const logits = tidy(() => {
        const current = tensor(images, { shape: [b, h, w], device });
        const { hidden } = model.encode(current);
        return model.decode(current, hidden).select(1, i).select(1, j).contiguous(); // (b, K)
      });
      drawPixel(batch, logits, i, j);
      logits.dispose();
    }
    reportRow(batch);
  }
}

function reportRow(batch: Batch): void {
  batch.progress.done++;
  batch.onProgress?.(batch.progress.done, batch.progress.total);
}

/** A float tensor's values as a Float32Array / Float64Array (half types converted). */
function floatValues(t: Tensor): Float32Array | Float64Array {
  if (t.dtype === "float32") return t.toTypedArray<"float32">();
  if (t.dtype === "float64") return t.toTypedArray<"float64">();
  return tidy(() => t.to("float32").toTypedArray<"float32">());
}

function tensorOf(data: BigInt64Array, shape: number[], model: GCRLModel): Tensor {
  return tensor(data, { shape, device: model.tok.weight.device });
}

// ---- validation -----------------------------------------------------------------------------

function checkModel(where: string, model: GCRLModel): GCRLModel {
  if (model === null || typeof model !== "object" || typeof model.decode !== "function" || model.config === undefined) {
    throw new TypeError(`${where}: model must be a GCRLModel, got ${String(model)}`);
  }
  return model;
}

function checkCount(where: string, name: string, value: number): void {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw new RangeError(`${where}: ${name} must be an integer >= 1, got ${String(value)}`);
  }
}

function resolveOptions(where: string, model: GCRLModel, options: SampleOptions): ResolvedOptions {
  checkModel(where, model);
  if (options === null || typeof options !== "object") throw new TypeError(`${where}: options must be an object, got ${String(options)}`);
  const params = { temperature: options.temperature ?? SAMPLING_DEFAULTS.temperature, topK: options.topK ?? SAMPLING_DEFAULTS.topK };
  checkCategoricalParams(where, params, model.config.vocabSize);
  const seed = options.seed ?? SAMPLING_DEFAULTS.seed;
  if (typeof seed !== "number" || !Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new RangeError(`${where}: seed must be an integer in [0, 4294967295], got ${String(seed)}`);
  }
  const batchSize = options.batchSize ?? SAMPLING_DEFAULTS.batchSize;
  checkCount(where, "batchSize", batchSize);
  const onProgress = options.onProgress ?? null;
  if (onProgress !== null && typeof onProgress !== "function") throw new TypeError(`${where}: onProgress must be a function, got ${String(onProgress)}`);
  return { ...params, seed, batchSize, onProgress };
}

/** tokens int64/int32 (N, H, W) with values in [0, K) → a row-major int64 host copy. */
function tokensToHost(where: string, tokens: Tensor, h: number, w: number, k: number): BigInt64Array {
  if (!(tokens instanceof Tensor)) throw new TypeError(`${where}: tokens must be a Tensor, got ${String(tokens)}`);
  const s = tokens.shape;
  if ((tokens.dtype !== "int64" && tokens.dtype !== "int32") || s.length !== 3 || s[1] !== h || s[2] !== w || s[0]! < 1) {
    throw new TypeError(`${where}: tokens must be int64 of shape (N, ${h}, ${w}) with N >= 1, got ${tokens.toString()}`);
  }
  const host = tidy(() => (tokens.dtype === "int64" ? tokens : tokens.to("int64")).cpu().toTypedArray<"int64">());
  for (let p = 0; p < host.length; p++) {
    const v = host[p]!;
    if (v < 0n || v >= BigInt(k)) {
      const n = Math.floor(p / (h * w));
      throw new RangeError(`${where}: tokens must lie in [0, ${k - 1}] (the model's ${k} colours), got ${v} in image ${n} at (${Math.floor((p % (h * w)) / w)}, ${p % w})`);
    }
  }
  return host;
}
