// OOD scores (src/eval/ood-scores.ts) on hand-computed inputs: typicality, complexity correction,
// max softmax, energy, kNN distance. Convention: higher score = more OOD.
import { test } from "node:test";
import assert from "node:assert/strict";
import { tensor, tidy } from "../../src/torch/index.ts";
import { complexityCorrectedScores, energyScores, knnDistanceScores, likelihoodRatioScores, maxSoftmaxScores, typicalityScores } from "../../src/eval/ood-scores.ts";
import { oodMetrics } from "../../src/eval/ood-metrics.ts";
import { assertClose } from "../helpers/assert-close.ts";

test("typicality and complexity-corrected scores", () => {
  // mean 3: |2.5 − 3| = 0.5, |3 − 3| = 0, |4.25 − 3| = 1.25
  assert.deepEqual([...typicalityScores([2.5, 3, 4.25], 3)], [0.5, 0, 1.25]);
  // NLL − L: 3 − 1 = 2, 2.5 − 4 = −1.5
  assert.deepEqual([...complexityCorrectedScores([3, 2.5], [1, 4])], [2, -1.5]);
  assert.equal(typicalityScores(new Float64Array(0), 1).length, 0);
  assert.throws(() => typicalityScores([1, NaN], 3), /typicalityScores: bitsPerDim\[1\] is NaN/);
  assert.throws(() => typicalityScores([1], Infinity), /trainMeanBitsPerDim must be a finite number/);
  assert.throws(() => complexityCorrectedScores([1, 2], [1]), /complexityBitsPerDim has 1 entries, bitsPerDim has 2/);
  assert.throws(() => complexityCorrectedScores([1], [-Infinity]), /complexityBitsPerDim\[0\] is -Infinity/);
});

test("max softmax probability: −max softmax, hand-computed", () => {
  tidy(() => {
    // [0, 0] → ½ each → −0.5. [ln 3, 0] → 3/4, 1/4 → −0.75. [0, ln 2, ln 5] → 1/8, 2/8, 5/8 → −0.625.
    // [1000, 0, 0] → 1 (no overflow). A single class → −1.
    // (A third logit of −1e30 contributes e^−1e30 = 0.)
    const a = maxSoftmaxScores(tensor([[0, 0, -1e30], [Math.log(3), 0, -1e30], [0, Math.LN2, Math.log(5)]], { dtype: "float64" }));
    assertClose([...a], [-0.5, -0.75, -0.625], 1e-12, "msp");
    assertClose([...maxSoftmaxScores(tensor([[1000, 0, 0]], { dtype: "float32" }))], [-1], 1e-12, "msp large");
    assert.deepEqual([...maxSoftmaxScores(tensor([[3], [-2]]))], [-1, -1]);
  });
});

test("energy: −T·logsumexp(logits/T), hand-computed", () => {
  tidy(() => {
    // [0, 0] → −ln 2 = −0.6931471805599453; [ln 3, 0] → −ln 4 = −1.3862943611198906.
    assertClose([...energyScores(tensor([[0, 0], [Math.log(3), 0]], { dtype: "float64" }))], [-Math.LN2, -Math.log(4)], 1e-12, "energy T=1");
    // T = 2, [2, 0]: −2·ln(e + 1) = −2 · 1.3132616875182228 = −2.6265233750364456.
    assertClose([...energyScores(tensor([[2, 0]], { dtype: "float64" }), 2)], [-2.6265233750364456], 1e-12, "energy T=2");
    // Large logits stay finite: [1000, 0] → −(1000 + ln(1 + e^−1000)) = −1000.
    assertClose([...energyScores(tensor([[1000, 0]]))], [-1000], 1e-12, "energy large");
    // Sharper logits (more confident) → lower energy → less OOD.
    const [sure, unsure] = energyScores(tensor([[5, 0, 0], [1, 1, 1]]));
    assert.ok(sure! < unsure!);
  });
});

test("supervised scores refuse bad logits and temperatures", () => {
  tidy(() => {
    assert.throws(() => maxSoftmaxScores(tensor([1, 2])), /maxSoftmaxScores: logits must be a 2-d \(N, C\) tensor, got shape \[2\]/);
    assert.throws(() => energyScores(tensor([[1, 2]], { dtype: "int64" })), /energyScores: logits must be a floating-point tensor, got int64/);
    assert.throws(() => energyScores(tensor([[1, 2], [NaN, 0]])), /energyScores: logits contains NaN or Infinity \(first at row 1\)/);
    assert.throws(() => energyScores(tensor([[1, 2]]), 0), /temperature must be a positive finite number, got 0/);
    assert.throws(() => maxSoftmaxScores(undefined as never), /maxSoftmaxScores: logits must be a \(N, C\) tensor, got undefined/);
  });
});

