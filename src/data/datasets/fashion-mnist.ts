// Fashion-MNIST (Xiao, Rasul & Vollgraf 2017): 28×28 grayscale clothing images, 10 classes,
// 60,000 train + 10,000 test, in IDX files. By default read from Debian's dataset-fashion-mnist
// package (/usr/share/datasets/fashion-mnist: train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz,
// t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) or, when that folder is absent,
// data/fashion-mnist (where `gcrl data download fashion-mnist` puts them); `dataDir` may hold the same
// files, gzipped or not.
import { join } from "node:path";
import type { ImageSet } from "../image-set.ts";
import { isDirectory } from "./dataset-error.ts";
import { findIdxPair, loadIdxPair, type IdxDatasetOptions } from "./idx.ts";

export const FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist";
/** Where `gcrl data download fashion-mnist` puts the files by default (relative to the working folder). */
export const FASHION_MNIST_DOWNLOAD_DIR = join("data", "fashion-mnist");

/** The folder read without a dataDir: the Debian package's, else the download default when it exists. */
export function fashionMnistDefaultDir(): string {
  return !isDirectory(FASHION_MNIST_DIR) && isDirectory(FASHION_MNIST_DOWNLOAD_DIR) ? FASHION_MNIST_DOWNLOAD_DIR : FASHION_MNIST_DIR;
}

export const FASHION_MNIST_CLASSES: readonly string[] = Object.freeze([
  "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]);

export function loadFashionMnist(split: "train" | "test", options: IdxDatasetOptions = {}): ImageSet {
  const dir = options.dataDir ?? fashionMnistDefaultDir();
  const hint =
    "Install Debian's package (apt-get install dataset-fashion-mnist, files in " + FASHION_MNIST_DIR + ") " +
    "or download the files with `gcrl data download fashion-mnist` (into " + FASHION_MNIST_DOWNLOAD_DIR + ") " +
    "or `gcrl data download fashion-mnist --dir D` and pass --data-dir D.";
  const files = findIdxPair(dir, split, "fashion-mnist", hint);
  return loadIdxPair(files.images, files.labels, FASHION_MNIST_CLASSES, `fashion-mnist ${split} (${dir})`);
}
