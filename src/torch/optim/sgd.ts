// SGD with momentum, dampening, Nesterov and (coupled) weight decay, as torch.optim.SGD:
//   d ← g + wd·p
//   b ← d (first step) or μb + (1 − dampening)d;   d ← d + μb (Nesterov) or b
//   p ← p − lr·d
import { Tensor } from "../tensor.ts";
import { argError } from "../errors.ts";
import { Optimizer, definedOptions, type ParamGroup, type ParamState, type ParamsSpec, type StateLayout } from "./optimizer.ts";

export interface SGDOptions {
  /** Learning rate (required: there is no sensible default). */
  lr: number;
  /** Momentum factor μ (default 0). */
  momentum: number;
  /** Dampening of the gradient added to the momentum buffer (default 0). */
  dampening: number;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay: number;
  /** Nesterov momentum (needs momentum > 0 and dampening 0; default false). */
  nesterov: boolean;
}

const SGD_DEFAULTS: Omit<SGDOptions, "lr"> = { momentum: 0, dampening: 0, weightDecay: 0, nesterov: false };

export class SGD extends Optimizer<SGDOptions> {
  constructor(params: ParamsSpec<SGDOptions>, options: Partial<SGDOptions> & { lr: number }) {
    if (typeof options?.lr !== "number") argError("SGD", "options.lr", "a learning rate (a number)", options?.lr);
    super("SGD", params, { ...SGD_DEFAULTS, ...definedOptions(options), lr: options.lr });
  }

  protected checkGroup(g: ParamGroup<SGDOptions>, where: string): void {
    if (!(g.lr >= 0 && Number.isFinite(g.lr))) argError("SGD", `${where}.lr`, "a finite non-negative number", g.lr);
    if (!(g.momentum >= 0 && Number.isFinite(g.momentum))) argError("SGD", `${where}.momentum`, "a finite non-negative number", g.momentum);
    if (!(g.dampening >= 0 && Number.isFinite(g.dampening))) argError("SGD", `${where}.dampening`, "a finite non-negative number", g.dampening);
    if (!(g.weightDecay >= 0 && Number.isFinite(g.weightDecay))) argError("SGD", `${where}.weightDecay`, "a finite non-negative number", g.weightDecay);
    if (typeof g.nesterov !== "boolean") argError("SGD", `${where}.nesterov`, "a boolean", g.nesterov);
    if (g.nesterov && (g.momentum <= 0 || g.dampening !== 0)) {
      argError("SGD", `${where}.nesterov`, "false unless momentum > 0 and dampening = 0", g.nesterov);
    }
  }

  protected stateLayout(g: ParamGroup<SGDOptions>): StateLayout {
    return { scalars: [], tensors: g.momentum !== 0 ? ["momentum_buffer"] : [] };
  }

  protected initState(): ParamState {
    return { scalars: {}, tensors: {} };
  }

  protected updateParam(p: Tensor, grad: Tensor, g: ParamGroup<SGDOptions>, s: ParamState): void {
    let d = g.weightDecay !== 0 ? grad.add(p, g.weightDecay) : grad;
    if (g.momentum !== 0) {
      let buf = s.tensors.momentum_buffer;
      if (buf === undefined) buf = this.addStateTensor(s, "momentum_buffer", d.clone());
      else buf.mul_(g.momentum).add_(d, 1 - g.dampening);
      d = g.nesterov ? d.add(buf, g.momentum) : buf;
    }
    p.add_(d, -g.lr);
  }
}