test("kNN distance: 1 − cosine similarity to the k-th nearest training feature", () => {
  tidy(() => {
    // train: a = [1, 0], b = [0, 2], c = [−3, 0], d = [1, 1]. Query q = [2, 2] (unit [1, 1]/√2):
    //   cos(q, a) = 1/√2, cos(q, b) = 1/√2, cos(q, c) = −1/√2, cos(q, d) = 1
    //   sorted: 1, 0.7071, 0.7071, −0.7071 → k=1: 0; k=2: 1 − 1/√2 = 0.29289; k=4: 1 + 1/√2 = 1.70711.
    // Query r = [0, −1]: cos a 0, b −1, c 0, d −1/√2 → k=1: 1; k=3: 1 + 1/√2.
    const train = tensor([[1, 0], [0, 2], [-3, 0], [1, 1]]);
    const queries = tensor([[2, 2], [0, -1]]);
    const s = Math.SQRT1_2;
    assertClose([...knnDistanceScores(train, queries, { k: 1 })], [0, 1], 1e-6, "k=1");
    assertClose([...knnDistanceScores(train, queries, { k: 2 })], [1 - s, 1], 1e-6, "k=2");
    assertClose([...knnDistanceScores(train, queries, { k: 3 })], [1 - s, 1 + s], 1e-6, "k=3");
    assertClose([...knnDistanceScores(train, queries, { k: 4 })], [1 + s, 2], 1e-6, "k=4");
    // k beyond N is clamped to N; float64 inputs give float64 precision; chunking changes nothing.
    assertClose([...knnDistanceScores(train.double(), queries.double(), { k: 10, chunk: 1 })], [1 + s, 2], 1e-15, "k=10 float64");
    // Lengths do not matter (features are L2-normalised).
    assertClose([...knnDistanceScores(train.mul(tensor([[7], [0.1], [2], [3]])), queries.mul(5), { k: 2 })], [1 - s, 1], 1e-6, "scaled");
    assert.equal(knnDistanceScores(train, tensor([[1, 2]]).narrow(0, 0, 0)).length, 0);
  });
});

test("kNN distance: bad inputs are refused", () => {
  tidy(() => {
    const train = tensor([[1, 0], [0, 1]]);
    assert.throws(() => knnDistanceScores(train, tensor([[1, 0, 0]])), /knnDistanceScores: features has 3 features per row, expected 2/);
    assert.throws(() => knnDistanceScores(train, tensor([[1, 0]]), { k: 0 }), /knnDistanceScores: k must be a positive integer, got 0/);
    assert.throws(() => knnDistanceScores(train, tensor([[1, 0]]), { chunk: 1.5 }), /chunk must be a positive integer, got 1.5/);
    assert.throws(() => knnDistanceScores(tensor([[1, 0]]).narrow(0, 0, 0), tensor([[1, 0]])), /trainFeatures needs at least 1 row/);
    assert.throws(() => knnDistanceScores(train, tensor([[1, 0], [Infinity, 0]])), /features contains NaN or Infinity \(first at row 1\)/);
  });
});

test("likelihood ratio: NLL − background NLL per image; beats raw NLL where OOD images are simpler (known answer)", () => {
  assert.deepEqual([...likelihoodRatioScores([3, 2.5], [1, 4])], [2, -1.5]);
  // The failure mode of raw likelihood (Nalisnick et al. 2019): the OOD images are simpler, so the
  // model gives them a LOWER NLL than its own test images (raw NLL AUROC 0 here). A background model
  // explains that simplicity as well: it too finds them easy, by more. The ratio removes the shared
  // part and ranks every OOD image above every in-distribution one (AUROC 1).
  const inNll = [3.0, 3.2, 2.9, 3.1];
  const inBackground = [3.4, 3.5, 3.3, 3.6]; // ratio −0.4, −0.3, −0.4, −0.5
  const outNll = [1.0, 1.2, 0.9, 1.1];
  const outBackground = [0.5, 0.6, 0.4, 0.7]; // ratio 0.5, 0.6, 0.5, 0.4
  assert.equal(oodMetrics(Float64Array.from(inNll), Float64Array.from(outNll)).auroc, 0);
  const ratio = oodMetrics(likelihoodRatioScores(inNll, inBackground), likelihoodRatioScores(outNll, outBackground));
  assert.equal(ratio.auroc, 1);
  assert.throws(() => likelihoodRatioScores([1, 2], [1]), /backgroundBitsPerDim has 1 entries, bitsPerDim has 2/);
  assert.throws(() => likelihoodRatioScores([1, Number.NaN], [1, 2]), /likelihoodRatioScores/);
});
