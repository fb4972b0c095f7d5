// Ledoit–Wolf shrinkage (src/eval/ledoit-wolf.ts) and Mahalanobis OOD scores (src/eval/mahalanobis.ts):
// a hand-computed 2-d example, scikit-learn 1.2.1 reference numbers (computed offline with Debian's
// python3-sklearn and pasted here), invariances, singular covariances and bad input.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Tensor, dispose, linalg, tensor, tidy } from "../../src/torch/index.ts";
import { ledoitWolfShrinkage, shrunkCovariance } from "../../src/eval/ledoit-wolf.ts";
import { ClassConditionalMahalanobis, MahalanobisScorer } from "../../src/eval/mahalanobis.ts";
import { assertClose } from "../helpers/assert-close.ts";

const f64 = (rows: number[][]): Tensor => tensor(rows, { dtype: "float64" });

// Four points on the axes: mean 0, S = diag((1+1)/4, (4+4)/4) = diag(0.5, 2).
const HAND = [[1, 0], [-1, 0], [0, 2], [0, -2]];

test("ledoit-wolf: the shrinkage of the hand example is 17/18", () => {
  tidy(() => {
    // μ = tr S / 2 = 1.25; ‖S‖²_F = 0.25 + 4 = 4.25; ‖x_i‖⁴ = 1, 1, 16, 16 → mean 8.5;
    // β = (8.5 − 4.25)/(2·4) = 0.53125; δ = ((0.5 − 1.25)² + (2 − 1.25)²)/2 = 0.5625;
    // s = min(β, δ)/δ = 0.53125/0.5625 = 17/18; Σ = (1/18)·S + (17/18)·1.25·I = diag(29/24, 31/24).
    // (scikit-learn 1.2.1 ledoit_wolf: 0.9444444444444444, diag(1.2083333333333335, 1.2916666666666667).)
    const { mean, covariance, shrinkage } = shrunkCovariance(f64(HAND));
    assertClose(shrinkage, 17 / 18, 1e-14, "shrinkage");
    assertClose(mean, [0, 0], 1e-15, "mean");
    assertClose(covariance, [29 / 24, 0, 0, 31 / 24], 1e-14, "covariance");
    assertClose(ledoitWolfShrinkage(f64(HAND)), 17 / 18, 1e-14, "ledoitWolfShrinkage");
    // A fixed coefficient: s = 0.5 → Σ = 0.5·S + 0.625·I = diag(0.875, 1.625). One feature: s = 0.
    assertClose(shrunkCovariance(f64(HAND), { shrinkage: 0.5 }).covariance, [0.875, 0, 0, 1.625], 1e-15, "s=0.5");
    assert.equal(shrunkCovariance(f64([[1], [2], [4]])).shrinkage, 0);
  });
});

// 15 × 4 correlated features (rounded to 2 decimals), generated offline with
// np.random.default_rng(11): round(normal((15, 4)) @ A + [1, −2, 0.5, 3], 2).
const X = [[2.02, -1.69, 0.94, 2.97], [0.27, -2.43, 0.72, 3.0], [0.25, -3.39, 1.12, 3.0], [1.66, -1.95, 0.39, 3.02], [1.8, -2.06, 0.51, 3.03], [-1.22, -2.88, 0.59, 2.97], [-1.81, -2.27, 0.19, 2.94], [-0.51, -2.25, 0.84, 2.99], [0.5, -2.02, 0.76, 2.98], [2.22, -1.42, 0.34, 2.96], [1.29, -2.21, 0.81, 2.94], [-0.31, -1.9, -0.18, 3.01], [1.1, -2.79, 1.14, 3.04], [1.68, -2.09, 0.75, 2.93], [2.17, -1.17, -0.17, 3.02]];
const Q = [[0.62, -0.83, -0.16, 2.97], [1.51, -3.31, 1.4, 2.84], [1.74, -2.78, 2.13, 3.91]];
const LABELS = Array.from({ length: 15 }, (_, i) => i % 3);

