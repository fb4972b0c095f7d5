// The linear probe of ../shared/design/GCRL.md section 4: multinomial logistic regression on frozen
// features, the standard measure of how linearly separable a representation makes the classes.
//
//   x̃ = (x − μ) / σ                     standardised with the training mean μ and std σ (D,)
//   logits = x̃ W + b                     W (D, C), b (C)
//   L(W, b) = (1/N) Σ_n CE(logits_n, y_n) + (λ/2) ‖W‖²_F        (the bias is not penalised)
//
// σ is the population std, floored at 1e-6 · max_j σ_j so constant features stay finite (they
// standardise to 0 on the training data, where the loss does not depend on their weights, so
// the penalty sends those weights to 0).
//
// L is strictly convex in W (λ > 0), so the optimum is unique up to the bias' gauge (adding one
// constant to every b_c changes nothing); the bias is returned centred (Σ_c b_c = 0). It is solved
// full-batch with the project's L-BFGS (strong-Wolfe line search, history 20), in float64 when the
// features fit in 2^26 elements (512 MB) and float32 beyond, preconditioned by an exact change of
// variables W = V diag((e + λ)^(−1/2)) B, where V diag(e) Vᵀ = x̃ᵀx̃/N (see solve()): on
// standardised pixels this cuts the iterations several-fold. The final fit stops when max |∂L/∂B|
// ≤ tolerance (default 1e-7), the loss stops changing (1e-15) or after maxIterations (reported as
// not converged).
//
// λ is chosen on a class-stratified random 10% validation part of the training set (seeded, see
// stratified-split.ts) over a log grid — default 10^-6 … 10^0 in decades, which spans the
// regularisation of sklearn's default C = 1 for N = 1k…1M (λ = 1/(C·N)) up to a strongly
// regularised probe — by validation accuracy, ties going to the larger λ. The grid is solved from
// the largest λ down, each fit starting from the previous solution (a regularisation path: cheap
// warm starts), to a looser max |∂L/∂B| ≤ 1e-5: validation accuracy settles long before the
// weights do. The probe is then refitted on all the training data with the chosen λ, starting from
// that λ's validation-split solution. With a one-value grid there is nothing to choose: no split is
// made and the probe is fitted on all the data directly.
//
// Classes absent from the training labels (e.g. held out as near-OOD) get weight 0 and bias −∞:
// the maximum-likelihood limit, probability 0, never predicted.
import { Tensor, crossEntropy, full, keep, linalg, noGrad, tensor, tidy, zeros, LBFGS } from "../torch/index.ts";
import { stratifiedSplit } from "./stratified-split.ts";
import { InputError } from "../util/input-error.ts";

export interface ProbeOptions {
  /** Candidate L2 strengths λ (each > 0); default 10^-6, 10^-5, …, 10^0. */
  l2Grid?: readonly number[];
  /** Fraction of each class held out to choose λ (default 0.1). */
  validationFraction?: number;
  /** Seed of the validation split (default 0). */
  seed?: number;
  /** Most L-BFGS iterations per fit (default 1000). */
  maxIterations?: number;
  /**
   * The final fit stops once max |∂L/∂θ| (in the preconditioned coordinates) is at most this
   * (default 1e-7; the grid's fits stop at max(tolerance, 1e-5)).
   */
  tolerance?: number;
  /** Number of classes C (labels 0..C−1); default 1 + the largest label. */
  numClasses?: number;
  /** Called after each λ of the grid is fitted and validated. */
  onProgress?: (point: ProbeGridPoint) => void;
  /** Solve in this dtype; default float64 when N·D ≤ 2^26, else float32. */
  dtype?: "float32" | "float64";
  /**
   * Hold out the validation split even when the grid has one λ, so that validationAccuracy is
   * measured (the layer sweep ranks layers by it). Default false: one λ, no split, NaN.
   */
  validate?: boolean;
}

export interface ProbeGridPoint {
  l2: number;
  /** Accuracy on the validation part of the probe fitted on the rest. */
  validationAccuracy: number;
  /** Accuracy of the same probe on the part it was fitted on. */
  trainAccuracy: number;
  /** L-BFGS iterations of that fit. */
  iterations: number;
  /** Whether that fit stopped on its tolerances rather than at maxIterations. */
  converged: boolean;
}

