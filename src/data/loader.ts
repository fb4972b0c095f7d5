// PairLoader: shuffled batches of (weak tokens, strong tokens, labels) for training.
//
// Every batch is a pure function of (seed, epoch, batch index): the epoch's permutation comes from
// Rng.derive(seed, epoch) and the batch's augmentation randomness from Rng.derive(seed, epoch,
// index, 1). So resuming at (epoch, batch) needs no saved random state and yields exactly the
// batches an uninterrupted run would have seen.
import { Tensor, tensor, tidy, keep } from "../torch/index.ts";
import { Rng } from "./rng.ts";
import { setSize, type ImageSet } from "./image-set.ts";
import { DatasetError } from "./datasets/dataset-error.ts";
import { perturbTokens, skipPerturbDraws } from "./perturb.ts";
import type { BatchRows } from "./augment/pair.ts";

/** Turns uint8 images (B, H, W, C) into tokens int64 (B, H, W) (a PaletteQuantizer). */
export interface Tokenizer {
  quantize(images: Tensor): Tensor;
}

/**
 * The two views of a batch: uint8 (B, H, W, C) each. `strong` is null when the objective does not
 * need it (iGPT mode), so it is never computed.
 */
export type PairAugment = (images: Tensor, rng: Rng, withStrong: boolean, rows?: BatchRows) => { weak: Tensor; strong: Tensor | null };

export interface LoaderOptions {
  batchSize: number;
  /** Seed of the shuffles and augmentations (default 0). */
  seed?: number;
  /** Drop the last incomplete batch of an epoch (default true: every batch has batchSize images). */
  dropLast?: boolean;
  /** Shuffle each epoch (default true); false keeps the set's order (evaluation). */
  shuffle?: boolean;
  /** Compute the strong view (default true; false for the iGPT objective). */
  strong?: boolean;
  /**
   * Replace each token of both views, with probability mu, by a uniform one of [0, k) (perturb.ts:
   * the background model of the likelihood-ratio score); default none.
   */
  perturb?: { mu: number; k: number } | null;
  /**
   * Data-parallel training: this process is `rank` of `count` and takes rows
   * [rank·b, (rank + 1)·b) of every batch, b = batchSize / count (batchSize stays the global batch
   * and must be divisible by count). Each row is the image, augmentation and perturbation it is in
   * the whole batch. Default: the whole batch.
   */
  shard?: { rank: number; count: number } | null;
}

export interface PairBatch {
  epoch: number;
  /** Batch index within the epoch. */
  index: number;
  /** Positions of the batch's images in the set. */
  indices: Int32Array;
  /** int64 (B, H, W) tokens of the weak view. */
  weak: Tensor;
  /** int64 (B, H, W) tokens of the strong view, or null. */
  strong: Tensor | null;
  /** int64 (B,) labels, or null for unlabeled sets. */
  labels: Tensor | null;
}

/** Where a loader is (or resumes): the next batch to produce. */
export interface LoaderPosition {
  epoch: number;
  batch: number;
}

export class PairLoader {
  readonly batchSize: number;
  readonly seed: number;
  readonly dropLast: boolean;
  readonly shuffle: boolean;
  readonly strong: boolean;
  readonly perturb: { mu: number; k: number } | null;
  readonly shard: { rank: number; count: number } | null;
  readonly #cachedPermutation: { epoch: number; order: Int32Array } = { epoch: -1, order: new Int32Array(0) };

  constructor(
    readonly set: ImageSet,
    readonly tokenizer: Tokenizer,
    readonly augment: PairAugment,
    options: LoaderOptions,
  ) {
    const n = setSize(set);
    if (!Number.isInteger(options.batchSize) || options.batchSize < 1) {
      throw new RangeError(`batch size: expected a positive integer, got ${options.batchSize}`);
    }
    this.batchSize = options.batchSize;
    this.seed = options.seed ?? 0;
    this.dropLast = options.dropLast ?? true;
    this.shuffle = options.shuffle ?? true;
    this.strong = options.strong ?? true;
    this.perturb = options.perturb ?? null;
    this.shard = options.shard ?? null;
    if (this.shard !== null) {
      const { rank, count } = this.shard;
      if (!(Number.isInteger(count) && count >= 1 && Number.isInteger(rank) && rank >= 0 && rank < count)) {
        throw new RangeError(`shard: expected 0 <= rank < count, got rank ${rank} of ${count}`);
      }
      if (this.batchSize % count !== 0) throw new RangeError(`batch size ${this.batchSize} is not divisible by the ${count} data-parallel processes`);
    }
    if (this.batchesPerEpoch === 0) {
      // A DatasetError (one line, exit 2 on the command line): the data is too small for the batch.
      throw new DatasetError(
        set.source,
        `${n} image${n === 1 ? " makes" : "s make"} no complete batch of ${this.batchSize}: lower the batch size ` +
          `(train.batchSize, --batch-size) to at most ${n}, or add images`,
      );
    }
  }