test("ledoit-wolf and Mahalanobis: scikit-learn 1.2.1 reference (15 × 4 features)", () => {
  tidy(() => {
    // sklearn.covariance.ledoit_wolf(X) and LedoitWolf().fit(X).mahalanobis(Q).
    const scorer = MahalanobisScorer.fit(f64(X));
    try {
      assertClose(scorer.shrinkage, 0.1578076389643831, 1e-12, "shrinkage");
      assertClose(
        scorer.covariance,
        [1.3512461545503394, 0.306023507998494, 0.01944154276986218, 0.006486752718554324, 0.306023507998494, 0.32548655204167115, -0.1129604540778372, -0.0009264115971391876, 0.01944154276986218, -0.1129604540778372, 0.20810140645281083, -0.0008665223625766268, 0.006486752718554324, -0.0009264115971391876, -0.0008665223625766268, 0.07839255362184538],
        1e-12,
        "covariance",
      );
      assertClose([...scorer.score(f64(Q))], [7.375184113116162, 7.793914112879195, 22.99089304290248], 1e-10, "mahalanobis");
      // float32 features give the same distances to float32 precision (fit and scoring run in float64).
      assertClose([...scorer.score(tensor(Q))], [7.375184113116162, 7.793914112879195, 22.99089304290248], 1e-5, "float32 query");
    } finally {
      scorer.dispose();
    }
  });
});

test("class-conditional Mahalanobis: scikit-learn 1.2.1 / numpy reference (3 classes, tied covariance)", () => {
  tidy(() => {
    // μ_c = class means; Xc = X − μ_{y}; ledoit_wolf(Xc, assume_centered=True); score = min_c d²(q, μ_c)
    // with d² = (q − μ_c)ᵀ inv(Σ) (q − μ_c) (numpy einsum). Labels 0, 1, 2, 0, 1, 2, ...
    const y = tensor(LABELS, { dtype: "int64" });
    const cc = ClassConditionalMahalanobis.fit(tensor(X), y);
    try {
      assert.equal(cc.numClasses, 3);
      assertClose(cc.shrinkage, 0.24677097166084294, 1e-6, "shrinkage (float32 features)");
      assertClose([...cc.score(f64(Q))], [6.652433586880676, 6.356854384951432, 17.312811169675307], 1e-4, "scores (float32 features)");
    } finally {
      cc.dispose();
    }
    const exact = ClassConditionalMahalanobis.fit(f64(X), y);
    assertClose(exact.shrinkage, 0.24677097166084294, 1e-12, "shrinkage");
    assertClose(
      exact.covariance,
      [1.1691361011105974, 0.2525265597356147, -0.00828752792247296, 0.007295274215807506, 0.2525265597356147, 0.32621256007681326, -0.10435837541833354, -0.0006477769643716845, -0.00828752792247296, -0.10435837541833354, 0.2179966477280121, -8.837887265844522e-05, 0.007295274215807506, -0.0006477769643716845, -8.837887265844522e-05, 0.11350269108457754],
      1e-12,
      "tied covariance",
    );
    assertClose([...exact.score(f64(Q))], [6.652433586880676, 6.356854384951432, 17.312811169675307], 1e-10, "scores");
    // Each class mean is at distance 0 from itself.
    assertClose([...exact.score(exact.classMeans)], [0, 0, 0], 1e-12, "class means");
    exact.dispose();
    // Shrinkage 0: the plain tied covariance (numpy inv of Xcᵀ·Xc/N).
    const plain = ClassConditionalMahalanobis.fit(f64(X), y, { shrinkage: 0 });
    assert.equal(plain.shrinkage, 0);
    assertClose([...plain.score(f64(Q))], [8.729229391614542, 41.82263672927715, 1074.540843825938], 1e-10, "scores s=0");
    plain.dispose();
  });
});

