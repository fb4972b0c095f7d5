// L-BFGS (float64) on problems with known optima: a quadratic (closed form A⁻¹b), L2-regularised
// logistic regression (optimum from Newton's method in plain JS), and Rosenbrock (optimum (1, 1),
// and PyTorch's own trajectory from test/fixtures/make_optim_reference.py).
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { tensor, tidy, dispose, Tensor } from "../../src/torch/index.ts";
import { LBFGS, cubicInterpolate, type LBFGSOptions } from "../../src/torch/optim/index.ts";
import { countLiveTensors, liveTensorCount } from "../helpers/live-tensors.ts";

/** Solves A x = b by Gaussian elimination with partial pivoting (plain JS, float64). */
function solve(a: number[][], b: number[]): number[] {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]!]);
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r]![c]!) > Math.abs(m[piv]![c]!)) piv = r;
    [m[c], m[piv]] = [m[piv]!, m[c]!];
    for (let r = c + 1; r < n; r++) {
      const f = m[r]![c]! / m[c]![c]!;
      for (let k = c; k <= n; k++) m[r]![k]! -= f * m[c]![k]!;
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = m[r]![n]!;
    for (let k = r + 1; k < n; k++) s -= m[r]![k]! * x[k]!;
    x[r] = s / m[r]![r]!;
  }
  return x;
}

/** Runs step() until the loss stops changing (at most maxSteps); returns the step count. */
function minimise(opt: LBFGS, closure: () => Tensor, maxSteps = 20): number {
  let previous = Infinity;
  for (let s = 1; s <= maxSteps; s++) {
    const loss = opt.step(closure);
    if (Math.abs(previous - loss) < 1e-15) return s;
    previous = loss;
  }
  return maxSteps;
}

const maxAbsDiff = (a: number[], b: number[]): number => Math.max(...a.map((x, i) => Math.abs(x - b[i]!)));

