// Mahalanobis-distance OOD scores of representations, fitted and evaluated in float64.
//
// Convention (every OOD file of this project): **higher score = more OOD; OOD is the positive class.**
//
// MahalanobisScorer (one Gaussian fit to the training features x_i (N, D)):
//   m = mean_i x_i,  Σ = shrunk covariance of the x_i (ledoit-wolf.ts: normalised by N, shrunk toward
//   (tr S / D)·I, Ledoit–Wolf coefficient by default)
//   score(x) = (x − m)ᵀ Σ⁻¹ (x − m)   — the squared distance
// ClassConditionalMahalanobis (Lee et al. 2018, NeurIPS, "A simple unified framework for detecting
// out-of-distribution samples and adversarial attacks"): class means μ_c, one tied covariance Σ of
// the class-centred features x_i − μ_{y_i} (same shrinkage), score(x) = min_c (x − μ_c)ᵀ Σ⁻¹ (x − μ_c).
//
// Σ⁻¹ is applied as a whitening W = V·Λ^(−1/2) from Σ = V·Λ·Vᵀ (eigh), so d² = ‖(x − m)·W‖² is never
// negative. A singular Σ (N ≤ D or a constant feature with shrinkage 0, or constant features) is
// refused with an error that says how to fix it; Ledoit–Wolf shrinkage normally prevents it.
import { Tensor, keep, linalg, noGrad, oneHot, tidy } from "../torch/index.ts";
import { checkMatrix, checkPositiveInt } from "./score-checks.ts";
import { checkShrinkage, shrunkCovariance, type ShrinkageOption } from "./ledoit-wolf.ts";

export interface MahalanobisOptions {
  /** "ledoit-wolf" (default) or a fixed coefficient in [0, 1] (0: the plain empirical covariance). */
  shrinkage?: ShrinkageOption;
}

export interface ClassConditionalMahalanobisOptions extends MahalanobisOptions {
  /** Number of classes C (labels 0..C−1, each present at least once); default 1 + the largest label. */
  numClasses?: number;
}

/** Eigenvalues below this fraction of the largest make Σ singular (float64 rounding is ~1e−16). */
const SINGULAR_RATIO = 1e-12;

/** Elements per float64 block while scoring (rows × C × D). */
const BLOCK_ELEMENTS = 1 << 22;

/** W (D, D) with W·Wᵀ = Σ⁻¹, or a clear error when Σ is singular. */
function whitening(fn: string, covariance: Tensor, shrinkage: number, n: number, what = "the training features are constant"): Tensor {
  return tidy(() => {
    const sym = covariance.add(covariance.mT).mul(0.5);
    const { eigenvalues, eigenvectors } = linalg.eigh(sym); // ascending
    const d = eigenvalues.size(0);
    const lo = eigenvalues.select(0, 0).item();
    const hi = eigenvalues.select(0, d - 1).item();
    if (!(hi > 0)) {
      throw new RangeError(`${fn}: ${what} (their covariance is zero); Mahalanobis distances are undefined`);
    }
    if (!(lo > hi * SINGULAR_RATIO)) {
      throw new RangeError(
        `${fn}: the covariance is singular (eigenvalues from ${lo.toExponential(3)} to ${hi.toExponential(3)}, shrinkage ${shrinkage}, ` +
          `${n} features of dimension ${d}: too few rows or a constant/duplicated feature); use shrinkage "ledoit-wolf" or a fixed shrinkage > 0`,
      );
    }
    return eigenvectors.mul(eigenvalues.rsqrt().unsqueeze(0)); // (D, D): column j scaled by λ_j^(−1/2)
  });
}

/** Squared whitened distances (M, C) of rows x (M, D) to centres (C, D) — both already whitened. */
function minSquaredDistances(z: Tensor, centres: Tensor): Float64Array {
  const [m, d] = z.shape as [number, number];
  const c = centres.size(0);
  const out = new Float64Array(m);
  const rows = Math.max(1, Math.floor(BLOCK_ELEMENTS / (c * d)));
  for (let start = 0; start < m; start += rows) {
    const r = Math.min(rows, m - start);
    const block = tidy(() => {
      const diff = z.narrow(0, start, r).unsqueeze(1).sub(centres.unsqueeze(0)); // (r, C, D)
      return diff.square().sum(2).minDim(1).values.cpu().toTypedArray<"float64">(); // (r,)
    });
    out.set(block, start);
  }
  return out;
}

/** Squared Mahalanobis distance to one Gaussian fit of the training features. */
export class MahalanobisScorer {
  /** The shrinkage coefficient used, in [0, 1]. */
  readonly shrinkage: number;
  /** Feature dimension D. */
  readonly dim: number;
  /** m (D,), float64. */
  readonly mean: Tensor;
  /** Σ (D, D), float64. */
  readonly covariance: Tensor;
  private readonly whiten: Tensor;
  private readonly whitenedMean: Tensor;
  private disposed = false;

  private constructor(fit: { mean: Tensor; covariance: Tensor; shrinkage: number; whiten: Tensor }) {
    this.mean = fit.mean;
    this.covariance = fit.covariance;
    this.shrinkage = fit.shrinkage;
    this.whiten = fit.whiten;
    this.dim = fit.mean.size(0);
    this.whitenedMean = keep(noGrad(() => tidy(() => fit.mean.unsqueeze(0).matmul(fit.whiten)))); // (1, D)
  }