export interface ProbeFit {
  /** Refitted on all the training data with the chosen λ. Dispose it when done. */
  probe: LinearProbe;
  /** The chosen λ. */
  l2: number;
  /** Every λ of the grid, ascending. */
  grid: ProbeGridPoint[];
  /** Accuracy of `probe` on all the training data. */
  trainAccuracy: number;
  /** Validation accuracy of the chosen λ (from the grid); NaN when the grid holds one λ and validate is off (no split is made). */
  validationAccuracy: number;
  /** L-BFGS iterations of the final refit. */
  iterations: number;
  /** The objective L(W, b) of the final refit at its solution. */
  loss: number;
  /** Whether the final refit stopped on its tolerances rather than at maxIterations. */
  converged: boolean;
}

export const PROBE_DEFAULTS = Object.freeze({
  l2Grid: Object.freeze([1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1]) as readonly number[],
  validationFraction: 0.1,
  seed: 0,
  maxIterations: 1000,
  tolerance: 1e-7,
});

/**
 * The grid's fits only rank λ by validation accuracy, which settles long before the weights do
 * (measured on Fashion-MNIST pixels: within ±0.1% by max |∂L/∂θ| ≈ 1e-4): they stop at this.
 */
const GRID_TOLERANCE_GRAD = 1e-5;
/** Stop when the loss changes by less than this between iterations. */
const TOLERANCE_CHANGE = 1e-15;
const LBFGS_HISTORY = 20;
/** Solve in float64 up to this many feature elements (N·D). */
const FLOAT64_MAX_ELEMENTS = 2 ** 26;
/** σ_j is floored at this fraction of the largest σ. */
const STD_FLOOR = 1e-6;

/** A fitted probe: standardisation, weights and biases, in the dtype it was solved in. */
export class LinearProbe {
  constructor(
    /** Training mean μ (D,). */
    readonly mean: Tensor,
    /** Training std σ (D,), floored. */
    readonly std: Tensor,
    /** W (D, C), acting on standardised features. */
    readonly weight: Tensor,
    /** b (C), centred over the classes present in training; −∞ for absent classes. */
    readonly bias: Tensor,
  ) {
    const d = weight.size(0);
    const c = weight.size(1);
    if (mean.ndim !== 1 || mean.size(0) !== d || std.ndim !== 1 || std.size(0) !== d || bias.ndim !== 1 || bias.size(0) !== c) {
      throw new TypeError(`LinearProbe: expected mean (D), std (D), weight (D, C), bias (C), got [${mean.shape}], [${std.shape}], [${weight.shape}], [${bias.shape}]`);
    }
    keep([mean, std, weight, bias]);
  }

  get numFeatures(): number {
    return this.weight.size(0);
  }

  get numClasses(): number {
    return this.weight.size(1);
  }

  /** features (N, D) → logits (N, C), in the probe's dtype, on the CPU. */
  logits(features: Tensor): Tensor {
    this.#checkFeatures("logits", features);
    return tidy(() => noGrad(() => standardize(features.toDevice("cpu", this.weight.dtype), this.mean, this.std).matmul(this.weight).add(this.bias)));
  }

  /** The most likely class of each row of features (N, D). */
  predict(features: Tensor): Int32Array {
    this.#checkFeatures("predict", features);
    return tidy(() => Int32Array.from(this.logits(features).argmax(1).toTypedArray<"int64">(), Number));
  }

  /** Fraction of rows whose predicted class equals labels (N,) int64. */
  accuracy(features: Tensor, labels: Tensor): number {
    this.#checkFeatures("accuracy", features);
    const n = features.size(0);
    if (!(labels instanceof Tensor) || labels.ndim !== 1 || labels.size(0) !== n || labels.dtype !== "int64") {
      throw new TypeError(`LinearProbe.accuracy: labels must be int64 (${n},), got ${labels instanceof Tensor ? labels.toString() : String(labels)}`);
    }
    if (n === 0) return Number.NaN;
    return tidy(() => this.logits(features).argmax(1).eq(labels.cpu()).to("float64").mean().item());
  }

  dispose(): void {
    for (const t of [this.mean, this.std, this.weight, this.bias]) t.dispose();
  }

  #checkFeatures(method: string, features: Tensor): void {
    const d = this.numFeatures;
    if (!(features instanceof Tensor) || features.ndim !== 2 || features.size(1) !== d || !isFloat(features.dtype)) {
      throw new TypeError(`LinearProbe.${method}: features must be floating-point (N, ${d}), got ${features instanceof Tensor ? features.toString() : String(features)}`);
    }
  }
}

const isFloat = (dtype: string): boolean => dtype === "float32" || dtype === "float64" || dtype === "float16" || dtype === "bfloat16";

/** (x − μ) / σ. */
function standardize(x: Tensor, mean: Tensor, std: Tensor): Tensor {
  return x.sub(mean).div(std);
}

