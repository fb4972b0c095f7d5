// PaletteQuantizer: iGPT-style color quantization (../shared/design/GCRL.md, section 2). fit() runs
// k-means (k-means++ initialisation) on pixel values sampled from a training set; quantize() maps
// uint8 images to tokens — the index of the nearest centroid — and dequantize() maps tokens back to
// colors. The palette is saved with the model as JSON ({"format": "gcrl.palette", "version": 1, ...}).
//
// Centroids are sorted by luminance (ties by channel values), so token order means dark → bright.
// quantize is one gather per pixel through a lookup table built once per palette and device: 256
// entries for gray; all 2^24 colors for RGB (int16, 32 MB, ~0.3 s to build on first use), then
// ~20 ms per million pixels, where a chunked distance matrix + argmin through libtorch takes ~3.5 s
// per million pixels at k = 512 (2 cores). The tables encode the exact nearest-centroid rule of
// palette-nearest.ts (float64 squared distance, ties to the lower index).
import { readFileSync } from "node:fs";
import { writeFileAtomic } from "../util/atomic-file.ts";
import { describeSystemError, FileError, InputError } from "../util/input-error.ts";
import { Tensor, tensor, empty, keep, stack, tidy } from "../torch/index.ts";
import { Rng } from "./rng.ts";
import { MAX_PALETTE_SIZE, colorTable, grayTable } from "./palette-nearest.ts";
import { distinctValues, kMeansPlusPlus, lloyd } from "./palette-kmeans.ts";

export const PALETTE_FORMAT = "gcrl.palette";
export const PALETTE_VERSION = 1;

export interface PaletteFitOptions {
  /** Palette size. Default 16 for gray (C = 1), 512 for RGB (iGPT's 9-bit palette). */
  k?: number;
  /** Seed of the pixel sample and of k-means++. Default 0. */
  seed?: number;
  /** Pixels drawn uniformly (with replacement) from all images; all pixels when there are no more. Default 100,000. */
  samplePixels?: number;
  /** Most Lloyd iterations. Default 300. */
  maxIter?: number;
  /** Stop once no centroid moves more than this, in 0..255 units. Default 0.001. */
  tol?: number;
}

/** How a palette was fitted (null for a hand-made one). */
export interface PaletteFitInfo {
  readonly seed: number;
  /** Pixels the centroids were fitted on. */
  readonly samplePixels: number;
  /** Distinct values among them (k can be at most this). */
  readonly distinctValues: number;
  readonly iterations: number;
  /** Lloyd stopped at a fixed point or below tol rather than at maxIter. */
  readonly converged: boolean;
  /** Σ over the sampled pixels of the squared distance (0..255 units) to their centroid. */
  readonly inertia: number;
  /** inertia / samplePixels: the palette's mean squared quantization error per pixel. */
  readonly meanSquaredError: number;
  readonly maxIter: number;
  readonly tol: number;
}

export interface PaletteJson {
  format: typeof PALETTE_FORMAT;
  version: typeof PALETTE_VERSION;
  channels: 1 | 3;
  k: number;
  /** (k, channels), floats in [0, 255]. */
  centroids: number[][];
  fit: PaletteFitInfo | null;
}

/**
 * The images have fewer distinct colours than the k asked for (a small or flat set, e.g. a folder of
 * two-colour icons with the RGB default k = 512): an InputError (one line, exit 2 on the command line).
 */
export class PaletteFitError extends InputError {
  override name = "PaletteFitError";

  constructor(
    readonly k: number,
    /** Distinct colours (gray levels) among the sampled pixels. */
    readonly distinct: number,
    readonly sampledPixels: number,
    readonly channels: number,
    /** True when not every pixel was sampled (sampling more could find more colours). */
    readonly subsampled: boolean,
  ) {
    super(
      `PaletteQuantizer.fit: k = ${k} but the ${sampledPixels} sampled pixels have only ${distinct} distinct ${channels === 1 ? "gray levels" : "colors"}; ` +
        `use k <= ${distinct}` + (subsampled ? ` or sample more pixels (samplePixels)` : ""),
    );
  }
}

/** A palette file or JSON value that cannot be used; the message names the source and the problem. */
export class PaletteFormatError extends InputError {
  constructor(
    readonly source: string,
    readonly problem: string,
  ) {
    super(`invalid palette ${source}: ${problem}`);
    this.name = "PaletteFormatError";
  }
}

