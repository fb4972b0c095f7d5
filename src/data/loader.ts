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
import { perturbTokens } from "./perturb.ts";

/** Turns uint8 images (B, H, W, C) into tokens int64 (B, H, W) (a PaletteQuantizer). */
export interface Tokenizer {
  quantize(images: Tensor): Tensor;
}

/**
 * The two views of a batch: uint8 (B, H, W, C) each. `strong` is null when the objective does not
 * need it (iGPT mode), so it is never computed.
 */
export type PairAugment = (images: Tensor, rng: Rng, withStrong: boolean) => { weak: Tensor; strong: Tensor | null };

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
    const indices = order.slice(index * this.batchSize, Math.min((index + 1) * this.batchSize, order.length));
    const rng = Rng.derive(this.seed, epoch, index, 1);
    const out = tidy(() => {
      const idx = tensor(indices).long();
      const images = this.set.images.indexSelect(0, idx); // (B, H, W, C) uint8
      const views = this.augment(images, rng, this.strong);
      const p = this.perturb;
      const noise = p === null ? null : Rng.derive(this.seed, epoch, index, 2); // its own stream: the views are unchanged
      const tokens = (view: Tensor): Tensor => {
        const t = this.tokenizer.quantize(view);
        return p === null ? t : perturbTokens(t, p.mu, p.k, noise!);
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
