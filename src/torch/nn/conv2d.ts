// Conv2d: 2-d convolution over (N, C, H, W) images (PyTorch's nn.Conv2d, same initialisation).
import { Tensor } from "../tensor.ts";
import { empty } from "../create.ts";
import { conv2d } from "../functional.ts";
import { argError } from "../errors.ts";
import { Module } from "./module.ts";
import { kaimingUniformInit_, uniformInit_ } from "./init.ts";
import { checkPositiveInt, createOptions, type LayerOptions } from "./layer-options.ts";

type Pair = number | [number, number];

export interface Conv2dLayerOptions extends LayerOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  /** Split channels into this many independent groups (must divide both channel counts; default 1). */
  groups?: number;
  /** Add a learned bias per output channel (default true). */
  bias?: boolean;
}

function pair(arg: string, v: Pair, min: number): [number, number] {
  const p: [number, number] = typeof v === "number" ? [v, v] : v;
  if (!Array.isArray(p) || p.length !== 2 || !p.every((x) => Number.isInteger(x) && x >= min)) {
    argError("Conv2d", arg, `an integer >= ${min} or a pair of them`, v);
  }
  return [p[0], p[1]];
}

export class Conv2d extends Module {
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;
  /** (outChannels, inChannels/groups, kH, kW) ~ U(−1/√fanIn, 1/√fanIn), fanIn = inChannels/groups·kH·kW. */
  readonly weight: Tensor;
  /** (outChannels) ~ U(−1/√fanIn, 1/√fanIn), or null without bias. */
  readonly bias: Tensor | null;

  constructor(readonly inChannels: number, readonly outChannels: number, kernelSize: Pair, options: Conv2dLayerOptions = {}) {
    super();
    checkPositiveInt("Conv2d", "inChannels", inChannels);
    checkPositiveInt("Conv2d", "outChannels", outChannels);
    const groups = options.groups ?? 1;
    checkPositiveInt("Conv2d", "groups", groups);
    if (inChannels % groups !== 0 || outChannels % groups !== 0) {
      argError("Conv2d", "groups", `a divisor of both inChannels (${inChannels}) and outChannels (${outChannels})`, groups);
    }
    this.kernelSize = pair("kernelSize", kernelSize, 1);
    this.stride = pair("stride", options.stride ?? 1, 1);
    this.padding = pair("padding", options.padding ?? 0, 0);
    this.dilation = pair("dilation", options.dilation ?? 1, 1);
    this.groups = groups;
    const create = createOptions(options);
    const [kh, kw] = this.kernelSize;
    this.weight = this.param("weight", kaimingUniformInit_(empty([outChannels, inChannels / groups, kh, kw], create)));
    const bound = 1 / Math.sqrt((inChannels / groups) * kh * kw);
    this.bias = (options.bias ?? true) ? this.param("bias", uniformInit_(empty([outChannels], create), -bound, bound)) : null;
  }

  /** (N, inChannels, H, W) -> (N, outChannels, H', W'), H' = ⌊(H + 2·pad − dil·(k−1) − 1)/stride⌋ + 1 */
  forward(x: Tensor): Tensor {
    if (x.ndim !== 4 || x.shape[1] !== this.inChannels) {
      argError("Conv2d.forward", "x", `a 4-d tensor (N, ${this.inChannels}, H, W)`, x);
    }
    return conv2d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups });
  }
}
