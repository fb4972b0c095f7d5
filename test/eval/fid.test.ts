// FID: Gaussian fits computed by hand, closed forms for diagonal and commuting covariances, a
// non-commuting case against numpy (test/fixtures/fid-kid-reference.py: trace of sqrtm(Σa·Σb) from
// the eigenvalues of the non-symmetric product and from Denman–Beavers, scipy being absent), a set
// against itself, and errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Tensor, keep, randn, manualSeed, tensor, tidy } from "../../src/torch/index.ts";
import { fid, frechetDistance, gaussianFit, type GaussianFit } from "../../src/eval/fid.ts";
import { assertClose } from "../helpers/assert-close.ts";

function fitOf(mean: number[], covariance: number[][]): GaussianFit {
  const m = keep(tensor(mean, { dtype: "float64" }));
  const c = keep(tensor(covariance, { dtype: "float64" }));
  return { mean: m, covariance: c, n: 10, dispose: () => (m.dispose(), c.dispose()) };
}

test("gaussianFit: mean and unbiased covariance of a hand-made set", () => {
  // Columns 0,2,0,2 (mean 1, Σ(x−1)² = 4 → var 4/3) and 0,0,2,2; their cross products cancel.
  const x = tensor([[0, 0], [2, 0], [0, 2], [2, 2]], { dtype: "float32" });
  const g = gaussianFit(x);
  assert.equal(g.n, 4);
  assert.equal(g.mean.dtype, "float64");
  assert.deepEqual(g.covariance.shape, [2, 2]);
  assertClose(g.mean, [1, 1], 1e-15, "mean");
  assertClose(g.covariance, [4 / 3, 0, 0, 4 / 3], 1e-15, "covariance");
  g.dispose();
  g.dispose(); // idempotent
  assert.ok(g.mean.isDisposed && g.covariance.isDisposed);
  x.dispose();
});

test("gaussianFit matches numpy.cov on a 6×3 set (reference script)", () => {
  const a = tensor([[1, 2, 0], [3, -1, 2], [0, 0, 1], [2, 5, -3], [-1, 1, 1], [4, 2, 2]], { dtype: "float64" });
  const g = gaussianFit(a);
  assertClose(g.mean, [1.5, 1.5, 0.5], 1e-15, "mean");
  assertClose(g.covariance, [3.5, 0.5, 0.5, 0.5, 4.3, -3.3, 0.5, -3.3, 3.5], 1e-14, "covariance");
  g.dispose();
  a.dispose();
});

test("diagonal covariances: ‖Δμ‖² + Σ(√a − √b)²", () => {
  const a = fitOf([1, 2, 3], [[4, 0, 0], [0, 9, 0], [0, 0, 1]]);
  const b = fitOf([0, 2, 5], [[1, 0, 0], [0, 4, 0], [0, 0, 16]]);
  // ‖Δμ‖² = 1 + 0 + 4 = 5; (2−1)² + (3−2)² + (1−4)² = 11
  assertClose(frechetDistance(a, b), 16, 1e-12, "FID");
  assertClose(frechetDistance(b, a), 16, 1e-12, "FID (swapped)");
  a.dispose();
  b.dispose();
});

test("commuting covariances Q·diag·Qᵀ: the same closed form", () => {
  // Q = rotation by θ with cos θ = 0.6, sin θ = 0.8; Σa = Q diag(9, 1) Qᵀ, Σb = Q diag(4, 0.25) Qᵀ.
  const rot = (l1: number, l2: number): number[][] => {
    const [c, s] = [0.6, 0.8];
    return [
      [c * c * l1 + s * s * l2, c * s * (l1 - l2)],
      [c * s * (l1 - l2), s * s * l1 + c * c * l2],
    ];
  };
  const a = fitOf([0, 0], rot(9, 1));
  const b = fitOf([3, 4], rot(4, 0.25));
  // 25 + (3 − 2)² + (1 − 0.5)² = 26.25
  assertClose(frechetDistance(a, b), 26.25, 1e-12, "FID");
  a.dispose();
  b.dispose();
});