/** μ and the floored σ of the rows of x (N, D). */
function moments(x: Tensor): { mean: Tensor; std: Tensor } {
  return tidy(() => {
    const mean = x.mean(0);
    const std = x.std(0, { correction: 0 });
    const largest = std.max().item();
    return { mean, std: std.clamp(largest > 0 ? STD_FLOOR * largest : 1) };
  });
}

interface Solution {
  weight: Tensor;
  bias: Tensor;
  loss: number;
  iterations: number;
  converged: boolean;
}

/** A standardised training set with the eigenbasis of its second-moment matrix, for preconditioning. */
interface Design {
  /** x̃ (N, D) */
  xs: Tensor;
  /** y (N,) int64, 0..C−1 */
  y: Tensor;
  /** V (D, D): eigenvectors of G = x̃ᵀx̃ / N (columns). */
  basis: Tensor;
  /** e (D): eigenvalues of G, clamped at 0. */
  eigenvalues: Tensor;
  /** x̃ V (N, D) */
  rotated: Tensor;
}

function design(xs: Tensor, y: Tensor): Design {
  const { eigenvalues, eigenvectors } = linalg.eigh(xs.mT.matmul(xs).div(xs.size(0)));
  return { xs, y, basis: eigenvectors, eigenvalues: eigenvalues.clamp(0), rotated: xs.matmul(eigenvectors) };
}

/**
 * Minimises L(W, b) = mean CE(x̃W + b, y) + (λ/2)‖W‖² over W (D, C), b (C) by L-BFGS from `init`
 * (or zeros). Returns kept tensors (W, b centred).
 *
 * Preconditioning (an exact change of variables, so the minimiser is the same): with G = x̃ᵀx̃/N =
 * V diag(e) Vᵀ and s_i = (e_i + λ)^(−1/2), W = V diag(s) B, so x̃W = (x̃V diag(s)) B and ‖W‖² =
 * Σ_i s_i² ‖B_i‖². In B the quadratic part of the Hessian is about the identity, where in W its
 * condition number is (e_max + λ)/λ (~10^5 on standardised pixels): L-BFGS needs several times
 * fewer iterations. Stopping tests apply to the gradient in B.
 */
function solve(data: Design, numClasses: number, l2: number, maxIterations: number, toleranceGrad: number, init: { weight: Tensor; bias: Tensor } | null): Solution {
  const dtype = data.xs.dtype;
  const d = data.xs.size(1);
  const scale = keep(tidy(() => data.eigenvalues.add(l2).rsqrt().unsqueeze(1))); // s (D, 1)
  const z = keep(tidy(() => data.rotated.mul(scale.squeeze(1)))); // x̃ V diag(s) (N, D)
  const penalty = keep(tidy(() => scale.square().mul(l2 / 2))); // (λ/2) s_i² (D, 1)
  const w = keep(noGrad(() => (init === null ? zeros([d, numClasses], { dtype }) : data.basis.mT.matmul(init.weight).div(scale)))).requiresGrad_(true); // B
  const b = keep(noGrad(() => init?.bias.clone() ?? zeros([numClasses], { dtype }))).requiresGrad_(true);
  const objective = (): Tensor => crossEntropy(z.matmul(w).add(b), data.y).add(w.square().mul(penalty).sum());
  const optimizer = new LBFGS([w, b], {
    lr: 1,
    maxIter: maxIterations,
    maxEval: maxIterations * 2,
    toleranceGrad,
    toleranceChange: TOLERANCE_CHANGE,
    historySize: LBFGS_HISTORY,
    lineSearch: "strongWolfe",
  });
  try {
    optimizer.step(() => {
      optimizer.zeroGrad();
      const loss = objective();
      loss.backward();
      return loss;
    });
    const state = tidy(() => (optimizer.stateDict().json.state as Record<string, { nIter?: number; funcEvals?: number }>)["0"]);
    const iterations = Number(state?.nIter ?? 0);
    const converged = iterations < maxIterations && Number(state?.funcEvals ?? 0) < optimizer.paramGroups[0].maxEval;
    return tidy(() =>
      noGrad(() => {
        const weight = keep(data.basis.matmul(w.detach().mul(scale))); // W = V diag(s) B
        const bias = keep(b.detach().sub(b.detach().mean()));
        return { weight, bias, loss: objective().item(), iterations, converged };
      }),
    );
  } finally {
    optimizer.dispose();
    for (const t of [w, b, scale, z, penalty]) t.dispose();
  }
}

/** Fraction of rows of xs·W + b whose argmax equals y. */
function accuracyOf(xs: Tensor, y: Tensor, s: { weight: Tensor; bias: Tensor }): number {
  return tidy(() => noGrad(() => xs.matmul(s.weight).add(s.bias).argmax(1).eq(y).to("float64").mean().item()));
}

