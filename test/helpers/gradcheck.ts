// Finite-difference gradient checking in float64, plus small deterministic input makers for tests.
//
// gradcheck(f, inputs) compares the autograd gradient of the scalar L = sum(f(inputs) · R), where R
// is a fixed pseudo-random weighting of f's output (so every output element is checked, not just
// their sum), against central differences (L(x + ε) − L(x − ε)) / 2ε on every element of every
// floating-point input. The error reported for one element is
//
//     |analytic − numeric| / max(|analytic|, |numeric|, 1e-3)
//
// i.e. a relative error that becomes an absolute error (scaled by 1e3) for gradients below 1e-3, so
// an exact zero gradient compared with a numeric 1e-11 does not blow up. With ε = 1e-6 in float64
// the rounding noise of a central difference is about 1e-16·|L|/ε ≈ 1e-10·|L|, far below the 1e-6
// tolerance the tests use for the O(1)-sized functions they check.
import { Tensor, tensor, tidy, noGrad } from "../../src/torch/index.ts";
import { isFloating } from "../../src/torch/dtype.ts";

export interface GradcheckOptions {
  /** Finite-difference step (default 1e-6). */
  eps?: number;
  /** Seed of the output weighting R (default 1). */
  seed?: number;
  /**
   * Indices of the inputs to differentiate (default: every floating-point input). The others pass
   * through as constants that do not require gradients (e.g. class weights, which libtorch's
   * nll_loss refuses to differentiate).
   */
  wrt?: number[];
}

export interface GradcheckResult {
  /** Largest error over all checked elements (definition in the file header). */
  maxRelError: number;
  /** Where it occurred: input number, flat element index, and the two gradients. */
  worst: { input: number; element: number; analytic: number; numeric: number };
  /** Number of input elements checked. */
  checked: number;
}

/** A small, fast, deterministic PRNG (mulberry32) so inputs do not depend on libtorch's generator. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A float64 tensor of uniform values in [low, high) from a JS PRNG (deterministic by seed). */
export function uniform(shape: number[], seed: number, low = -1, high = 1): Tensor {
  const next = prng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) data[i] = low + (high - low) * next();
  return tensor(data, { shape });
}

/**
 * Like uniform() but every |value| is at least `gap` and all values are distinct by at least `gap`
 * (a shuffled, jittered grid), so kinks (abs, relu, max, sort ties) are far from every element.
 */
export function distinct(shape: number[], seed: number, low = -1, high = 1, gap = 0.02): Tensor {
  const next = prng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const step = (high - low) / n;
  if (step < 3 * gap) throw new Error(`distinct(): range [${low}, ${high}) too small for ${n} values ${gap} apart`);
  const values: number[] = [];
  for (let i = 0; i < n; i++) {
    let v = low + step * (i + 0.5) + (next() - 0.5) * (step - 2 * gap);
    if (Math.abs(v) < gap) v = v < 0 ? -gap - 0.01 * step : gap + 0.01 * step;
    values.push(v);
  }
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [values[i], values[j]] = [values[j]!, values[i]!];
  }
  return tensor(Float64Array.from(values), { shape });
}

function weightedSum(f: (inputs: Tensor[]) => Tensor, inputs: Tensor[], r: Tensor | null): Tensor {
  const y = f(inputs);
  if (y.dtype !== "float64") throw new Error(`gradcheck: f must return a float64 tensor, got ${y.dtype}`);
  return r === null ? y.sum() : y.mul(r).sum();
}

/**
 * Checks the gradient of f with respect to every floating-point input, or those listed in
 * options.wrt (others pass through as constants, e.g. index tensors). Inputs are not modified. f must be deterministic (reseed inside f
 * for random ops such as dropout).
 */
export function gradcheck(f: (inputs: Tensor[]) => Tensor, inputs: Tensor[], options: GradcheckOptions = {}): GradcheckResult {
  const eps = options.eps ?? 1e-6;
  return tidy(() => {
    const checkedIdx = options.wrt ?? inputs.map((t, i) => (isFloating(t.dtype) ? i : -1)).filter((i) => i >= 0);
    for (const i of checkedIdx) {
      if (inputs[i]!.dtype !== "float64") throw new Error(`gradcheck: input ${i} must be float64, got ${inputs[i]!.dtype}`);
    }
    const base = inputs.map((t, i) => (checkedIdx.includes(i) ? Float64Array.from(t.toTypedArray<"float64">()) : null));

    // The output weighting R: shape of f's output, values in [0.5, 1.5) with random signs.
    const shape = noGrad(() => tidy(() => f(inputs).shape));
    const next = prng(options.seed ?? 1);
    const n = shape.reduce((a, b) => a * b, 1);
    const rData = new Float64Array(n);
    for (let i = 0; i < n; i++) rData[i] = (next() < 0.5 ? -1 : 1) * (0.5 + next());
    const r = tensor(rData, { shape });

    // Analytic gradients.
    const leaves = inputs.map((t, i) => (base[i] !== null ? t.detach().clone().requiresGrad_() : t));
    weightedSum(f, leaves, r).backward();
    const analytic = leaves.map((t, i) => {
      if (base[i] === null) return null;
      const g = t.grad;
      return g === null ? new Float64Array(base[i]!.length) : Float64Array.from(g.toTypedArray<"float64">());
    });

    // Numeric gradients, one element at a time.
    const result: GradcheckResult = { maxRelError: 0, worst: { input: -1, element: -1, analytic: 0, numeric: 0 }, checked: 0 };
    const evalAt = (i: number, data: Float64Array): number =>
      noGrad(() =>
        tidy(() => {
          const args = inputs.map((t, k) => (k === i ? tensor(data, { shape: t.shape }) : t));
          return weightedSum(f, args, r).item();
        }),
      );
    for (const i of checkedIdx) {
      const data = Float64Array.from(base[i]!);
      for (let e = 0; e < data.length; e++) {
        const x = data[e]!;
        data[e] = x + eps;
        const plus = evalAt(i, data);
        data[e] = x - eps;
        const minus = evalAt(i, data);
        data[e] = x;
        const numeric = (plus - minus) / (2 * eps);
        const a = analytic[i]![e]!;
        const err = Math.abs(a - numeric) / Math.max(Math.abs(a), Math.abs(numeric), 1e-3);
        result.checked++;
        if (!(err <= result.maxRelError)) {
          // (NaN errors are recorded as the worst too)
          result.maxRelError = Number.isNaN(err) ? Infinity : err;
          result.worst = { input: i, element: e, analytic: a, numeric };
        }
      }
    }
    return result;
  });
}