test("Mahalanobis: hand-computed 2-d distances, the mean at 0, shrinkage 0 = the plain inverse covariance", () => {
  tidy(() => {
    // s = 0: Σ = diag(0.5, 2): d²([1, 2]) = 1/0.5 + 4/2 = 4; d²([2, 0]) = 8; d²(mean) = 0.
    // s = 0.5: Σ = diag(0.875, 1.625): d²([1, 2]) = 1/0.875 + 4/1.625 = 3.6043956043956045.
    const plain = MahalanobisScorer.fit(f64(HAND), { shrinkage: 0 });
    assertClose([...plain.score(f64([[1, 2], [2, 0], [0, 0]]))], [4, 8, 0], 1e-14, "s=0");
    plain.dispose();
    const half = MahalanobisScorer.fit(f64(HAND), { shrinkage: 0.5 });
    assertClose([...half.score(f64([[1, 2]]))], [1 / 0.875 + 4 / 1.625], 1e-14, "s=0.5");
    half.dispose();
    // Shrinkage 0 on the 15 × 4 data against an independent route: inverse(Xcᵀ·Xc/N) and the quadratic form.
    const x = f64(X);
    const scorer = MahalanobisScorer.fit(x, { shrinkage: 0 });
    const m = x.mean(0);
    const xc = x.sub(m);
    const precision = linalg.inverse(xc.mT.matmul(xc).div(15));
    const diff = f64(Q).sub(m);
    const expected = diff.matmul(precision).mul(diff).sum(1).toArray();
    assertClose([...scorer.score(f64(Q))], expected, 1e-11, "vs inverse covariance");
    assertClose([...scorer.score(m.unsqueeze(0))], [0], 1e-14, "mean");
    // Affine invariance (s = 0): fitting and scoring A·x + b gives the same distances.
    const a = f64([[2, 1, 0, 0], [0, 1, 0, 3], [1, 0, -1, 0], [0, 0, 0.5, 1]]);
    const b = f64([[5, -1, 0, 2]]);
    const moved = MahalanobisScorer.fit(x.matmul(a).add(b), { shrinkage: 0 });
    assertClose([...moved.score(f64(Q).matmul(a).add(b))], expected, 1e-9, "affine invariance");
    moved.dispose();
    scorer.dispose();
  });
});

test("Mahalanobis: singular covariances — Ledoit–Wolf copes, shrinkage 0 is refused clearly", () => {
  tidy(() => {
    // N = 3 < D = 5: sklearn ledoit_wolf gives s = 0.44370605171821914.
    const few = f64([[-0.18, 0.63, 1.26, 1.79, -1.57], [0.88, 0.47, -0.09, -1.01, 1.26], [-1.26, 0.57, 1.3, -1.6, -0.3]]);
    const lw = MahalanobisScorer.fit(few);
    assertClose(lw.shrinkage, 0.44370605171821914, 1e-12, "N<D shrinkage");
    assertClose(lw.covariance.select(0, 0).toArray(), [0.8426886078236917, -0.01970516785691463, -0.2749822796795541, 0.12088885600550077, 0.3069877248373658], 1e-12, "N<D covariance row 0");
    assert.ok(lw.score(few).every((v) => Number.isFinite(v) && v >= 0));
    lw.dispose();
    assert.throws(() => MahalanobisScorer.fit(few, { shrinkage: 0 }), /MahalanobisScorer.fit: the covariance is singular .*use shrinkage "ledoit-wolf"/);
    // A constant feature: LW shrinks (s > 0) and scores are finite; shrinkage 0 is refused.
    const constant = f64(X.map((r) => [r[0]!, r[1]!, 7]));
    const c = MahalanobisScorer.fit(constant);
    assert.ok(c.shrinkage > 0 && c.shrinkage <= 1);
    assert.ok(c.score(f64(Q.map((r) => [r[0]!, r[1]!, 7]))).every((v) => Number.isFinite(v)));
    c.dispose();
    assert.throws(() => MahalanobisScorer.fit(constant, { shrinkage: 0 }), /the covariance is singular/);
    // Every feature constant: nothing to measure.
    assert.throws(() => MahalanobisScorer.fit(f64([[1, 2], [1, 2], [1, 2]])), /the training features are constant/);
    // A class-conditional fit with one sample per class has zero within-class scatter.
    assert.throws(() => ClassConditionalMahalanobis.fit(f64([[0, 1], [2, 3]]), tensor([0, 1], { dtype: "int64" })), /the features are constant within every class/);
  });
});

