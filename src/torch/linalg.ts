// Dense linear algebra (use float64 for statistics such as FID and Mahalanobis distances).
// Inputs with NaN/Inf are rejected up front: LAPACK's behaviour on them is undefined.
import { Tensor, op, opT } from "./tensor.ts";
import { argError, TorchError } from "./errors.ts";
import { tidy } from "./scope.ts";
import { isFloating } from "./dtype.ts";

function square(opName: string, a: Tensor): void {
  const s = a.shape;
  if (s.length < 2 || s[s.length - 1] !== s[s.length - 2]) argError(opName, "A", "a square matrix (or a batch of them)", a);
  if (!isFloating(a.dtype)) argError(opName, "A", "a floating-point tensor", a);
}

function finite(opName: string, a: Tensor): void {
  const ok = tidy(() => a.isfinite().all().item());
  if (!ok) throw new TorchError(opName, "the matrix contains NaN or Inf", a.toString());
}

/** Eigen-decomposition of a symmetric matrix: ascending eigenvalues and orthonormal eigenvectors (columns). */
export function eigh(a: Tensor, uplo: "L" | "U" = "L"): { eigenvalues: Tensor; eigenvectors: Tensor } {
  square("eigh", a);
  finite("eigh", a);
  const [eigenvalues, eigenvectors] = op("aten::linalg_eigh", a, uplo) as [Tensor, Tensor];
  return { eigenvalues, eigenvectors };
}

/** Eigenvalues (ascending) of a symmetric matrix, without the eigenvectors: cheaper than eigh. */
export function eigvalsh(a: Tensor, uplo: "L" | "U" = "L"): Tensor {
  square("eigvalsh", a);
  finite("eigvalsh", a);
  return opT("aten::linalg_eigvalsh", a, uplo);
}

/**
 * Principal square root of a symmetric positive semi-definite matrix via eigh:
 * V · diag(sqrt(max(λ, 0))) · Vᵀ. Negative eigenvalues from rounding are clamped to 0.
 */
export function sqrtmSymmetric(a: Tensor): Tensor {
  return tidy(() => {
    const sym = a.add(a.mT).mul(0.5);
    const { eigenvalues, eigenvectors } = eigh(sym);
    const root = eigenvalues.clamp(0, null).sqrt();
    return eigenvectors.mul(root.unsqueeze(-2)).matmul(eigenvectors.mT);
  });
}

/** Cholesky factor L (lower, A = L·Lᵀ) or U (upper) of a positive-definite matrix. */
export function cholesky(a: Tensor, upper = false): Tensor {
  square("cholesky", a);
  finite("cholesky", a);
  return opT("aten::linalg_cholesky", a, upper);
}

/** Solves A·X = B. */
export function solve(a: Tensor, b: Tensor): Tensor {
  square("solve", a);
  finite("solve", a);
  finite("solve", b);
  return opT("aten::linalg_solve", a, b, true);
}

export function inverse(a: Tensor): Tensor {
  square("inverse", a);
  finite("inverse", a);
  return opT("aten::linalg_inv", a);
}

/** Sign and log of |det A|. */
export function slogdet(a: Tensor): { sign: Tensor; logabsdet: Tensor } {
  square("slogdet", a);
  finite("slogdet", a);
  const [sign, logabsdet] = op("aten::linalg_slogdet", a) as [Tensor, Tensor];
  return { sign, logabsdet };
}

/** Sum of the diagonal of a 2-d matrix. */
export function trace(a: Tensor): Tensor {
  if (a.ndim !== 2) argError("trace", "A", "a 2-d matrix", a);
  return opT("aten::trace", a);
}