const DEFAULTS = { seed: 0, samplePixels: 100_000, maxIter: 300, tol: 1e-3 };
const CHUNK_PIXELS = 1 << 20; // quantize works in slices of this many pixels (measured best, cache-sized)

export class PaletteQuantizer {
  readonly k: number;
  readonly channels: 1 | 3;
  /** How the palette was fitted; null for a hand-made one. */
  readonly fitInfo: PaletteFitInfo | null;
  /** (k×C) row-major. */
  readonly #centroids: Float64Array;
  /** Per device: the token lookup table (int64 (256,) gray, int16 (2^24,) RGB) and the uint8 (C, k) colors. */
  readonly #tables = new Map<string, Tensor>();
  readonly #colors = new Map<string, Tensor>();

  /** A palette from centroids ((k, C), C = 1 or 3, values in [0, 255]), in the given token order. */
  constructor(centroids: readonly (readonly number[])[], fit: PaletteFitInfo | null = null) {
    const problem = centroidsProblem(centroids);
    if (problem !== null) throw new RangeError(`PaletteQuantizer: ${problem}`);
    if (fit !== null) {
      checkFitInfo(fit, (p) => {
        throw new RangeError(`PaletteQuantizer: ${p}`);
      });
    }
    this.k = centroids.length;
    this.channels = centroids[0]!.length as 1 | 3;
    this.#centroids = Float64Array.from(centroids.flat());
    this.fitInfo = fit === null ? null : Object.freeze({ ...fit });
  }

  /**
   * k-means palette of `images` (uint8 (N, H, W, C)): pixels sampled with a seeded Rng, k-means++
   * initialisation, Lloyd iterations, empty clusters re-seeded at the farthest points, centroids sorted
   * by luminance. Same images + options → the same palette, bit for bit.
   */
  static fit(images: Tensor, options: PaletteFitOptions = {}): PaletteQuantizer {
    const [n, h, w, c] = checkImages("PaletteQuantizer.fit", images);
    const opts = fitOptions(options, c);
    if (n * h * w === 0) throw new RangeError(`PaletteQuantizer.fit: images ${images.toString()} have no pixels`);
    const rng = new Rng(opts.seed);
    const pixels = samplePixels(images, opts.samplePixels, rng);
    const sampled = pixels.length / c;
    const points = distinctValues(pixels, c);
    const distinct = points.weights.length;
    if (opts.k > distinct) throw new PaletteFitError(opts.k, distinct, sampled, c, sampled < n * h * w);
    const result = lloyd(points, kMeansPlusPlus(points, opts.k, rng), opts);
    return new PaletteQuantizer(sortByLuminance(result.centroids, c), {
      seed: opts.seed,
      samplePixels: sampled,
      distinctValues: distinct,
      iterations: result.iterations,
      converged: result.converged,
      inertia: result.inertia,
      meanSquaredError: result.inertia / sampled,
      maxIter: opts.maxIter,
      tol: opts.tol,
    });
  }

