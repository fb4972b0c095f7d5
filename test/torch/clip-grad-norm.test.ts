// clipGradNorm against norms computed by hand.
import { test } from "node:test";
import assert from "node:assert/strict";
import { tensor, tidy, dispose, Tensor } from "../../src/torch/index.ts";
import { clipGradNorm } from "../../src/torch/optim/index.ts";

/** Parameters whose gradients are exactly the given values (loss Σ g·p). */
function withGrads(grads: number[][]): Tensor[] {
  const params = grads.map((g) => tensor(g.map(() => 0), { dtype: "float64", requiresGrad: true }));
  tidy(() => params.forEach((p, i) => p.mul(tensor(grads[i]!, { dtype: "float64" })).sum().backward()));
  return params;
}
const gradsOf = (params: Tensor[]): number[][] => tidy(() => params.map((p) => p.grad!.toArray()));

test("2-norm over all gradients; scaled to maxNorm when above it", () => {
  // ‖(3, 4)‖ = 5, ‖(12)‖ = 12: total √(25 + 144) = 13.
  const params = withGrads([[3, 4], [12]]);
  assert.equal(clipGradNorm(params, 6.5), 13);
  const c = 6.5 / (13 + 1e-6);
  const g = gradsOf(params);
  [[3 * c, 4 * c], [12 * c]].forEach((want, i) => want.forEach((w, j) => assert.ok(Math.abs(g[i]![j]! - w) < 1e-15, `${g[i]![j]} vs ${w}`)));
  // The clipped norm is maxNorm up to the 1e-6 guard; a second call with a larger maxNorm
  // measures it and leaves the gradients alone.
  const norm = clipGradNorm(params, 7);
  assert.ok(Math.abs(norm - 13 * c) < 1e-12 && Math.abs(norm - 6.5) < 1e-6, `norm ${norm}`);
  assert.deepEqual(gradsOf(params), g);
  dispose(params);
});

test("below maxNorm: gradients untouched", () => {
  const params = withGrads([[1, -2], [2]]);
  assert.equal(clipGradNorm(params, 10), 3); // √(1 + 4 + 4)
  assert.deepEqual(gradsOf(params), [[1, -2], [2]]);
  dispose(params);
});

test("other norms: 1-norm and the infinity norm", () => {
  const params = withGrads([[1, -2], [4]]);
  assert.equal(clipGradNorm(params, 100, { normType: 1 }), 7);
  assert.equal(clipGradNorm(params, 100, { normType: Infinity }), 4);
  assert.equal(clipGradNorm(params, 2, { normType: Infinity }), 4);
  const c = 2 / (4 + 1e-6);
  assert.deepEqual(gradsOf(params), [[1 * c, -2 * c], [4 * c]]);
  dispose(params);
});

test("parameters without a gradient are ignored; none at all gives 0", () => {
  const [p] = withGrads([[6, 8]]);
  const q = tensor([1, 1], { requiresGrad: true });
  assert.equal(clipGradNorm([p!, q], 100), 10);
  assert.equal(clipGradNorm([q], 1), 0);
  dispose([p, q]);
});

test("a NaN or infinite total norm is returned (or thrown), the gradients are not touched", () => {
  const params = withGrads([[1, 2], [3]]);
  tidy(() => params[1]!.grad!.fill_(Infinity));
  assert.equal(clipGradNorm(params, 1), Infinity);
  assert.deepEqual(gradsOf(params), [[1, 2], [Infinity]]);
  tidy(() => params[1]!.grad!.fill_(NaN));
  assert.ok(Number.isNaN(clipGradNorm(params, 1)));
  assert.deepEqual(gradsOf(params)[0], [1, 2]);
  assert.throws(() => clipGradNorm(params, 1, { errorIfNonfinite: true }), /clipGradNorm: the total 2-norm of the gradients is NaN/);
  dispose(params);
});

test("bad arguments are named", () => {
  assert.throws(() => clipGradNorm([], -1), /'maxNorm'/);
  assert.throws(() => clipGradNorm([], 1, { normType: 0 }), /'normType'/);
});
