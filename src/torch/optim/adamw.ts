// AdamW: Adam with decoupled weight decay, step for step as torch.optim.AdamW (single-tensor path):
//   p ← p·(1 − lr·wd)
//   m ← β₁m + (1 − β₁)g          v ← β₂v + (1 − β₂)g²          (v̂max ← max(v̂max, v) with amsgrad)
//   p ← p − lr/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε)
// Weight decay is per group, so norms, biases and embeddings can sit in a group with weightDecay 0.
import { Tensor } from "../tensor.ts";
import { zerosLike } from "../create.ts";
import { argError } from "../errors.ts";
import { Optimizer, definedOptions, type ParamGroup, type ParamState, type ParamsSpec, type StateLayout } from "./optimizer.ts";

export interface AdamWOptions {
  /** Learning rate (default 1e-3). */
  lr: number;
  /** Decay rates of the first and second moment averages (default [0.9, 0.999]). */
  betas: [number, number];
  /** Added to the bias-corrected √v (default 1e-8). */
  eps: number;
  /** Decoupled weight decay coefficient (default 1e-2, as PyTorch). */
  weightDecay: number;
  /** Use the running maximum of v (AMSGrad; default false). */
  amsgrad: boolean;
}

export const ADAMW_DEFAULTS: Readonly<AdamWOptions> = { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-2, amsgrad: false };

export class AdamW extends Optimizer<AdamWOptions> {
  constructor(params: ParamsSpec<AdamWOptions>, options: Partial<AdamWOptions> = {}) {
    super("AdamW", params, { ...ADAMW_DEFAULTS, betas: [...ADAMW_DEFAULTS.betas], ...definedOptions(options) });
  }

  protected checkGroup(g: ParamGroup<AdamWOptions>, where: string): void {
    if (!(g.lr >= 0 && Number.isFinite(g.lr))) argError("AdamW", `${where}.lr`, "a finite non-negative number", g.lr);
    const b = g.betas;
    if (!Array.isArray(b) || b.length !== 2 || !b.every((x) => x >= 0 && x < 1)) argError("AdamW", `${where}.betas`, "two numbers in [0, 1)", b);
    if (!(g.eps >= 0)) argError("AdamW", `${where}.eps`, "a non-negative number", g.eps);
    if (!(g.weightDecay >= 0 && Number.isFinite(g.weightDecay))) argError("AdamW", `${where}.weightDecay`, "a finite non-negative number", g.weightDecay);
    if (typeof g.amsgrad !== "boolean") argError("AdamW", `${where}.amsgrad`, "a boolean", g.amsgrad);
  }

  protected stateLayout(g: ParamGroup<AdamWOptions>): StateLayout {
    return { scalars: ["step"], tensors: g.amsgrad ? ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"] : ["exp_avg", "exp_avg_sq"] };
  }

  protected initState(p: Tensor, g: ParamGroup<AdamWOptions>): ParamState {
    const tensors: Record<string, Tensor> = { exp_avg: zerosLike(p), exp_avg_sq: zerosLike(p) };
    if (g.amsgrad) tensors.max_exp_avg_sq = zerosLike(p);
    return { scalars: { step: 0 }, tensors };
  }

  protected updateParam(p: Tensor, grad: Tensor, g: ParamGroup<AdamWOptions>, s: ParamState): void {
    const [beta1, beta2] = g.betas;
    const step = (s.scalars.step = (s.scalars.step ?? 0) + 1);
    const expAvg = s.tensors.exp_avg!;
    const expAvgSq = s.tensors.exp_avg_sq!;

    if (g.weightDecay !== 0) p.mul_(1 - g.lr * g.weightDecay);
    expAvg.mul_(beta1).add_(grad, 1 - beta1);
    expAvgSq.mul_(beta2).addcmul_(grad, grad, 1 - beta2);

    const stepSize = g.lr / (1 - beta1 ** step);
    const biasCorrection2Sqrt = Math.sqrt(1 - beta2 ** step);
    let second = expAvgSq;
    if (g.amsgrad) {
      const max = s.tensors.max_exp_avg_sq ?? this.addStateTensor(s, "max_exp_avg_sq", zerosLike(p));
      max.copy_(max.maximum(expAvgSq));
      second = max;
    }
    const denom = second.sqrt().div(biasCorrection2Sqrt).add_(g.eps);
    p.addcdiv_(expAvg, denom, -stepSize);
  }
}
