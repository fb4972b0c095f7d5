// The real Fashion-MNIST files of Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tidy } from "../../../src/torch/index.ts";
import { DatasetError, FASHION_MNIST_CLASSES, loadFashionMnist } from "../../../src/data/datasets/index.ts";
import { disposeSet, labelHistogram, type ImageSet } from "../../../src/data/image-set.ts";

// Spot values read independently of gcrl, with Python's gzip module on the same files:
//   im = gzip.open('train-images-idx3-ubyte.gz').read(); lb = gzip.open('train-labels-idx1-ubyte.gz').read()
//   im[16 + 14*28 + 14] -> 217, lb[8] -> 9, sum(im[16:16+784]) -> 76247          (train image 0)
//   lb[8 + 59999] -> 5, sum of image 59999 -> 16684, its pixel (10, 20) -> 19     (train image 59999)
//   test (t10k-*): label 9, sum 33456, pixel (14, 14) -> 110                       (test image 0)
// and the first one again with `zcat train-images-idx3-ubyte.gz | od -A d -t u1 -j 422 -N 1` -> 217.
const SPOTS = {
  train: [
    { index: 0, label: 9, sum: 76247, pixel: [14, 14, 217] },
    { index: 59999, label: 5, sum: 16684, pixel: [10, 20, 19] },
  ],
  test: [{ index: 0, label: 9, sum: 33456, pixel: [14, 14, 110] }],
} as const;

function check(set: ImageSet, split: "train" | "test", n: number): void {
  assert.deepEqual(set.images.shape, [n, 28, 28, 1]);
  assert.equal(set.images.dtype, "uint8");
  assert.equal(set.labels!.dtype, "int64");
  assert.deepEqual(set.classes, FASHION_MNIST_CLASSES);
  for (const s of SPOTS[split]) {
    const [y, x, value] = s.pixel;
    tidy(() => {
      const image = set.images.select(0, s.index); // (28, 28, 1)
      assert.equal(set.labels!.select(0, s.index).item(), s.label, `${split} ${s.index} label`);
      assert.equal(image.sum().item(), s.sum, `${split} ${s.index} pixel sum`);
      assert.equal(image.select(0, y).select(0, x).select(0, 0).item(), value, `${split} ${s.index} pixel (${y}, ${x})`);
    });
  }
}

test("all 70,000 images: 60,000 train + 10,000 test, 6,000 / 7,000 per class, spot values", () => {
  const start = performance.now();
  const train = loadFashionMnist("train");
  const test = loadFashionMnist("test");
  const ms = performance.now() - start;
  check(train, "train", 60000);
  check(test, "test", 10000);
  assert.match(train.source, /fashion-mnist train \(\/usr\/share\/datasets\/fashion-mnist\)/);
  const trainHist = labelHistogram(train);
  const testHist = labelHistogram(test);
  assert.deepEqual(trainHist, Array(10).fill(6000));
  assert.deepEqual(testHist, Array(10).fill(1000));
  assert.deepEqual(trainHist.map((c, i) => c + testHist[i]!), Array(10).fill(7000));
  assert.ok(ms < 5000, `loading both splits took ${ms.toFixed(0)} ms`);
  disposeSet(train);
  disposeSet(test);
});

test("a folder without the files: the folder, the names looked for, and how to get them", () => {
  const empty = mkdtempSync(join(tmpdir(), "gcrl-fmnist-"));
  try {
    assert.throws(() => loadFashionMnist("train", { dataDir: empty }), (err: unknown) => {
      assert.ok(err instanceof DatasetError);
      assert.equal(err.path, empty);
      assert.match(err.message, /no images file \(looked for train-images-idx3-ubyte\.gz, train-images-idx3-ubyte,/);
      assert.match(err.message, /apt-get install dataset-fashion-mnist/);
      assert.match(err.message, /gcrl data download fashion-mnist --dir D/);
      return true;
    });
    assert.throws(() => loadFashionMnist("test", { dataDir: join(empty, "nope") }), /nope: fashion-mnist: no such folder/);
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
});
