// PairLoader's data-parallel shards (LoaderOptions.shard): the shards of a batch, in rank order,
// are exactly the whole batch — the same images, augmentations (weak and strong) and perturbation
// — so N processes see what one process sees. A batch size not divisible by N is refused.
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadDataset } from "../../src/data/datasets/index.ts";
import { PaletteQuantizer } from "../../src/data/palette.ts";
import { pairAugment } from "../../src/data/augment/index.ts";
import { PairLoader, disposeBatch } from "../../src/data/loader.ts";

const set = await loadDataset({ name: "fashion-mnist", split: "train", limit: 64 });
const palette = PaletteQuantizer.fit(set.images, { k: 16, seed: 0 });
const augment = pairAugment({ flip: true }, {});

for (const [label, options] of [
  ["gcrl views", { strong: true, perturb: null }],
  ["weak view only (igpt)", { strong: false, perturb: null }],
  ["perturbed tokens", { strong: true, perturb: { mu: 0.2, k: 16 } }],
] as const) {
  test(`shards of a batch, concatenated in rank order, are the whole batch: ${label}`, () => {
    const whole = new PairLoader(set, palette, augment, { batchSize: 12, seed: 3, ...options }).batch(1, 2);
    for (const count of [2, 3, 4]) {
      const parts = Array.from({ length: count }, (_, rank) => new PairLoader(set, palette, augment, { batchSize: 12, seed: 3, ...options, shard: { rank, count } }).batch(1, 2));
      assert.deepEqual(parts.flatMap((p) => Array.from(p.indices)), Array.from(whole.indices));
      assert.deepEqual(parts.flatMap((p) => p.weak.toArray()), whole.weak.toArray(), `weak, ${count} shards`);
      if (options.strong) assert.deepEqual(parts.flatMap((p) => p.strong!.toArray()), whole.strong!.toArray(), `strong, ${count} shards`);
      else assert.ok(parts.every((p) => p.strong === null));
      assert.deepEqual(parts.flatMap((p) => p.labels!.toArray()), whole.labels!.toArray());
      for (const p of parts) disposeBatch(p);
    }
    disposeBatch(whole);
  });
}

test("a batch size not divisible by the shard count is refused", () => {
  assert.throws(() => new PairLoader(set, palette, augment, { batchSize: 10, shard: { rank: 0, count: 3 } }), /batch size 10 is not divisible by the 3 data-parallel processes/);
  assert.throws(() => new PairLoader(set, palette, augment, { batchSize: 10, shard: { rank: 2, count: 2 } }), /shard: expected 0 <= rank < count/);
});