  /** Fits m and Σ to trainFeatures (N, D), N >= 2, in float64 on their device. */
  static fit(trainFeatures: Tensor, options: MahalanobisOptions = {}): MahalanobisScorer {
    const fn = "MahalanobisScorer.fit";
    checkMatrix(fn, "trainFeatures", trainFeatures, { minRows: 2 });
    const shrinkage = checkShrinkage(fn, options.shrinkage ?? "ledoit-wolf");
    return noGrad(() => {
      const fit = tidy(() => {
        const { mean, covariance, shrinkage: s } = shrunkCovariance(trainFeatures, { shrinkage });
        const whiten = whitening(fn, covariance, s, trainFeatures.size(0));
        return { mean, covariance, whiten, shrinkage: s };
      });
      keep([fit.mean, fit.covariance, fit.whiten]);
      return new MahalanobisScorer(fit);
    });
  }

  /** (x − m)ᵀ Σ⁻¹ (x − m) for each row of features (M, D). */
  score(features: Tensor): Float64Array {
    const fn = "MahalanobisScorer.score";
    if (this.disposed) throw new Error(`${fn}: the scorer has been disposed`);
    checkMatrix(fn, "features", features, { minRows: 0, dim: this.dim, what: "(M, D)" });
    return noGrad(() => tidy(() => minSquaredDistances(features.toDevice(this.whiten.device, "float64").matmul(this.whiten), this.whitenedMean)));
  }

  /** Frees the fitted tensors. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const t of [this.mean, this.covariance, this.whiten, this.whitenedMean]) t.dispose();
  }
}

/** Minimum squared Mahalanobis distance to class means under one tied covariance (Lee et al. 2018). */
export class ClassConditionalMahalanobis {
  /** The shrinkage coefficient used, in [0, 1]. */
  readonly shrinkage: number;
  /** Feature dimension D. */
  readonly dim: number;
  /** Number of classes C. */
  readonly numClasses: number;
  /** μ_c (C, D), float64. */
  readonly classMeans: Tensor;
  /** The tied Σ (D, D) of the class-centred features, float64. */
  readonly covariance: Tensor;
  private readonly whiten: Tensor;
  private readonly whitenedMeans: Tensor;
  private disposed = false;

  private constructor(fit: { classMeans: Tensor; covariance: Tensor; shrinkage: number; whiten: Tensor }) {
    this.classMeans = fit.classMeans;
    this.covariance = fit.covariance;
    this.shrinkage = fit.shrinkage;
    this.whiten = fit.whiten;
    [this.numClasses, this.dim] = fit.classMeans.shape as [number, number];
    this.whitenedMeans = keep(noGrad(() => tidy(() => fit.classMeans.matmul(fit.whiten)))); // (C, D)
  }

  /** Fits class means and the tied covariance to features (N, D) with int64 labels (N,). */
  static fit(features: Tensor, labels: Tensor, options: ClassConditionalMahalanobisOptions = {}): ClassConditionalMahalanobis {
    const fn = "ClassConditionalMahalanobis.fit";
    checkMatrix(fn, "features", features, { minRows: 2 });
    const n = features.size(0);
    if (!(labels instanceof Tensor) || labels.ndim !== 1 || labels.size(0) !== n || labels.dtype !== "int64") {
      const got = labels instanceof Tensor ? `a ${labels.dtype} tensor of shape [${labels.shape.join(", ")}]` : String(labels);
      throw new RangeError(`${fn}: labels must be an int64 tensor of shape [${n}] (one per feature row), got ${got}`);
    }
    const shrinkage = checkShrinkage(fn, options.shrinkage ?? "ledoit-wolf");
    const values = labels.toArray();
    let maxLabel = 0;
    values.forEach((l, i) => {
      if (l < 0) throw new RangeError(`${fn}: labels[${i}] is ${l}; labels must be >= 0`);
      maxLabel = Math.max(maxLabel, l);
    });
    const numClasses = options.numClasses === undefined ? maxLabel + 1 : checkPositiveInt(fn, "numClasses", options.numClasses);
    if (maxLabel >= numClasses) throw new RangeError(`${fn}: labels go up to ${maxLabel}, but numClasses is ${numClasses}`);
    const counts = new Array<number>(numClasses).fill(0);
    for (const l of values) counts[l]!++;
    const empty = counts.findIndex((c) => c === 0);
    if (empty >= 0) throw new RangeError(`${fn}: class ${empty} has no features (each of the ${numClasses} classes needs at least one)`);
    return noGrad(() => {
      const fit = tidy(() => {
        const x = features.double();
        const y = labels.toDevice(x.device);
        const member = oneHot(y, numClasses).double(); // (N, C)
        const classMeans = member.mT.matmul(x).div(member.sum(0).unsqueeze(1)); // (C, D)
        const centred = x.sub(classMeans.indexSelect(0, y)); // (N, D): x_i − μ_{y_i}
        const { covariance, shrinkage: s } = shrunkCovariance(centred, { shrinkage, assumeCentred: true });
        const whiten = whitening(fn, covariance, s, n, "the features are constant within every class");
        return { classMeans, covariance, whiten, shrinkage: s };
      });
      keep([fit.classMeans, fit.covariance, fit.whiten]);
      return new ClassConditionalMahalanobis(fit);
    });
  }

  /** min_c (x − μ_c)ᵀ Σ⁻¹ (x − μ_c) for each row of features (M, D). */
  score(features: Tensor): Float64Array {
    const fn = "ClassConditionalMahalanobis.score";
    if (this.disposed) throw new Error(`${fn}: the scorer has been disposed`);
    checkMatrix(fn, "features", features, { minRows: 0, dim: this.dim, what: "(M, D)" });
    return noGrad(() => tidy(() => minSquaredDistances(features.toDevice(this.whiten.device, "float64").matmul(this.whiten), this.whitenedMeans)));
  }

  /** Frees the fitted tensors. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const t of [this.classMeans, this.covariance, this.whiten, this.whitenedMeans]) t.dispose();
  }
}
