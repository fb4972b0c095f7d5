// Linear: y = x·Wᵀ + b, the fully connected layer (PyTorch's nn.Linear, same initialisation).
import { Tensor } from "../tensor.ts";
import { empty } from "../create.ts";
import { linear } from "../functional.ts";
import { argError } from "../errors.ts";
import { Module } from "./module.ts";
import { kaimingUniformInit_, uniformInit_ } from "./init.ts";
import { checkPositiveInt, createOptions, type LayerOptions } from "./layer-options.ts";

export interface LinearOptions extends LayerOptions {
  /** Add a learned bias (default true). */
  bias?: boolean;
}

export class Linear extends Module {
  /** (outFeatures, inFeatures) ~ U(−1/√in, 1/√in) (kaiming_uniform, a = √5). */
  readonly weight: Tensor;
  /** (outFeatures) ~ U(−1/√in, 1/√in), or null without bias. */
  readonly bias: Tensor | null;

  constructor(readonly inFeatures: number, readonly outFeatures: number, options: LinearOptions = {}) {
    super();
    checkPositiveInt("Linear", "inFeatures", inFeatures);
    checkPositiveInt("Linear", "outFeatures", outFeatures);
    const create = createOptions(options);
    this.weight = this.param("weight", kaimingUniformInit_(empty([outFeatures, inFeatures], create)));
    const bound = 1 / Math.sqrt(inFeatures);
    this.bias = (options.bias ?? true) ? this.param("bias", uniformInit_(empty([outFeatures], create), -bound, bound)) : null;
  }

  /** (..., inFeatures) -> (..., outFeatures) */
  forward(x: Tensor): Tensor {
    const last = x.shape[x.ndim - 1];
    if (last !== this.inFeatures) argError("Linear.forward", "x", `a tensor whose last dim is ${this.inFeatures}`, x);
    return linear(x, this.weight, this.bias, this.compute); // this.compute: Module's, set with setCompute()
  }
}
