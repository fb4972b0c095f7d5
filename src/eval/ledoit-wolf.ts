// Shrunk covariance estimates in float64 (for the Mahalanobis OOD scores): the empirical covariance
// S of features X (N, D), normalised by N (not N − 1), pulled toward the scaled identity μ·I:
//
//   S = Xcᵀ Xc / N   (D, D),  Xc = X − mean (or X itself when assumeCentred)
//   μ = tr(S) / D
//   Σ = (1 − s)·S + s·μ·I,   s ∈ [0, 1]
//
// Ledoit & Wolf (2004, "A well-conditioned estimator for large-dimensional covariance matrices")
// choose s as scikit-learn's ledoit_wolf_shrinkage does:
//
//   δ = ‖S − μI‖²_F / D                                 (how far S is from the target)
//   β = (mean_i ‖x_i‖⁴ − ‖S‖²_F) / (D·N)                (the estimation error of S)
//   s = min(β, δ) / δ   (s = 0 when β = 0 or δ = 0; D = 1 gives s = 0, as scikit-learn)
//
// With N < D or a constant feature S is singular, but s > 0 makes Σ positive definite.
import { Tensor, eye, linalg, noGrad, tidy, zeros } from "../torch/index.ts";

export type ShrinkageOption = "ledoit-wolf" | number;

export interface ShrunkCovariance {
  /** Mean of the rows (D,), float64 (zeros when assumeCentred). */
  mean: Tensor;
  /** Σ (D, D), float64. */
  covariance: Tensor;
  /** The shrinkage s used, in [0, 1]. */
  shrinkage: number;
}

/** Checks a shrinkage option: "ledoit-wolf" or a number in [0, 1]. */
export function checkShrinkage(fn: string, shrinkage: unknown): ShrinkageOption {
  if (shrinkage === "ledoit-wolf") return shrinkage;
  if (typeof shrinkage === "number" && shrinkage >= 0 && shrinkage <= 1) return shrinkage;
  throw new RangeError(`${fn}: shrinkage must be "ledoit-wolf" or a number in [0, 1], got ${typeof shrinkage === "string" ? JSON.stringify(shrinkage) : String(shrinkage)}`);
}

/** Ledoit–Wolf shrinkage s ∈ [0, 1] of centred float64 rows xc (N, D). */
export function ledoitWolfShrinkage(xc: Tensor): number {
  return noGrad(() =>
    tidy(() => {
      const [n, d] = xc.shape as [number, number];
      if (d === 1) return 0;
      const s = xc.mT.matmul(xc).div(n); // (D, D)
      const mu = linalg.trace(s).item() / d;
      const frob2 = s.square().sum().item(); // ‖S‖²_F
      const meanNorm4 = xc.square().sum(1).square().mean().item(); // mean_i ‖x_i‖⁴
      const beta0 = (meanNorm4 - frob2) / (d * n);
      const delta = s.sub(eye(d, { dtype: "float64", device: xc.device }).mul(mu)).square().sum().item() / d;
      const beta = Math.min(beta0, delta);
      return beta === 0 ? 0 : beta / delta;
    }),
  );
}

/**
 * Mean and shrunk covariance of x (N, D) in float64 (x is converted; the results are new tensors
 * the caller owns). shrinkage "ledoit-wolf" (default) estimates s; a number uses it as is.
 */
export function shrunkCovariance(x: Tensor, options: { shrinkage?: ShrinkageOption; assumeCentred?: boolean } = {}): ShrunkCovariance {
  const option = checkShrinkage("shrunkCovariance", options.shrinkage ?? "ledoit-wolf");
  return noGrad(() =>
    tidy(() => {
      const x64 = x.double();
      const [n, d] = x64.shape as [number, number];
      const mean = options.assumeCentred ? zeros([d], { dtype: "float64", device: x64.device }) : x64.mean(0); // (D,)
      const xc = options.assumeCentred ? x64 : x64.sub(mean);
      const s = option === "ledoit-wolf" ? ledoitWolfShrinkage(xc) : option;
      const emp = xc.mT.matmul(xc).div(n); // (D, D)
      const mu = linalg.trace(emp).item() / d;
      const covariance = emp.mul(1 - s).add(eye(d, { dtype: "float64", device: x64.device }).mul(s * mu));
      return { mean, covariance, shrinkage: s };
    }),
  );
}
