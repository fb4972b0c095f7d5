// Gradient clipping by total norm, as torch.nn.utils.clip_grad_norm_ — except that a NaN or
// infinite total norm is reported (returned, or thrown with errorIfNonfinite) and the gradients
// are left as they are, instead of being multiplied by NaN.
import { Tensor } from "../tensor.ts";
import { stack } from "../functional.ts";
import { tidy } from "../scope.ts";
import { noGrad } from "../autograd.ts";
import { argError, TorchError } from "../errors.ts";

export interface ClipGradNormOptions {
  /** The p of the p-norm (default 2; Infinity for the largest absolute value). */
  normType?: number;
  /** Throw when the total norm is NaN or infinite (default false: return it, clip nothing). */
  errorIfNonfinite?: boolean;
}

/**
 * Scales all gradients in place by maxNorm / (total + 1e-6) when that factor is below 1, where
 * total is the p-norm of all gradients together (the norm of the per-tensor norms). Parameters
 * without a gradient are ignored. Returns the total norm before clipping (0 if there are no
 * gradients). Check the result with Number.isFinite and skip the optimizer step when it is not.
 */
export function clipGradNorm(params: Iterable<Tensor>, maxNorm: number, options: ClipGradNormOptions = {}): number {
  const normType = options.normType ?? 2;
  if (!(maxNorm >= 0)) argError("clipGradNorm", "maxNorm", "a non-negative number", maxNorm);
  if (!(normType > 0)) argError("clipGradNorm", "normType", "a positive number or Infinity", normType);
  return noGrad(() =>
    tidy(() => {
      const grads: Tensor[] = [];
      for (const p of params) {
        const g = p.grad;
        if (g !== null) grads.push(g);
      }
      if (grads.length === 0) return 0;
      // Per-tensor norms in the gradients' dtype (float64 if they differ), gathered on one device.
      const first = grads[0]!;
      const dtype = grads.every((g) => g.dtype === first.dtype) ? first.dtype : "float64";
      const norms = grads.map((g) => g.norm(normType).toDevice(first.device, dtype));
      const all = stack(norms);
      const total = (normType === Infinity ? all.max() : all.norm(normType)).item();
      if (!Number.isFinite(total)) {
        if (options.errorIfNonfinite) {
          throw new TorchError("clipGradNorm", `the total ${normType}-norm of the gradients is ${total}; the gradients were not clipped`, "");
        }
        return total;
      }
      const coef = maxNorm / (total + 1e-6);
      if (coef < 1) for (const g of grads) g.mul_(coef);
      return total;
    }),
  );
}