describe("LBFGS", () => {
  // A well-conditioned SPD matrix: M Mᵀ + 5I, M fixed.
  const M = [
    [1.0, 0.2, -0.3, 0.5, 0.1],
    [0.4, -1.1, 0.2, 0.0, 0.3],
    [-0.2, 0.3, 0.8, 0.6, -0.5],
    [0.7, 0.1, -0.4, 1.2, 0.2],
    [0.0, 0.5, 0.3, -0.2, 0.9],
  ];
  const A = M.map((ri, i) => M.map((rj, j) => ri.reduce((s, v, k) => s + v * rj[k]!, 0) + (i === j ? 5 : 0)));
  const B = [1, -2, 0.5, 3, -1];
  const xStar = solve(A, B);

  for (const lineSearch of ["strongWolfe", null] as const) {
    test(`quadratic ½xᵀAx − bᵀx reaches A⁻¹b within 1e-8 (lineSearch ${lineSearch})`, (t) => {
      const a = tensor(A, { dtype: "float64" });
      const b = tensor(B, { dtype: "float64" });
      const x = tensor([0, 0, 0, 0, 0], { dtype: "float64", requiresGrad: true });
      // Tolerances far below PyTorch's defaults: the default toleranceChange (1e-9 on the loss)
      // stops once the loss is within 1e-9 of optimal, i.e. with x only within ~1e-5.
      const opt = new LBFGS([x], { lineSearch, maxIter: 50, toleranceGrad: 1e-12, toleranceChange: 1e-20 });
      const closure = (): Tensor => {
        opt.zeroGrad();
        const loss = x.matmul(a.matmul(x)).mul(0.5).sub(b.mul(x).sum());
        loss.backward();
        return loss;
      };
      const steps = minimise(opt, closure);
      const err = maxAbsDiff(x.toArray(), xStar);
      t.diagnostic(`${steps} step(s), max |x − A⁻¹b| = ${err.toExponential(2)}`);
      assert.ok(err < 1e-8, `max |x − A⁻¹b| = ${err}`);
      opt.dispose();
      dispose([a, b, x]);
    });
  }

  test("L2-regularised logistic regression reaches Newton's optimum", (t) => {
    // 24 points in 3-d (with a bias column), labels from a noisy linear rule; loss
    // mean log(1 + exp(−y·w·x)) + (λ/2)|w|², y in {−1, 1}.
    const n = 24;
    const lambda = 0.05;
    const X: number[][] = [];
    const Y: number[] = [];
    for (let i = 0; i < n; i++) {
      const u = Math.sin(1.3 * i + 0.2) * 2;
      const v = Math.cos(0.7 * i * i + 1) * 1.5;
      X.push([u, v, 1]);
      Y.push(u - 0.5 * v + 0.3 + Math.sin(5.1 * i) > 0 ? 1 : -1);
    }
    // Newton's method in plain JS.
    let w = [0, 0, 0];
    for (let it = 0; it < 50; it++) {
      const g = w.map((wi) => lambda * wi);
      const H = w.map((_, r) => w.map((_, c) => (r === c ? lambda : 0)));
      for (let i = 0; i < n; i++) {
        const z = Y[i]! * X[i]!.reduce((s, xv, k) => s + xv * w[k]!, 0);
        const sig = 1 / (1 + Math.exp(z)); // σ(−z)
        for (let r = 0; r < 3; r++) {
          g[r]! += (-Y[i]! * X[i]![r]! * sig) / n;
          for (let c = 0; c < 3; c++) H[r]![c]! += (X[i]![r]! * X[i]![c]! * sig * (1 - sig)) / n;
        }
      }
      const step = solve(H, g);
      w = w.map((wi, k) => wi - step[k]!);
    }

    const x = tensor(X, { dtype: "float64" });
    const y = tensor(Y, { dtype: "float64" });
    const wt = tensor([0, 0, 0], { dtype: "float64", requiresGrad: true });
    const opt = new LBFGS([wt], { lineSearch: "strongWolfe", toleranceGrad: 1e-12, toleranceChange: 1e-20 });
    const closure = (): Tensor => {
      opt.zeroGrad();
      // log(1 + exp(−m)), m = y·Xw (|m| stays small here, so the direct form is safe)
      const m = y.mul(x.matmul(wt));
      const loss = m.neg().exp().log1p().mean().add(wt.square().sum().mul(lambda / 2));
      loss.backward();
      return loss;
    };
    const steps = minimise(opt, closure);
    const err = maxAbsDiff(wt.toArray(), w);
    t.diagnostic(`${steps} step(s), max |w − w_Newton| = ${err.toExponential(2)}`);
    assert.ok(err < 1e-8, `max |w − w_Newton| = ${err}`);
    opt.dispose();
    dispose([x, y, wt]);
  });

  const rosenbrock = (x: Tensor): Tensor => {
    const [a, b] = [x.select(0, 0), x.select(0, 1)];
    return a.rsub(1).square().add(b.sub(a.square()).square().mul(100));
  };

  test("Rosenbrock from (−1.5, 2) converges to (1, 1) following PyTorch's trajectory", (t) => {
    const x = tensor([-1.5, 2], { dtype: "float64", requiresGrad: true });
    let evals = 0;
    const opt = new LBFGS([x], { lr: 1, maxIter: 20, lineSearch: "strongWolfe" });
    const closure = (): Tensor => {
      evals++;
      opt.zeroGrad();
      const loss = rosenbrock(x);
      loss.backward();
      return loss;
    };
    const losses = [0, 1, 2].map(() => opt.step(closure));
    // PyTorch (make_optim_reference.py): x, losses returned by step(), state func_evals/n_iter.
    const torchX = [0.9999979943196398, 0.9999973438921637];
    const torchLosses = [12.5, 1.3070983150500495, 1.884048137837783e-7];
    t.diagnostic(`x ${x.toArray()}, losses ${losses}, closure evaluations ${evals}`);
    assert.ok(maxAbsDiff(x.toArray(), torchX) < 1e-9, `x ${x.toArray()} vs PyTorch ${torchX}`);
    losses.forEach((l, i) => assert.ok(Math.abs(l - torchLosses[i]!) <= 1e-9 * Math.max(1, torchLosses[i]!), `loss ${i}: ${l} vs ${torchLosses[i]}`));
    assert.equal(evals, 53);
    const sd = opt.stateDict();
    assert.equal(sd.json.state["0"]!.nIter, 41);
    assert.equal(sd.json.state["0"]!.funcEvals, 53);
    dispose(sd.tensors);
    // Run on to the optimum (the default toleranceChange has stalled it at 2e-6 from (1, 1)).
    opt.paramGroups[0].toleranceChange = 1e-20;
    opt.paramGroups[0].toleranceGrad = 1e-12;
    minimise(opt, closure);
    assert.ok(maxAbsDiff(x.toArray(), [1, 1]) < 1e-8, `x = ${x.toArray()}`);
    opt.dispose();
    x.dispose();
  });

  test("state dict: a restored optimizer continues identically", () => {
    const run = (interrupt: boolean): number[] => {
      const x = tensor([-1.2, 1], { dtype: "float64", requiresGrad: true });
      const options: Partial<LBFGSOptions> = { maxIter: 5, historySize: 3, lineSearch: "strongWolfe" };
      let opt = new LBFGS([x], options);
      const closure = (): Tensor => {
        opt.zeroGrad();
        const loss = rosenbrock(x);
        loss.backward();
        return loss;
      };
      opt.step(closure);
      opt.step(closure);
      if (interrupt) {
        const sd = opt.stateDict();
        const json = JSON.parse(JSON.stringify(sd.json)) as typeof sd.json;
        assert.equal(sd.tensors.size, 2 + 2 * 3); // d, prev_flat_grad, 3 (s, y) pairs
        const next = new LBFGS([x], {});
        next.loadStateDict({ json, tensors: sd.tensors });
        dispose(sd.tensors);
        opt.dispose();
        opt = next;
      }
      opt.step(closure);
      opt.step(closure);
      const out = x.toArray();
      opt.dispose();
      x.dispose();
      return out;
    };
    assert.deepEqual(run(true), run(false));
  });

  test("no tensor outlives dispose(); the history stays within historySize", () => {
    countLiveTensors();
    const before = liveTensorCount();
    const x = tensor([-1.2, 1], { dtype: "float64", requiresGrad: true });
    const opt = new LBFGS([x], { maxIter: 10, historySize: 4, lineSearch: "strongWolfe" });
    const closure = (): Tensor => {
      opt.zeroGrad();
      const loss = rosenbrock(x);
      loss.backward();
      return loss;
    };
    opt.step(closure);
    // x, d, prev_flat_grad and 4 (s, y) pairs.
    assert.equal(liveTensorCount() - before, 1 + 2 + 2 * 4);
    opt.step(closure);
    assert.equal(liveTensorCount() - before, 1 + 2 + 2 * 4);
    opt.dispose();
    x.dispose();
    assert.equal(liveTensorCount(), before);
  });

  test("stops at once when the gradient is already below toleranceGrad", () => {
    const x = tensor([2, 3], { dtype: "float64", requiresGrad: true });
    let evals = 0;
    const opt = new LBFGS([x]);
    const loss = opt.step(() => {
      evals++;
      opt.zeroGrad();
      const l = tidy(() => x.sub(x.detach()).square().sum().add(4)); // gradient 0 at x
      l.backward();
      return l;
    });
    assert.equal(loss, 4);
    assert.equal(evals, 1);
    assert.deepEqual(x.toArray(), [2, 3]);
    opt.dispose();
    x.dispose();
  });

  test("cubicInterpolate finds the minimiser of a cubic", () => {
    // f(x) = x³/3 − x (local minimum at 1), f' = x² − 1: the interpolating cubic is f itself.
    const f = (x: number): number => x ** 3 / 3 - x;
    const g = (x: number): number => x * x - 1;
    assert.ok(Math.abs(cubicInterpolate(0, f(0), g(0), 3, f(3), g(3)) - 1) < 1e-12);
    // Clamped to bounds; no real minimiser -> midpoint of the bounds.
    assert.equal(cubicInterpolate(0, f(0), g(0), 3, f(3), g(3), [1.5, 2]), 1.5);
    assert.equal(cubicInterpolate(0, 0, 3, 1, 2, 3), 0.5); // g1 + g2 = 3(f2 − f1): d1 = 0, d1² < g1·g2
  });

  test("rejects bad options and mixed dtypes", () => {
    const a = tensor([1], { dtype: "float64", requiresGrad: true });
    const b = tensor([1], { requiresGrad: true });
    assert.throws(() => new LBFGS([a, b]), /'params'.*one dtype and device/);
    assert.throws(() => new LBFGS([a], { historySize: 0 }), /'historySize'/);
    assert.throws(() => new LBFGS([a], { lineSearch: "armijo" as "strongWolfe" }), /'lineSearch'/);
    assert.throws(() => new LBFGS([a]).step(() => tensor([1, 2])), /'closure'/);
    dispose([a, b]);
  });
});