test("non-commuting 3×3 covariances match numpy's sqrtm-of-product FID", () => {
  const a = fitOf([0.5, -1, 2], [[2, 1, 0], [1, 3, 1], [0, 1, 4]]);
  const b = fitOf([1.5, 0.25, -0.5], [[1, 0.5, 0.2], [0.5, 2, 0], [0.2, 0, 1.5]]);
  const got = frechetDistance(a, b);
  console.log(`non-commuting FID: gcrl ${got}, numpy 9.840664837600345, |diff| ${Math.abs(got - 9.840664837600345).toExponential(2)}`);
  assertClose(got, 9.840664837600345, 1e-12, "FID");
  a.dispose();
  b.dispose();
});

test("fid of two feature sets matches numpy (numpy.cov + sqrtm of the product)", () => {
  const a = tensor([[1, 2, 0], [3, -1, 2], [0, 0, 1], [2, 5, -3], [-1, 1, 1], [4, 2, 2]], { dtype: "float32" });
  const b = tensor([[0, 1, 1], [2, 2, -1], [1, -2, 3], [5, 0, 0], [-2, 3, 1], [1, 1, 4], [3, 3, 3]], { dtype: "float64" });
  assertClose(fid(a, b), 3.3357593977683884, 1e-12, "FID");
  assertClose(fid(b, a), 3.3357593977683884, 1e-12, "FID (swapped)");
  a.dispose();
  b.dispose();
});

test("a set against itself: ~0, never negative or NaN (also rank-deficient, D > N)", () => {
  manualSeed(3);
  const { x, wide } = tidy(() => ({ x: randn([200, 16]).mul(5).add(2), wide: randn([10, 64]) }));
  const scale = tidy(() => x.to("float64").var(0).sum().item()); // Tr Σ, the size of a typical FID
  const self = fid(x, x);
  console.log(`FID(x, x) = ${self} (Tr Σ = ${scale.toFixed(1)})`);
  assert.ok(self >= 0 && self < 1e-6 * scale, `FID(x, x) = ${self}`);
  const selfWide = fid(wide, wide); // Σ of rank 9 in 64 dims: eigenvalues ~ −1e-15 clamped
  assert.ok(Number.isFinite(selfWide) && selfWide >= 0 && selfWide < 1e-6 * 64, `FID(wide, wide) = ${selfWide}`);
  const shifted = tidy(() => x.add(1));
  assertClose(fid(x, shifted), 16, 1e-9, "FID(x, x + 1) = D · 1²");
  x.dispose();
  wide.dispose();
  shifted.dispose();
});

test("errors: mismatched D, too few rows, non-finite values, wrong types, disposed fits", () => {
  const a = tensor([[1, 2], [3, 4], [5, 7]], { dtype: "float32" });
  const b3 = tensor([[1, 2, 3], [3, 4, 5]], { dtype: "float32" });
  const one = tensor([[1, 2]], { dtype: "float32" });
  const nan = tensor([[1, NaN], [3, 4]], { dtype: "float32" });
  const ints = tensor([[1, 2], [3, 4]], { dtype: "int64" });
  const flat = tensor([1, 2, 3], { dtype: "float32" });
  assert.throws(() => fid(a, b3), /fid: featuresA and featuresB must have the same feature dimension D/);
  assert.throws(() => fid(a, one), /fid: featuresB must have at least 2 rows/);
  assert.throws(() => fid(nan, a), /fid: featuresA contains NaN or Inf/);
  assert.throws(() => fid(a, ints), /fid: featuresB must be a floating-point \(N, D\) tensor/);
  assert.throws(() => gaussianFit(flat), /gaussianFit: features must be a floating-point \(N, D\) tensor/);
  const ga = gaussianFit(a);
  const gb = gaussianFit(b3);
  assert.throws(() => frechetDistance(ga, gb), /different feature dimensions \(a: 2, b: 3\)/);
  gb.dispose();
  assert.throws(() => frechetDistance(ga, gb), /frechetDistance: b must be a GaussianFit/);
  assert.throws(() => frechetDistance(ga, {} as GaussianFit), /frechetDistance: b must be a GaussianFit/);
  ga.dispose();
  for (const t of [a, b3, one, nan, ints, flat] as Tensor[]) t.dispose();
});