  get batchesPerEpoch(): number {
    const n = setSize(this.set);
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** The order of the set's images in an epoch. */
  order(epoch: number): Int32Array {
    if (this.#cachedPermutation.epoch !== epoch) {
      const n = setSize(this.set);
      this.#cachedPermutation.order = this.shuffle ? Rng.derive(this.seed, epoch).permutation(n) : Int32Array.from({ length: n }, (_, i) => i);
      this.#cachedPermutation.epoch = epoch;
    }
    return this.#cachedPermutation.order;
  }

  /** Batch `index` of `epoch`, computed from scratch (the same every time). Dispose it when done. */
  batch(epoch: number, index: number): PairBatch {
    if (!Number.isInteger(epoch) || epoch < 0) throw new RangeError(`epoch: expected a non-negative integer, got ${epoch}`);
    if (!Number.isInteger(index) || index < 0 || index >= this.batchesPerEpoch) {
      throw new RangeError(`batch index: expected an integer in [0, ${this.batchesPerEpoch}), got ${index}`);
    }
    const order = this.order(epoch);
    const whole = order.slice(index * this.batchSize, Math.min((index + 1) * this.batchSize, order.length));
    // A shard's rows (see LoaderOptions.shard); `whole.length` is the batch the draws are made for.
    const rows = this.shard === null ? null : { start: this.shard.rank * (whole.length / this.shard.count), total: whole.length };
    const indices = rows === null ? whole : whole.slice(rows.start, rows.start + whole.length / this.shard!.count);
    const rng = Rng.derive(this.seed, epoch, index, 1);
    const out = tidy(() => {
      const idx = tensor(indices).long();
      const images = this.set.images.indexSelect(0, idx); // (b, H, W, C) uint8
      const views = rows === null ? this.augment(images, rng, this.strong) : this.augment(images, rng, this.strong, rows);
      const p = this.perturb;
      const noise = p === null ? null : Rng.derive(this.seed, epoch, index, 2); // its own stream: the views are unchanged
      const tokens = (view: Tensor): Tensor => {
        const t = this.tokenizer.quantize(view);
        if (p === null) return t;
        // The draws of the whole batch's tokens in order: the rows before this shard's, its own, the rows after.
        const perImage = t.numel / indices.length;
        if (rows !== null) skipPerturbDraws(noise!, rows.start * perImage, p.mu, p.k);
        const perturbed = perturbTokens(t, p.mu, p.k, noise!);
        if (rows !== null) skipPerturbDraws(noise!, (rows.total - rows.start - indices.length) * perImage, p.mu, p.k);
        return perturbed;
      };
      return {
        weak: tokens(views.weak),
        strong: views.strong === null ? null : tokens(views.strong),
        labels: this.set.labels === null ? null : this.set.labels.indexSelect(0, idx),
      };
    });
    return { epoch, index, indices, ...out };
  }

  /**
   * Batches from `from` on, epoch after epoch, forever (the caller stops). Each batch's tensors are
   * kept until the caller disposes them (disposeBatch) or the iteration moves on.
   */
  *batches(from: LoaderPosition = { epoch: 0, batch: 0 }): Generator<PairBatch> {
    let { epoch, batch } = from;
    if (batch >= this.batchesPerEpoch) {
      epoch += Math.floor(batch / this.batchesPerEpoch);
      batch %= this.batchesPerEpoch;
    }
    for (;;) {
      const b = this.batch(epoch, batch);
      keep([b.weak, b.strong, b.labels]);
      try {
        yield b;
      } finally {
        disposeBatch(b);
      }
      batch++;
      if (batch === this.batchesPerEpoch) {
        batch = 0;
        epoch++;
      }
    }
  }

  /** The position after a batch (what to save in a checkpoint taken after it). */
  next(position: LoaderPosition): LoaderPosition {
    return position.batch + 1 < this.batchesPerEpoch ? { epoch: position.epoch, batch: position.batch + 1 } : { epoch: position.epoch + 1, batch: 0 };
  }
}

export function disposeBatch(b: PairBatch): void {
  b.weak.dispose();
  b.strong?.dispose();
  b.labels?.dispose();
}