test("Mahalanobis: bad input is refused naming the argument", () => {
  tidy(() => {
    const x = f64(X);
    const y = tensor(LABELS, { dtype: "int64" });
    assert.throws(() => MahalanobisScorer.fit(f64([[1, 2]])), /MahalanobisScorer.fit: trainFeatures needs at least 2 row\(s\), got 1/);
    assert.throws(() => MahalanobisScorer.fit(tensor([[1, 2], [3, 4]], { dtype: "int64" })), /trainFeatures must be a floating-point tensor, got int64/);
    assert.throws(() => MahalanobisScorer.fit(x, { shrinkage: 1.5 }), /shrinkage must be "ledoit-wolf" or a number in \[0, 1\], got 1.5/);
    assert.throws(() => MahalanobisScorer.fit(x, { shrinkage: "oas" as never }), /got "oas"/);
    assert.throws(() => MahalanobisScorer.fit(f64([[1, 2], [NaN, 0], [1, 1]])), /trainFeatures contains NaN or Infinity \(first at row 1\)/);
    const scorer = MahalanobisScorer.fit(x);
    assert.throws(() => scorer.score(f64([[1, 2, 3]])), /MahalanobisScorer.score: features has 3 features per row, expected 4/);
    assert.throws(() => scorer.score(f64([[1, 2, 3, 4]]).reshape([4])), /features must be a 2-d \(M, D\) tensor, got shape \[4\]/);
    scorer.dispose();
    assert.throws(() => scorer.score(x), /the scorer has been disposed/);
    assert.throws(() => ClassConditionalMahalanobis.fit(x, y.to("int32")), /labels must be an int64 tensor of shape \[15\] .*got a int32 tensor/);
    assert.throws(() => ClassConditionalMahalanobis.fit(x, y.narrow(0, 0, 14)), /labels must be an int64 tensor of shape \[15\]/);
    assert.throws(() => ClassConditionalMahalanobis.fit(x, y.sub(1)), /labels\[0\] is -1; labels must be >= 0/);
    assert.throws(() => ClassConditionalMahalanobis.fit(x, y, { numClasses: 2 }), /labels go up to 2, but numClasses is 2/);
    assert.throws(() => ClassConditionalMahalanobis.fit(x, y, { numClasses: 4 }), /class 3 has no features/);
    assert.throws(() => ClassConditionalMahalanobis.fit(x, y.mul(2)), /class 1 has no features/);
  });
});

test("Mahalanobis and kNN distance: fit, score and dispose leave no live tensors", async () => {
  const { countLiveTensors, liveTensorCount } = await import("../helpers/live-tensors.ts");
  const { knnDistanceScores } = await import("../../src/eval/ood-scores.ts");
  countLiveTensors();
  const x = f64(X);
  const y = tensor(LABELS, { dtype: "int64" });
  const q = f64(Q);
  const before = liveTensorCount();
  for (let round = 0; round < 2; round++) {
    const a = MahalanobisScorer.fit(x);
    a.score(q);
    a.dispose();
    const b = ClassConditionalMahalanobis.fit(x, y);
    b.score(q);
    b.dispose();
    knnDistanceScores(x, q, { k: 3, chunk: 2 });
    // Refused fits and scores free what they made.
    const same = f64([[1, 2], [1, 2]]);
    assert.throws(() => MahalanobisScorer.fit(same, { shrinkage: 0 }));
    same.dispose();
    assert.throws(() => a.score(q));
  }
  assert.equal(liveTensorCount() - before, 0);
  dispose([x, y, q]);
});
