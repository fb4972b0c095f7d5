// KID: a hand-computed MMD²_u, clean-fid's kernel_distance run by numpy on fixed features
// (test/fixtures/fid-kid-reference.py, one subset holding every row, which makes the draw
// irrelevant), seeding, the subset-size cap, and errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Tensor, randn, manualSeed, tensor, tidy } from "../../src/torch/index.ts";
import { kernelInceptionDistance } from "../../src/eval/kid.ts";
import { assertClose } from "../helpers/assert-close.ts";

const KA = [[0.1, 0.5, 1.2, 0.0], [0.9, 0.3, 0.4, 0.7], [1.5, 0.0, 0.2, 0.3], [0.4, 0.8, 0.6, 1.1], [0.0, 0.2, 0.9, 0.5]];
const KB = [[0.6, 0.1, 0.3, 0.9], [1.2, 0.7, 0.0, 0.4], [0.3, 1.4, 0.5, 0.2], [0.8, 0.6, 1.0, 0.0], [0.2, 0.3, 0.1, 1.3]];

test("hand-computed: D = 1, x = {0, 1}, y = {1, 2}", () => {
  // k(u, v) = (uv + 1)³. Within x: 2·k(0,1) = 2; within y: 2·k(1,2) = 54 → 56 / (2·1) = 28.
  // Across: k(0,1) + k(0,2) + k(1,1) + k(1,2) = 1 + 1 + 8 + 27 = 37 → 2·37/4 = 18.5. MMD²_u = 9.5.
  const x = tensor([[0], [1]], { dtype: "float64" });
  const y = tensor([[1], [2]], { dtype: "float64" });
  const r = kernelInceptionDistance(x, y, { subsets: 1 });
  assert.deepEqual(r, { mean: 9.5, std: 0, subsets: 1, subsetSize: 2 });
  x.dispose();
  y.dispose();
});

test("matches clean-fid's kernel_distance (numpy) with one subset of all rows", () => {
  const a = tensor(KA, { dtype: "float32" });
  const b = tensor(KB, { dtype: "float64" });
  const r = kernelInceptionDistance(a, b, { subsets: 1, subsetSize: 5 });
  assert.equal(r.subsetSize, 5);
  assertClose(r.mean, -0.2505118615624994, 1e-7, "KID(KA, KB)"); // KA rounded to float32
  const same = tensor(KA, { dtype: "float64" });
  assertClose(kernelInceptionDistance(same, same, { subsets: 1 }).mean, -0.4553910375000001, 1e-13, "KID(KA, KA)");
  // Every subset of size N is a permutation of the whole set: all values equal, std 0.
  const many = kernelInceptionDistance(same, b, { subsets: 4, seed: 9 });
  assert.equal(many.subsets, 4);
  assert.ok(many.std < 1e-12, `std ${many.std}`);
  for (const t of [a, b, same]) t.dispose();
});

test("random subsets: reproducible under a seed, different across seeds, capped at min(Na, Nb)", () => {
  manualSeed(1);
  const { a, b } = tidy(() => ({ a: randn([40, 8]), b: randn([30, 8]).add(0.5) }));
  const r1 = kernelInceptionDistance(a, b, { subsets: 5, subsetSize: 10, seed: 1 });
  const r2 = kernelInceptionDistance(a, b, { subsets: 5, subsetSize: 10, seed: 1 });
  const r3 = kernelInceptionDistance(a, b, { subsets: 5, subsetSize: 10, seed: 2 });
  assert.deepEqual(r1, r2);
  assert.notEqual(r1.mean, r3.mean);
  assert.ok(r1.std > 0);
  assert.ok(r1.mean > 0, `shifted sets: KID ${r1.mean} should be positive`);
  const capped = kernelInceptionDistance(a, b, { subsets: 2 }); // default subsetSize 1000 → 30
  assert.equal(capped.subsetSize, 30);
  const self = kernelInceptionDistance(a, a, { subsets: 20, subsetSize: 20 });
  assert.ok(Math.abs(self.mean) < 3 * self.std + 1e-3, `same set: KID ${self.mean} ± ${self.std} should be near 0`);
  a.dispose();
  b.dispose();
});

test("errors: mismatched D, too few rows, bad options, non-finite values", () => {
  const a = tensor([[1, 2], [3, 4], [5, 6]], { dtype: "float32" });
  const b = tensor([[1, 2, 3], [4, 5, 6]], { dtype: "float32" });
  const one = tensor([[1, 2]], { dtype: "float32" });
  const inf = tensor([[1, Infinity], [1, 2]], { dtype: "float32" });
  assert.throws(() => kernelInceptionDistance(a, b), /same feature dimension D/);
  assert.throws(() => kernelInceptionDistance(a, one), /kernelInceptionDistance: b must have at least 2 rows/);
  assert.throws(() => kernelInceptionDistance(inf, a), /kernelInceptionDistance: a contains NaN or Inf/);
  assert.throws(() => kernelInceptionDistance(a, a, { subsets: 0 }), /options.subsets must be an integer >= 1, got 0/);
  assert.throws(() => kernelInceptionDistance(a, a, { subsetSize: 1 }), /options.subsetSize must be an integer >= 2, got 1/);
  assert.throws(() => kernelInceptionDistance(a, a, { subsetSize: 2.5 }), /options.subsetSize must be an integer >= 2, got 2.5/);
  assert.throws(() => kernelInceptionDistance(a, a, { seed: NaN }), /options.seed must be a finite number/);
  for (const t of [a, b, one, inf] as Tensor[]) t.dispose();
});