function disposeSolution(s: Solution | null): void {
  s?.weight.dispose();
  s?.bias.dispose();
}

/**
 * Where the chosen λ sits in a grid of several: "smallest" or "largest" when it is the grid's end
 * (the best λ may lie beyond it, so the probe may be under-tuned), null inside or for a one-value grid.
 */
export function l2GridEdge(grid: readonly Pick<ProbeGridPoint, "l2">[], l2: number): "smallest" | "largest" | null {
  if (grid.length < 2) return null;
  const values = grid.map((g) => g.l2);
  if (l2 === Math.min(...values)) return "smallest";
  if (l2 === Math.max(...values)) return "largest";
  return null;
}

/** The clause a report adds to the chosen λ when it is at the grid's end ("; the smallest of the grid: …"); "" otherwise. */
export function l2GridEdgeNote(grid: readonly Pick<ProbeGridPoint, "l2">[], l2: number): string {
  const edge = l2GridEdge(grid, l2);
  return edge === null ? "" : `; the ${edge} of the grid: a ${edge === "smallest" ? "smaller" : "larger"} L2 might validate better (--l2 widens the grid)`;
}

/** Fits a probe on features (N, D) and int64 labels (N,), choosing λ on a validation split. */
export function fitLinearProbe(features: Tensor, labels: Tensor, options: ProbeOptions = {}): ProbeFit {
  const grid = options.l2Grid ?? PROBE_DEFAULTS.l2Grid;
  const fraction = options.validationFraction ?? PROBE_DEFAULTS.validationFraction;
  const seed = options.seed ?? PROBE_DEFAULTS.seed;
  const maxIterations = options.maxIterations ?? PROBE_DEFAULTS.maxIterations;
  const tolerance = options.tolerance ?? PROBE_DEFAULTS.tolerance;
  if (!(features instanceof Tensor) || features.ndim !== 2 || features.size(0) < 2 || !isFloat(features.dtype)) {
    throw new TypeError(`fitLinearProbe: features must be floating-point (N, D) with N >= 2, got ${features instanceof Tensor ? features.toString() : String(features)}`);
  }
  const [n, d] = features.shape as [number, number];
  if (!(labels instanceof Tensor) || labels.ndim !== 1 || labels.size(0) !== n || labels.dtype !== "int64") {
    throw new TypeError(`fitLinearProbe: labels must be int64 (${n},) (one per feature row), got ${labels instanceof Tensor ? labels.toString() : String(labels)}`);
  }
  if (!Array.isArray(grid) || grid.length === 0 || !grid.every((l) => typeof l === "number" && l > 0 && Number.isFinite(l))) {
    throw new RangeError(`fitLinearProbe: l2Grid must be a non-empty list of finite numbers > 0, got ${JSON.stringify(grid)}`);
  }
  if (!(typeof fraction === "number" && fraction > 0 && fraction < 1)) throw new RangeError(`fitLinearProbe: validationFraction must be a number in (0, 1), got ${fraction}`);
  if (!Number.isInteger(maxIterations) || maxIterations < 1) throw new RangeError(`fitLinearProbe: maxIterations must be a positive integer, got ${maxIterations}`);
  if (!Number.isFinite(seed)) throw new RangeError(`fitLinearProbe: seed must be a finite number, got ${seed}`);
  if (!(typeof tolerance === "number" && tolerance >= 0 && Number.isFinite(tolerance))) throw new RangeError(`fitLinearProbe: tolerance must be a finite number >= 0, got ${tolerance}`);
  const dtype = options.dtype ?? (n * d <= FLOAT64_MAX_ELEMENTS ? "float64" : "float32");
  if (dtype !== "float32" && dtype !== "float64") throw new RangeError(`fitLinearProbe: dtype must be "float32" or "float64", got ${JSON.stringify(dtype)}`);

  const labelArray = labels.toArray();
  const largest = labelArray.reduce((a, b) => Math.max(a, b), -1);
  const numClasses = options.numClasses ?? largest + 1;
  if (!Number.isInteger(numClasses) || numClasses < 2) throw new RangeError(`fitLinearProbe: numClasses must be an integer >= 2, got ${numClasses}`);
  const bad = labelArray.findIndex((l) => l < 0 || l >= numClasses);
  if (bad >= 0) throw new RangeError(`fitLinearProbe: labels must lie in [0, ${numClasses}) (numClasses = ${numClasses}), got ${labelArray[bad]} at [${bad}]`);
  // The solve runs over the classes present; absent ones are added back with W = 0, b = −∞.
  const present = [...new Set(labelArray)].sort((a, b) => a - b);
  // Too few examples is a property of the data, not a bug: an InputError (one line, exit 2 on the command line).
  if (present.length < 2) throw new InputError(`fitLinearProbe: the ${n} labels hold only class ${present[0]}; a probe needs at least 2 classes (use more training images)`);
  const compact = new Map(present.map((c, i) => [c, i]));
  const compactLabels = labelArray.map((l) => compact.get(l)!);

  const lambdas = [...new Set(grid)].sort((a, b) => b - a); // largest first
  const split = lambdas.length > 1 || options.validate === true ? stratifiedSplit(labelArray, fraction, seed) : null;
  if (split !== null && split.validation.length === 0) {
    throw new InputError(`fitLinearProbe: validationFraction ${fraction} of ${n} examples leaves no validation example in any class (use more training images, a larger validation fraction, or a one-value l2Grid)`);
  }

  const x = keep(tidy(() => noGrad(() => features.toDevice("cpu", dtype))));
  if (!tidy(() => x.isfinite().all().item())) {
    x.dispose();
    throw new RangeError("fitLinearProbe: features contain NaN or infinite values");
  }
  const yAll = keep(tensor(compactLabels, { dtype: "int64" }));
  const c = present.length;
  const points: ProbeGridPoint[] = [];
  let chosenL2 = lambdas[0]!;
  let chosenAccuracy = Number.NaN;
  let warm: Solution | null = null;
  try {
    // ---- choose λ on the validation split (largest λ first, warm starts down the path)
    if (split !== null) {
      tidy(() =>
        noGrad(() => {
          const trainIdx = tensor(split.train, { dtype: "int64" });
          const valIdx = tensor(split.validation, { dtype: "int64" });
          const xTrain = x.indexSelect(0, trainIdx);
          const { mean, std } = moments(xTrain);
          const xsTrain = standardize(xTrain, mean, std);
          const xsVal = standardize(x.indexSelect(0, valIdx), mean, std);
          const yTrain = yAll.indexSelect(0, trainIdx);
          const yVal = yAll.indexSelect(0, valIdx);
          const trainDesign = design(xsTrain, yTrain);
          let previous: Solution | null = null;
          for (const l2 of lambdas) {
            const s = solve(trainDesign, c, l2, maxIterations, Math.max(tolerance, GRID_TOLERANCE_GRAD), previous);
            const point = { l2, validationAccuracy: accuracyOf(xsVal, yVal, s), trainAccuracy: accuracyOf(xsTrain, yTrain, s), iterations: s.iterations, converged: s.converged };
            points.push(point);
            options.onProgress?.(point);
            if (warm === null || point.validationAccuracy > chosenAccuracy) {
              // strictly better only: ties keep the larger λ
              if (warm !== null && warm !== previous) disposeSolution(warm);
              warm = s;
              chosenL2 = l2;
              chosenAccuracy = point.validationAccuracy;
            }
            if (previous !== null && previous !== warm) disposeSolution(previous);
            previous = s;
          }
          if (previous !== null && previous !== warm) disposeSolution(previous);
        }),
      );
    }
    // ---- refit on everything with the chosen λ
    const fit = tidy(() =>
      noGrad(() => {
        const { mean, std } = moments(x);
        const xs = standardize(x, mean, std);
        const s = solve(design(xs, yAll), c, chosenL2, maxIterations, tolerance, warm);
        const trainAccuracy = accuracyOf(xs, yAll, s);
        const columns = tensor(present, { dtype: "int64" });
        const weight = zeros([d, numClasses], { dtype }).indexCopy(1, columns, s.weight);
        const bias = full([numClasses], -Infinity, { dtype }).indexCopy(0, columns, s.bias);
        disposeSolution(s);
        return { probe: new LinearProbe(mean, std, weight, bias), trainAccuracy, loss: s.loss, iterations: s.iterations, converged: s.converged };
      }),
    );
    if (split === null) points.push({ l2: chosenL2, validationAccuracy: Number.NaN, trainAccuracy: fit.trainAccuracy, iterations: fit.iterations, converged: fit.converged });
    points.sort((a, b) => a.l2 - b.l2);
    return { probe: fit.probe, l2: chosenL2, grid: points, trainAccuracy: fit.trainAccuracy, validationAccuracy: chosenAccuracy, iterations: fit.iterations, loss: fit.loss, converged: fit.converged };
  } finally {
    disposeSolution(warm);
    x.dispose();
    yAll.dispose();
  }
}
