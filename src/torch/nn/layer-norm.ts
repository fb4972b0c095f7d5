// LayerNorm: normalise over the trailing dims, then scale and shift (PyTorch's nn.LayerNorm).
import { Tensor } from "../tensor.ts";
import { ones, zeros } from "../create.ts";
import { layerNorm } from "../functional.ts";
import { argError } from "../errors.ts";
import { Module } from "./module.ts";
import { createOptions, type LayerOptions } from "./layer-options.ts";

export interface LayerNormOptions extends LayerOptions {
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Learn a per-element scale (init 1) and shift (init 0) of the normalised shape (default true). */
  elementwiseAffine?: boolean;
  /** With elementwiseAffine, whether to learn the shift (default true). */
  bias?: boolean;
}

export class LayerNorm extends Module {
  readonly normalizedShape: number[];
  readonly eps: number;
  /** (...normalizedShape), init 1; null without elementwiseAffine. */
  readonly weight: Tensor | null;
  /** (...normalizedShape), init 0; null without elementwiseAffine or bias. */
  readonly bias: Tensor | null;

  constructor(normalizedShape: number | number[], options: LayerNormOptions = {}) {
    super();
    const shape = typeof normalizedShape === "number" ? [normalizedShape] : [...normalizedShape];
    if (shape.length === 0 || !shape.every((s) => Number.isInteger(s) && s > 0)) {
      argError("LayerNorm", "normalizedShape", "a positive integer or a non-empty array of them", normalizedShape);
    }
    const eps = options.eps ?? 1e-5;
    if (!(eps >= 0)) argError("LayerNorm", "eps", "a non-negative number", eps);
    this.normalizedShape = shape;
    this.eps = eps;
    const create = createOptions(options);
    const affine = options.elementwiseAffine ?? true;
    this.weight = affine ? this.param("weight", ones(shape, create)) : null;
    this.bias = affine && (options.bias ?? true) ? this.param("bias", zeros(shape, create)) : null;
  }

  /** (..., *normalizedShape) -> same shape */
  forward(x: Tensor): Tensor {
    return layerNorm(x, this.normalizedShape, this.weight, this.bias, this.eps);
  }
}
