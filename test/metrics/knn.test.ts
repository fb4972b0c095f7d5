// Weighted kNN (src/metrics/knn.ts) on hand-made 2-d features whose votes are computed by hand.
import { test } from "node:test";
import assert from "node:assert/strict";
import { tensor } from "../../src/torch/index.ts";
import { knnAccuracy, knnPredict } from "../../src/metrics/knn.ts";

// Five training features (unit length) and their labels:
//   a = [1, 0] → 0     b = [0.8, 0.6] → 1     c = [0, 1] → 1     d = [-1, 0] → 2     e = [0.6, 0.8] → 0
const train = tensor([[1, 0], [0.8, 0.6], [0, 1], [-1, 0], [0.6, 0.8]]);
const labels = tensor([0, 1, 1, 2, 0], { dtype: "int64" });

test("knn: the three nearest neighbours of [1, 0] vote exp(s/T)-weighted (T = 0.5)", () => {
  // Cosine similarities to q = [1, 0]: a 1, b 0.8, e 0.6, c 0, d -1 → top 3: a (0), b (1), e (0).
  // Votes: class 0 = e^(1/0.5) + e^(0.6/0.5) = 7.389 + 3.320 = 10.709; class 1 = e^(0.8/0.5) = 4.953 → 0.
  assert.deepEqual([...knnPredict(train, labels, tensor([[1, 0]]), { k: 3, temperature: 0.5 })], [0]);
});

test("knn: the temperature decides between a close neighbour and a majority", () => {
  // q = [0.8, 0.6]: similarities b 1, e 0.96, a 0.8, c 0.6, d -0.8 → top 3: b (1), e (0), a (0).
  // T = 1:    class 0 = e^0.96 + e^0.8 = 2.612 + 2.226 = 4.837  >  class 1 = e^1 = 2.718       → 0
  // T = 0.07: class 0 = e^13.71 + e^11.43 = 9.03e5 + 9.2e4 = 9.95e5  <  class 1 = e^14.29 = 1.60e6 → 1
  const q = tensor([[0.8, 0.6]]);
  assert.deepEqual([...knnPredict(train, labels, q, { k: 3, temperature: 1 })], [0]);
  assert.deepEqual([...knnPredict(train, labels, q, { k: 3, temperature: 0.07 })], [1]);
  // The hand sums above, recomputed: the margin is not a rounding accident.
  const t1 = [Math.exp(0.96) + Math.exp(0.8), Math.exp(1)];
  const t007 = [Math.exp(0.96 / 0.07) + Math.exp(0.8 / 0.07), Math.exp(1 / 0.07)];
  assert.ok(t1[0]! > t1[1]! * 1.5 && t007[1]! > t007[0]! * 1.5);
});

test("knn: cosine similarity ignores the features' lengths; k = 1 is the nearest neighbour", () => {
  const scaled = train.mul(tensor([[5], [0.1], [3], [2], [7]]));
  const q = tensor([[-3, 0.1], [0.01, 2], [6, 8], [1, 0.01]]);
  // nearest: d (2), c (1), e (0), a (0)
  assert.deepEqual([...knnPredict(scaled, labels, q, { k: 1 })], [2, 1, 0, 0]);
});

test("knn: ties go to the lowest label; k larger than N uses every feature", () => {
  const x = tensor([[1, 0], [-1, 0]]);
  const y = tensor([1, 0], { dtype: "int64" });
  assert.deepEqual([...knnPredict(x, y, tensor([[0, 1]]), { k: 2 })], [0]); // equal similarity 0, equal weight
  // k = 20 > 5: all five vote. q = [0, -1]: similarities a 0, b -0.6, c -1, d 0, e -0.8; T = 1:
  // class 0 = e^0 + e^-0.8 = 1.449, class 1 = e^-0.6 + e^-1 = 0.917, class 2 = e^0 = 1 → 0
  assert.deepEqual([...knnPredict(train, labels, tensor([[0, -1]]), { temperature: 1 })], [0]);
});

test("knn: accuracy over queries, in chunks", () => {
  const q = tensor([[1, 0], [0.8, 0.6], [-1, 0.1], [0, 1]]);
  const truth = tensor([0, 1, 2, 0], { dtype: "int64" }); // the last one is wrong on purpose
  const options = { k: 1, chunk: 3 };
  assert.deepEqual([...knnPredict(train, labels, q, options)], [0, 1, 2, 1]);
  assert.equal(knnAccuracy(train, labels, q, truth, options), 0.75);
});

test("knn: bad arguments name the argument", () => {
  assert.throws(() => knnPredict(train, labels, tensor([[1, 0, 0]])), /queryFeatures must be an \(M, 2\) tensor/);
  assert.throws(() => knnPredict(train, tensor([0, 1], { dtype: "int64" }), tensor([[1, 0]])), /trainLabels must be int64 \(5,\)/);
  assert.throws(() => knnPredict(train, labels, tensor([[1, 0]]), { k: 0 }), /k must be a positive integer/);
  assert.throws(() => knnPredict(train, labels, tensor([[1, 0]]), { temperature: 0 }), /temperature must be a positive number/);
});