  /** (k, C) centroids in 0..255 (a copy). */
  get centroids(): number[][] {
    return Array.from({ length: this.k }, (_, j) => Array.from(this.#centroids.subarray(j * this.channels, (j + 1) * this.channels)));
  }

  /** (k, C) the colors dequantize paints: centroids rounded to the nearest integer (halves up). */
  get colors(): number[][] {
    return this.centroids.map((row) => row.map((v) => Math.round(v)));
  }

  /** uint8 (N, H, W, C) images → int64 (N, H, W) tokens in [0, k): the nearest centroid of each pixel. */
  quantize(images: Tensor): Tensor {
    const [n, h, w] = checkImages("PaletteQuantizer.quantize", images, this.channels);
    const table = this.#table(images.device);
    return tidy(() => {
      const total = n * h * w;
      const out = empty([total], { dtype: "int64", device: images.device });
      const flat = images.reshape([total, this.channels]); // a view for contiguous images
      for (let start = 0; start < total; start += CHUNK_PIXELS) {
        const len = Math.min(CHUNK_PIXELS, total - start);
        tidy(() => {
          const px = flat.narrow(0, start, len).to("int32"); // (len, C)
          const index = this.channels === 1 ? px.reshape([len]) : px.select(1, 0).mul(65536).add_(px.select(1, 1).mul(256)).add_(px.select(1, 2));
          out.narrow(0, start, len).copy_(table.indexSelect(0, index));
        });
      }
      return out.reshape([n, h, w]);
    });
  }

  /** int64 (or int32) tokens of any shape (...) with values in [0, k) → uint8 (..., C) colors. */
  dequantize(tokens: Tensor): Tensor {
    if (!(tokens instanceof Tensor)) throw new TypeError(`PaletteQuantizer.dequantize: tokens must be a Tensor, got ${describe(tokens)}`);
    if (tokens.dtype !== "int64" && tokens.dtype !== "int32") {
      throw new TypeError(`PaletteQuantizer.dequantize: tokens must be int64 (or int32), got ${tokens.toString()}`);
    }
    if (tokens.numel > 0) {
      const lo = tidy(() => tokens.min().item());
      const hi = tidy(() => tokens.max().item());
      if (lo < 0 || hi >= this.k) {
        throw new RangeError(`PaletteQuantizer.dequantize: tokens must lie in [0, ${this.k - 1}] for this ${this.k}-color palette, got values in [${lo}, ${hi}]`);
      }
    }
    const colors = this.#colorTable(tokens.device); // (C, k): one row per channel
    return tidy(() => {
      // One 1-D gather per channel: several times faster than gathering (k, C) rows.
      const flat = tokens.reshape([tokens.numel]);
      const planes = Array.from({ length: this.channels }, (_, ch) => colors.select(0, ch).indexSelect(0, flat));
      return (this.channels === 1 ? planes[0]! : stack(planes, 1)).reshape([...tokens.shape, this.channels]);
    });
  }

  toJSON(): PaletteJson {
    return { format: PALETTE_FORMAT, version: PALETTE_VERSION, channels: this.channels, k: this.k, centroids: this.centroids, fit: this.fitInfo === null ? null : { ...this.fitInfo } };
  }

  /** A palette from the value of toJSON() (e.g. parsed from a file); `source` names it in errors. */
  static fromJSON(value: unknown, source = "palette JSON"): PaletteQuantizer {
    const fail = (problem: string): never => {
      throw new PaletteFormatError(source, problem);
    };
    if (!isRecord(value)) return fail(`expected a JSON object, got ${describe(value)}`);
    for (const key of Object.keys(value)) {
      if (!["format", "version", "channels", "k", "centroids", "fit"].includes(key)) fail(`unexpected key '${key}'`);
    }
    if (value.format !== PALETTE_FORMAT) fail(`format is ${JSON.stringify(value.format)}, expected "${PALETTE_FORMAT}" — is this a gcrl palette file?`);
    if (value.version !== PALETTE_VERSION) {
      const newer = typeof value.version === "number" && value.version > PALETTE_VERSION;
      fail(`version ${JSON.stringify(value.version)} is not supported (this gcrl reads version ${PALETTE_VERSION}${newer ? "; the file was written by a newer gcrl" : ""})`);
    }
    if (value.channels !== 1 && value.channels !== 3) fail(`channels must be 1 or 3, got ${JSON.stringify(value.channels)}`);
    const channels = value.channels as 1 | 3;
    const centroids = value.centroids;
    if (!Array.isArray(centroids)) return fail(`centroids must be an array of k rows, got ${describe(centroids)}`);
    if (centroids.length < 1) fail(`k must be at least 1, got an empty centroids array`);
    centroids.forEach((row: unknown, j) => {
      if (!Array.isArray(row) || row.length !== channels) fail(`centroids[${j}] must be an array of ${channels} number(s), got ${describe(row)}`);
    });
    const problem = centroidsProblem(centroids as number[][]);
    if (problem !== null) fail(problem);
    if ("k" in value && value.k !== centroids.length) fail(`k is ${JSON.stringify(value.k)} but there are ${centroids.length} centroids`);
    const fit = value.fit ?? null;
    if (fit !== null) checkFitInfo(fit, fail);
    return new PaletteQuantizer(centroids as number[][], fit as PaletteFitInfo | null);
  }

  /** Writes the palette as JSON, atomically (temporary file in the same directory, fsync, rename). */
  save(path: string): void {
    try {
      writeFileAtomic(path, formatJson(this.toJSON()));
    } catch (err) {
      if (err instanceof FileError) throw err; // names the file and the reason (full disk, …)
      throw new Error(`cannot write palette file ${path}: ${(err as Error).message}`);
    }
  }

  static load(path: string): PaletteQuantizer {
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (err) {
      throw new PaletteFormatError(path, `cannot read it: ${describeSystemError(err)}`); // "no such file or folder", …
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new PaletteFormatError(path, `not valid JSON: ${(err as Error).message}`);
    }
    return PaletteQuantizer.fromJSON(value, path);
  }

  /** Frees the cached lookup tables (they are rebuilt if the palette is used again). */
  dispose(): void {
    for (const t of [...this.#tables.values(), ...this.#colors.values()]) t.dispose();
    this.#tables.clear();
    this.#colors.clear();
  }

  #table(device: string): Tensor {
    let t = this.#tables.get(device);
    if (t === undefined) {
      t = keep(
        tidy(() => {
          const cpu = this.channels === 1 ? tensor(grayTable(this.#centroids)).long() : tensor(colorTable(this.#centroids));
          return device === "cpu" ? cpu : cpu.toDevice(device);
        }),
      );
      this.#tables.set(device, t);
    }
    return t;
  }

  #colorTable(device: string): Tensor {
    let t = this.#colors.get(device);
    if (t === undefined) {
      const colors = new Uint8Array(this.k * this.channels); // (C, k)
      this.#centroids.forEach((v, i) => (colors[(i % this.channels) * this.k + Math.floor(i / this.channels)] = Math.round(v)));
      t = keep(tensor(colors, { shape: [this.channels, this.k], device }));
      this.#colors.set(device, t);
    }
    return t;
  }
}

// ---- fitting ---------------------------------------------------------------------------------------

function fitOptions(options: PaletteFitOptions, channels: 1 | 3): Required<PaletteFitOptions> {
  const raw: unknown = options;
  if (!isRecord(raw)) throw new TypeError(`PaletteQuantizer.fit: options must be an object, got ${describe(raw)}`);
  for (const key of Object.keys(raw)) {
    if (!["k", "seed", "samplePixels", "maxIter", "tol"].includes(key)) {
      throw new TypeError(`PaletteQuantizer.fit: unknown option '${key}' (known: k, seed, samplePixels, maxIter, tol)`);
    }
  }
  const k = options.k ?? (channels === 1 ? 16 : 512);
  const seed = options.seed ?? DEFAULTS.seed;
  const samplePixels = options.samplePixels ?? DEFAULTS.samplePixels;
  const maxIter = options.maxIter ?? DEFAULTS.maxIter;
  const tol = options.tol ?? DEFAULTS.tol;
  const bad = (name: string, want: string, got: unknown): never => {
    throw new RangeError(`PaletteQuantizer.fit: ${name} must be ${want}, got ${describe(got)}`);
  };
  if (!Number.isInteger(k) || k < 1 || k > MAX_PALETTE_SIZE) bad("k", `an integer in [1, ${MAX_PALETTE_SIZE}]`, k);
  if (typeof seed !== "number" || !Number.isFinite(seed)) bad("seed", "a finite number", seed);
  if (!Number.isInteger(samplePixels) || samplePixels < 1) bad("samplePixels", "a positive integer", samplePixels);
  if (!Number.isInteger(maxIter) || maxIter < 1) bad("maxIter", "a positive integer", maxIter);
  if (typeof tol !== "number" || !(tol >= 0) || !Number.isFinite(tol)) bad("tol", "a finite number >= 0", tol);
  return { k, seed, samplePixels, maxIter, tol };
}

/** (S, C) uint8 row-major: `count` pixels drawn uniformly with replacement, or all pixels if there are no more. */
function samplePixels(images: Tensor, count: number, rng: Rng): Uint8Array {
  const [n, h, w, c] = images.shape as [number, number, number, number];
  const perImage = h * w;
  if (n * perImage <= count) return tidy(() => images.cpu().contiguous().toTypedArray() as Uint8Array);
  const which = new Int32Array(count);
  const where = new Int32Array(count);
  for (let s = 0; s < count; s++) {
    which[s] = rng.int(0, n);
    where[s] = rng.int(0, perImage);
  }
  return tidy(() => {
    const device = images.device;
    const rows = images.reshape([n, perImage, c]);
    const picked = rows.index([tensor(which, { device }).long(), tensor(where, { device }).long()]); // (S, C)
    return picked.cpu().contiguous().toTypedArray() as Uint8Array;
  });
}

/** Centroids (k×C row-major) as rows sorted by luminance (Rec. 601 weights for RGB), ties by channels. */
function sortByLuminance(centroids: Float64Array, channels: 1 | 3): number[][] {
  const rows = Array.from({ length: centroids.length / channels }, (_, j) => Array.from(centroids.subarray(j * channels, (j + 1) * channels)));
  const luma = (v: number[]): number => (channels === 1 ? v[0]! : 0.299 * v[0]! + 0.587 * v[1]! + 0.114 * v[2]!);
  return rows.sort((a, b) => {
    const d = luma(a) - luma(b);
    if (d !== 0) return d;
    for (let ch = 0; ch < channels; ch++) if (a[ch] !== b[ch]) return a[ch]! - b[ch]!;
    return 0;
  });
}

// ---- validation and files --------------------------------------------------------------------------

function checkImages(where: string, images: Tensor, channels?: 1 | 3): [number, number, number, 1 | 3] {
  if (!(images instanceof Tensor)) throw new TypeError(`${where}: images must be a Tensor, got ${describe(images)}`);
  const s = images.shape;
  const want = channels === undefined ? "1 or 3" : String(channels);
  if (images.dtype !== "uint8" || s.length !== 4 || (channels === undefined ? s[3] !== 1 && s[3] !== 3 : s[3] !== channels)) {
    throw new TypeError(`${where}: images must be uint8 (N, H, W, C) with C = ${want}, got ${images.toString()}` + (channels !== undefined && s.length === 4 && images.dtype === "uint8" ? ` (this palette has ${channels} channel${channels === 1 ? "" : "s"})` : ""));
  }
  return s as [number, number, number, 1 | 3];
}

function centroidsProblem(centroids: readonly (readonly number[])[]): string | null {
  if (!Array.isArray(centroids) || centroids.length < 1) return `k must be at least 1 (got ${Array.isArray(centroids) ? "no centroids" : describe(centroids)})`;
  if (centroids.length > MAX_PALETTE_SIZE) return `k must be at most ${MAX_PALETTE_SIZE}, got ${centroids.length}`;
  const c = Array.isArray(centroids[0]) ? centroids[0].length : -1;
  if (c !== 1 && c !== 3) return `centroids must have 1 or 3 channels, got centroids[0] = ${describe(centroids[0])}`;
  for (let j = 0; j < centroids.length; j++) {
    const row = centroids[j];
    if (!Array.isArray(row) || row.length !== c) return `centroids[${j}] must have ${c} value(s) like centroids[0], got ${describe(row)}`;
    for (let ch = 0; ch < c; ch++) {
      const v: unknown = row[ch];
      if (typeof v !== "number" || !Number.isFinite(v)) return `centroids[${j}][${ch}] must be a finite number, got ${describe(v)}`;
      if (v < 0 || v > 255) return `centroids[${j}][${ch}] = ${v} is outside [0, 255]`;
    }
  }
  return null;
}

function checkFitInfo(fit: unknown, fail: (problem: string) => never): void {
  if (!isRecord(fit)) fail(`fit must be an object or null, got ${describe(fit)}`);
  const info = fit as Record<string, unknown>;
  const fields: Record<keyof PaletteFitInfo, (v: unknown) => boolean> = {
    seed: (v) => typeof v === "number" && Number.isFinite(v),
    samplePixels: (v) => Number.isInteger(v) && (v as number) >= 1,
    distinctValues: (v) => Number.isInteger(v) && (v as number) >= 1,
    iterations: (v) => Number.isInteger(v) && (v as number) >= 0,
    converged: (v) => typeof v === "boolean",
    inertia: (v) => typeof v === "number" && v >= 0 && Number.isFinite(v),
    meanSquaredError: (v) => typeof v === "number" && v >= 0 && Number.isFinite(v),
    maxIter: (v) => Number.isInteger(v) && (v as number) >= 1,
    tol: (v) => typeof v === "number" && v >= 0 && Number.isFinite(v),
  };
  for (const key of Object.keys(info)) if (!(key in fields)) fail(`fit: unexpected key '${key}'`);
  for (const [key, ok] of Object.entries(fields)) {
    if (!(key in info)) fail(`fit.${key} is missing`);
    if (!ok(info[key])) fail(`fit.${key} has an invalid value ${describe(info[key])}`);
  }
}

/** JSON with one centroid per line. */
function formatJson(value: PaletteJson): string {
  const rows = value.centroids.map((row) => `    ${JSON.stringify(row)}`).join(",\n");
  const head = JSON.stringify({ format: value.format, version: value.version, channels: value.channels, k: value.k }, null, 2).slice(0, -2);
  return `${head},\n  "centroids": [\n${rows}\n  ],\n  "fit": ${JSON.stringify(value.fit, null, 2).replace(/\n/g, "\n  ")}\n}\n`;
}


function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v instanceof Tensor) return v.toString();
  if (typeof v === "number" || typeof v === "boolean" || v === null || v === undefined) return String(v);
  if (typeof v === "string") return JSON.stringify(v);
  const s = JSON.stringify(v);
  return s === undefined ? typeof v : s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
