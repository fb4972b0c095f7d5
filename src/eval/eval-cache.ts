// A cache of evaluation results inside a run folder, so that repeated evaluations of a run (a
// probe, then OOD scores, then a report) encode each image set once:
//
//   <runDir>/cache/<kind>-<dataset>-<split>-<count>[-<variant>][-<source id>].safetensors
//
// A key names the images it was computed on by dataset name and split *and* by their source: where
// they were read from and a fingerprint of their content (contentFingerprint in data/image-set.ts).
// Two sets that share a name (fashion-mnist test from the default folder and from --out-dir DIR)
// therefore never share a file, and a file written for other data is never read: the source is part
// of the file name (12 hex digits of its SHA-256) and of the key stored inside.
//
// One safetensors file per key, holding one tensor "value" and, in its metadata, the format, the
// full key (JSON) and the fingerprint of the weights that produced it. A file is used only when all
// three match; otherwise (a newer checkpoint, another key that maps to the same file name) the
// value is recomputed and the file overwritten. Writes are atomic (saveSafetensors). A file that
// cannot be read (truncated, garbage) is recomputed with a warning rather than an error, and a
// cache that cannot be written is a warning too: the cache never makes an evaluation fail.
//
// The fingerprint of a run's weights (weightsFingerprint) is the step in model.safetensors'
// metadata plus the file's size and modification time (ns): it changes whenever the trainer
// rewrites the weights, and costs one stat and a header read (no hashing of the weights).
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { Tensor, loadSafetensors, readSafetensorsHeader, saveSafetensors, tensor, tidy } from "../torch/index.ts";
import { RUN_FILES } from "../train/run-folder.ts";
import { FileError, describeSystemError } from "../util/input-error.ts";

export const EVAL_CACHE_FORMAT = "gcrl.eval-cache";
export const EVAL_CACHE_VERSION = "1";
/** The cache's folder inside a run folder. */
export const EVAL_CACHE_DIR = "cache";

/** What a cached value is: which computation, on which images. */
export interface CacheKey {
  /** The computation, e.g. "features" or "nll". */
  kind: string;
  /** Dataset name, e.g. "fashion-mnist". */
  dataset: string;
  /** Split, e.g. "train" or "test". */
  split: string;
  /** Number of images (the first `count` of the split). */
  count: number;
  /** Anything else that changes the value, e.g. "layer2". */
  variant?: string;
  /**
   * Where the images came from and what they hold, e.g. "fashion-mnist test (/usr/share/datasets/
   * fashion-mnist) #3f2a…" (source text + content fingerprint). Required for every value computed
   * from a dataset; only values that depend on no images (samples) leave it out.
   */
  source?: string;
}

export interface EvalCacheOptions {
  /** Where warnings go (unreadable or unwritable cache files); default: a line on stderr. */
  warn?: (message: string) => void;
}

const defaultWarn = (message: string): void => {
  process.stderr.write(`gcrl: warning: ${message}\n`);
};

/** The identity of a run's current weights: step, size and mtime of <runDir>/model.safetensors. */
export function weightsFingerprint(runDir: string): string {
  const file = join(runDir, RUN_FILES.model);
  if (!existsSync(file)) throw new Error(`weightsFingerprint: ${runDir} has no ${RUN_FILES.model} (not a run folder, or the run has not saved weights yet)`);
  const stat = statSync(file, { bigint: true });
  const step = readSafetensorsHeader(file).metadata.step ?? "?";
  return `step=${step} size=${stat.size} mtime=${stat.mtimeNs}`;
}

function checkKey(key: CacheKey): void {
  const what = `EvalCache: key ${JSON.stringify(key)}`;
  if (typeof key !== "object" || key === null) throw new TypeError(`EvalCache: key must be { kind, dataset, split, count, variant? }, got ${String(key)}`);
  for (const name of ["kind", "dataset", "split"] as const) {
    if (typeof key[name] !== "string" || key[name] === "") throw new TypeError(`${what}: ${name} must be a non-empty string`);
  }
  if (!Number.isInteger(key.count) || key.count < 0) throw new TypeError(`${what}: count must be an integer >= 0`);
  if (key.variant !== undefined && (typeof key.variant !== "string" || key.variant === "")) throw new TypeError(`${what}: variant must be a non-empty string when given`);
  if (key.source !== undefined && (typeof key.source !== "string" || key.source === "")) throw new TypeError(`${what}: source must be a non-empty string when given`);
}

/** The key as canonical JSON (fixed field order; variant and source only when given). */
function keyJson(key: CacheKey): string {
  return JSON.stringify({
    kind: key.kind,
    dataset: key.dataset,
    split: key.split,
    count: key.count,
    ...(key.variant === undefined ? {} : { variant: key.variant }),
    ...(key.source === undefined ? {} : { source: key.source }),
  });
}

/** 12 hex digits of SHA-256 of a key's source: its part of the file name. */
export function sourceId(source: string): string {
  return createHash("sha256").update(source).digest("hex").slice(0, 12);
}

/** A file-name-safe version of one key field. */
const safe = (s: string): string => s.replace(/[^A-Za-z0-9._-]+/g, "_");

export class EvalCache {
  /** <runDir>/cache */
  readonly dir: string;
  readonly #warn: (message: string) => void;

