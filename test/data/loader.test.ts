// PairLoader on real Fashion-MNIST images with the real palette and augmentations: each epoch is a
// new permutation from the seed, the same seed gives identical batches, resuming at (epoch, batch)
// gives exactly the batches of an uninterrupted run, drop-last, and the iGPT mode skips the strong view.
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadDataset } from "../../src/data/datasets/index.ts";
import { PaletteQuantizer } from "../../src/data/palette.ts";
import { pairAugment } from "../../src/data/augment/index.ts";
import { PairLoader, disposeBatch, type PairBatch } from "../../src/data/loader.ts";
import { disposeSet } from "../../src/data/image-set.ts";
import { previewRows } from "../../src/data/preview.ts";

const set = await loadDataset({ name: "fashion-mnist", split: "train", limit: 100 });
const palette = PaletteQuantizer.fit(set.images, { k: 16, seed: 0 });
const augment = pairAugment({ flip: true }, {});

function snapshot(b: PairBatch): { indices: number[]; weak: number[]; strong: number[] | null; labels: number[] | null } {
  return {
    indices: Array.from(b.indices),
    weak: b.weak.toArray(),
    strong: b.strong?.toArray() ?? null,
    labels: b.labels?.toArray() ?? null,
  };
}

test("batches have the right shapes, dtypes and labels", () => {
  const loader = new PairLoader(set, palette, augment, { batchSize: 32, seed: 1 });
  assert.equal(loader.batchesPerEpoch, 3); // 100 images, drop-last
  const b = loader.batch(0, 0);
  assert.deepEqual(b.weak.shape, [32, 28, 28]);
  assert.equal(b.weak.dtype, "int64");
  assert.deepEqual(b.strong?.shape, [32, 28, 28]);
  const tokens = [...b.weak.toArray(), ...b.strong!.toArray()];
  assert.ok(tokens.every((t) => Number.isInteger(t) && t >= 0 && t < 16));
  const allLabels = set.labels!.toArray();
  assert.deepEqual(b.labels!.toArray(), Array.from(b.indices, (i) => allLabels[i]));
  disposeBatch(b);
});

test("each epoch is a new permutation covering every image once (drop-last off)", () => {
  const loader = new PairLoader(set, palette, augment, { batchSize: 32, seed: 1, dropLast: false });
  assert.equal(loader.batchesPerEpoch, 4);
  const epochIndices = (epoch: number) => {
    const seen: number[] = [];
    for (let i = 0; i < loader.batchesPerEpoch; i++) {
      const b = loader.batch(epoch, i);
      seen.push(...b.indices);
      disposeBatch(b);
    }
    return seen;
  };
  const e0 = epochIndices(0);
  const e1 = epochIndices(1);
  assert.deepEqual([...e0].sort((a, b) => a - b), Array.from({ length: 100 }, (_, i) => i));
  assert.deepEqual([...e1].sort((a, b) => a - b), Array.from({ length: 100 }, (_, i) => i));
  assert.notDeepEqual(e0, e1);
  const last = loader.batch(0, 3);
  assert.equal(last.indices.length, 4);
  disposeBatch(last);
});

test("the same seed gives identical batches; another seed does not", () => {
  const a = new PairLoader(set, palette, augment, { batchSize: 16, seed: 7 });
  const b = new PairLoader(set, palette, augment, { batchSize: 16, seed: 7 });
  const c = new PairLoader(set, palette, augment, { batchSize: 16, seed: 8 });
  const [ba, bb, bc] = [a.batch(2, 3), b.batch(2, 3), c.batch(2, 3)];
  assert.deepEqual(snapshot(ba), snapshot(bb));
  assert.notDeepEqual(snapshot(ba).indices, snapshot(bc).indices);
  [ba, bb, bc].forEach(disposeBatch);
});

test("resuming at (epoch, batch) sees exactly the batches of an uninterrupted run", () => {
  const loader = new PairLoader(set, palette, augment, { batchSize: 16, seed: 3 });
  const perEpoch = loader.batchesPerEpoch; // 6
  const uninterrupted: ReturnType<typeof snapshot>[] = [];
  let position = { epoch: 0, batch: 0 };
  for (const b of loader.batches()) {
    uninterrupted.push(snapshot(b));
    position = loader.next({ epoch: b.epoch, batch: b.index });
    if (uninterrupted.length === perEpoch + 4) break;
  }
  assert.deepEqual(position, { epoch: 1, batch: 4 });
  // "Interrupt" after 5 batches, then resume from the saved position with a fresh loader.
  const resumedLoader = new PairLoader(set, palette, augment, { batchSize: 16, seed: 3 });
  const saved = { epoch: 0, batch: 5 };
  const resumed: ReturnType<typeof snapshot>[] = [];
  for (const b of resumedLoader.batches(saved)) {
    resumed.push(snapshot(b));
    if (resumed.length === perEpoch + 4 - 5) break;
  }
  assert.deepEqual(resumed, uninterrupted.slice(5));
});

test("iGPT mode: no strong view, and the weak view is the same as with it", () => {
  const both = new PairLoader(set, palette, augment, { batchSize: 16, seed: 5 });
  const weakOnly = new PairLoader(set, palette, augment, { batchSize: 16, seed: 5, strong: false });
  const [x, y] = [both.batch(0, 1), weakOnly.batch(0, 1)];
  assert.equal(y.strong, null);
  assert.deepEqual(y.weak.toArray(), x.weak.toArray());
  disposeBatch(x);
  disposeBatch(y);
});

test("bad options and positions are clear errors", () => {
  assert.throws(() => new PairLoader(set, palette, augment, { batchSize: 0 }), /batch size: expected a positive integer, got 0/);
  assert.throws(() => new PairLoader(set, palette, augment, { batchSize: 101 }), /100 images make no complete batch of 101/);
  const loader = new PairLoader(set, palette, augment, { batchSize: 50 });
  assert.throws(() => loader.batch(0, 2), /batch index: expected an integer in \[0, 2\), got 2/);
  assert.throws(() => loader.batch(-1, 0), /epoch: expected a non-negative integer, got -1/);
});

test("preview rows: original, quantized, weak and strong images of the same shape", () => {
  const rows = previewRows(set, palette, 6, 0);
  for (const row of Object.values(rows)) {
    assert.deepEqual(row.shape, [6, 28, 28, 1]);
    assert.equal(row.dtype, "uint8");
  }
  // Quantizing the quantized images changes nothing.
  const again = palette.dequantize(palette.quantize(rows.quantized));
  assert.deepEqual(again.toArray(), rows.quantized.toArray());
  again.dispose();
  for (const row of Object.values(rows)) row.dispose();
});

test.after(() => {
  palette.dispose();
  disposeSet(set);
});
