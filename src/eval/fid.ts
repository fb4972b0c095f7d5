// Fréchet distance between Gaussian fits of two feature sets (FID, Heusel et al. 2017).
//
// Each set of features X (N, D) is summarised by its mean μ (D) and its unbiased covariance
// Σ = (X − μ)ᵀ(X − μ) / (N − 1) (D, D) — numpy.cov(X, rowvar=False), as pytorch-fid and clean-fid.
// The Fréchet (2-Wasserstein) distance between N(μa, Σa) and N(μb, Σb) is
//
//   d² = ‖μa − μb‖² + Tr(Σa) + Tr(Σb) − 2·Tr( (Σa^{1/2} Σb Σa^{1/2})^{1/2} ).
//
// Tr((Σa Σb)^{1/2}), which scipy.linalg.sqrtm computes from a non-symmetric product, equals the
// trace of the square root of the symmetric positive semi-definite matrix Σa^{1/2} Σb Σa^{1/2}
// (same eigenvalues), so both square roots here come from a symmetric eigendecomposition
// (linalg.eigh): no complex parts, no "singular product" retries. Eigenvalues that rounding made
// slightly negative are clamped to 0, and the result is clamped to ≥ 0 (d² is a squared distance;
// a set against itself gives 0 up to rounding, never NaN). Everything runs in float64.
import { Tensor, keep, linalg, noGrad, tidy } from "../torch/index.ts";

/** The Gaussian summary of a feature set. Dispose it when done (its tensors are kept). */
export interface GaussianFit {
  /** float64 (D): the feature mean μ. */
  mean: Tensor;
  /** float64 (D, D): the unbiased covariance Σ (divides by N − 1, like numpy.cov). */
  covariance: Tensor;
  /** Number of feature vectors N it was fitted on. */
  n: number;
  /** Frees mean and covariance (idempotent). */
  dispose(): void;
}

const FLOAT_DTYPES = new Set(["float64", "float32", "bfloat16", "float16"]);

/**
 * Checks a feature matrix: a floating-point (N, D) tensor with N ≥ 2, D ≥ 1 and only finite
 * values. `what` names the argument in the error ("fid: featuresA ...").
 */
export function checkFeatures(what: string, features: unknown): asserts features is Tensor {
  if (!(features instanceof Tensor) || features.isDisposed) throw new TypeError(`${what} must be a live Tensor, got ${String(features)}`);
  if (features.ndim !== 2 || !FLOAT_DTYPES.has(features.dtype)) {
    throw new TypeError(`${what} must be a floating-point (N, D) tensor, got ${features.toString()}`);
  }
  const [n, d] = features.shape as [number, number];
  if (n < 2) throw new RangeError(`${what} must have at least 2 rows (feature vectors) to estimate a covariance, got ${n}`);
  if (d < 1) throw new RangeError(`${what} must have at least 1 column (feature), got ${features.toString()}`);
  const finite = tidy(() => features.isfinite().all().item());
  if (!finite) throw new RangeError(`${what} contains NaN or Inf values (${features.toString()})`);
}

/** Mean and unbiased covariance of features (N, D), in float64. */
export function gaussianFit(features: Tensor): GaussianFit {
  checkFeatures("gaussianFit: features", features);
  const n = features.size(0);
  const { mean, covariance } = noGrad(() =>
    tidy(() => {
      const x = features.detach().cpu().to("float64"); // (N, D)
      const mean = x.mean(0); // (D)
      const centred = x.sub(mean); // (N, D)
      const covariance = centred.mT.matmul(centred).div(n - 1); // (D, D)
      return { mean, covariance };
    }),
  );
  keep(mean);
  keep(covariance);
  return {
    mean,
    covariance,
    n,
    dispose(): void {
      mean.dispose();
      covariance.dispose();
    },
  };
}

function checkFit(what: string, fit: unknown): asserts fit is GaussianFit {
  const f = fit as Partial<GaussianFit> | null;
  const ok =
    typeof f === "object" && f !== null &&
    f.mean instanceof Tensor && !f.mean.isDisposed && f.mean.ndim === 1 &&
    f.covariance instanceof Tensor && !f.covariance.isDisposed && f.covariance.ndim === 2 &&
    f.covariance.size(0) === f.mean.size(0) && f.covariance.size(1) === f.mean.size(0);
  if (!ok) throw new TypeError(`frechetDistance: ${what} must be a GaussianFit with a (D) mean and a (D, D) covariance (not disposed)`);
}

/** The squared Fréchet distance between N(a.mean, a.covariance) and N(b.mean, b.covariance). */
export function frechetDistance(a: GaussianFit, b: GaussianFit): number {
  checkFit("a", a);
  checkFit("b", b);
  const da = a.mean.size(0);
  const db = b.mean.size(0);
  if (da !== db) throw new RangeError(`frechetDistance: the fits have different feature dimensions (a: ${da}, b: ${db})`);
  return noGrad(() =>
    tidy(() => {
      const muA = a.mean.to("float64");
      const muB = b.mean.to("float64");
      const sigmaA = a.covariance.to("float64");
      const sigmaB = b.covariance.to("float64");
      const meanTerm = muA.sub(muB).square().sum().item();
      const traces = linalg.trace(sigmaA).item() + linalg.trace(sigmaB).item();
      const rootA = linalg.sqrtmSymmetric(sigmaA); // Σa^{1/2} (D, D)
      const inner = rootA.matmul(sigmaB).matmul(rootA); // Σa^{1/2} Σb Σa^{1/2}, symmetric PSD (D, D)
      const symmetric = inner.add(inner.mT).mul(0.5);
      const eigenvalues = linalg.eigvalsh(symmetric); // (D), no eigenvectors needed
      const traceRoot = eigenvalues.clamp(0, null).sqrt().sum().item(); // Tr((Σa^{1/2} Σb Σa^{1/2})^{1/2})
      const d2 = meanTerm + traces - 2 * traceRoot;
      if (!Number.isFinite(d2)) throw new RangeError(`frechetDistance: the result is not finite (${d2}); are the covariances finite?`);
      return Math.max(0, d2);
    }),
  );
}

/** FID between two feature sets (Na, D) and (Nb, D): frechetDistance of their Gaussian fits. */
export function fid(featuresA: Tensor, featuresB: Tensor): number {
  checkFeatures("fid: featuresA", featuresA);
  checkFeatures("fid: featuresB", featuresB);
  if (featuresA.size(1) !== featuresB.size(1)) {
    throw new RangeError(`fid: featuresA and featuresB must have the same feature dimension D, got ${featuresA.toString()} and ${featuresB.toString()}`);
  }
  const a = gaussianFit(featuresA);
  try {
    const b = gaussianFit(featuresB);
    try {
      return frechetDistance(a, b);
    } finally {
      b.dispose();
    }
  } finally {
    a.dispose();
  }
}