  constructor(
    readonly runDir: string,
    /** Identifies the weights (weightsFingerprint(runDir)); a cached value from other weights is stale. */
    readonly fingerprint: string,
    options: EvalCacheOptions = {},
  ) {
    if (typeof runDir !== "string" || runDir === "") throw new TypeError(`EvalCache: runDir must be a folder path, got ${String(runDir)}`);
    if (typeof fingerprint !== "string" || fingerprint === "") throw new TypeError(`EvalCache: fingerprint must be a non-empty string, got ${String(fingerprint)}`);
    this.dir = join(runDir, EVAL_CACHE_DIR);
    this.#warn = options.warn ?? defaultWarn;
  }

  /** The file a key is cached in. */
  fileFor(key: CacheKey): string {
    checkKey(key);
    const parts = [key.kind, key.dataset, key.split, String(key.count), ...(key.variant === undefined ? [] : [key.variant]), ...(key.source === undefined ? [] : [sourceId(key.source)])];
    return join(this.dir, `${parts.map(safe).join("-")}.safetensors`);
  }

  /**
   * The cached tensor for `key`, or compute() stored and returned. The result is a new CPU tensor
   * owned by the caller (the current tidy scope); a computed one is returned as compute() made it.
   */
  tensor(key: CacheKey, compute: () => Tensor): Tensor {
    const file = this.fileFor(key);
    const cached = this.#read(file, key);
    if (cached !== null) return cached;
    const value = compute();
    if (!(value instanceof Tensor) || value.isDisposed) throw new TypeError(`EvalCache.tensor: compute() must return a live Tensor, got ${String(value)}`);
    this.#write(file, key, value);
    return value;
  }

  /**
   * The cached tensors for all `keys` when every one is cached, else computeAll() (one tensor per
   * key, in order) stored and returned: for values computed together, e.g. every layer's features
   * from one encoder pass. The caller owns the returned tensors.
   */
  tensors(keys: readonly CacheKey[], computeAll: () => Tensor[]): Tensor[] {
    const files = keys.map((k) => this.fileFor(k));
    const cached = keys.map((k, i) => this.#read(files[i]!, k));
    if (cached.every((t) => t !== null)) return cached as Tensor[];
    for (const t of cached) t?.dispose();
    const values = computeAll();
    if (!Array.isArray(values) || values.length !== keys.length || !values.every((v) => v instanceof Tensor && !v.isDisposed)) {
      throw new TypeError(`EvalCache.tensors: computeAll() must return ${keys.length} live Tensors, one per key`);
    }
    keys.forEach((k, i) => this.#write(files[i]!, k, values[i]!));
    return values;
  }

  /** The cached numbers for `key`, or compute() stored and returned. */
  array(key: CacheKey, compute: () => Float64Array): Float64Array {
    const file = this.fileFor(key);
    const cached = this.#read(file, key);
    if (cached !== null) {
      const described = `${cached.dtype} [${cached.shape.join(", ")}]`;
      const values = cached.ndim === 1 && cached.dtype === "float64" ? cached.toTypedArray<"float64">().slice() : null;
      cached.dispose();
      if (values !== null) return values;
      this.#warn(`eval cache ${file} holds a ${described} tensor, not a 1-d float64 array; recomputing`);
    }
    const values = compute();
    if (!(values instanceof Float64Array)) throw new TypeError(`EvalCache.array: compute() must return a Float64Array, got ${Object.prototype.toString.call(values)}`);
    tidy(() => this.#write(file, key, tensor(values, { dtype: "float64" })));
    return values;
  }

  /** The "value" tensor of a valid, current cache file for key, else null (with a warning if the file is unreadable). */
  #read(file: string, key: CacheKey): Tensor | null {
    if (!existsSync(file)) return null;
    let contents;
    try {
      contents = loadSafetensors(file);
    } catch (err) {
      this.#warn(`eval cache ${file} is unreadable (${(err as Error).message}); recomputing`);
      return null;
    }
    const { tensors, metadata } = contents;
    const value = tensors.get("value");
    tensors.delete("value");
    for (const t of tensors.values()) t.dispose();
    const valid = metadata.format === EVAL_CACHE_FORMAT && metadata.version === EVAL_CACHE_VERSION && value !== undefined;
    if (!valid) {
      value?.dispose();
      this.#warn(`eval cache ${file} is not a gcrl eval-cache file (format ${JSON.stringify(metadata.format)}, version ${JSON.stringify(metadata.version)}); recomputing`);
      return null;
    }
    if (metadata.fingerprint !== this.fingerprint || metadata.key !== keyJson(key)) {
      value.dispose(); // stale (other weights) or another key with the same file name
      return null;
    }
    return value;
  }

  #write(file: string, key: CacheKey, value: Tensor): void {
    try {
      mkdirSync(this.dir, { recursive: true });
      tidy(() => {
        const cpu = value.device === "cpu" ? value.detach() : value.detach().cpu();
        saveSafetensors(file, { value: cpu }, { format: EVAL_CACHE_FORMAT, version: EVAL_CACHE_VERSION, fingerprint: this.fingerprint, key: keyJson(key) });
      });
    } catch (err) {
      const reason = err instanceof FileError ? describeSystemError(err.cause) : (err as Error).message;
      this.#warn(`cannot write eval cache ${file} (${reason}); continuing without it`);
    }
  }
}
