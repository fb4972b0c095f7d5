// Parameter initialisation, drawn from the global generator (manualSeed makes it reproducible).
// The draws are the same calls PyTorch's nn.init makes, so with equal seeds a layer built here
// holds the same numbers as the PyTorch layer of the same shape (libtorch 1.13 CPU generator).
import { Tensor } from "../tensor.ts";
import { noGrad } from "../autograd.ts";
import { argError } from "../errors.ts";

/** Fills t in place with draws from U(low, high); returns t. */
export function uniformInit_(t: Tensor, low: number, high: number): Tensor {
  if (!(low <= high)) argError("uniformInit_", "low/high", "numbers with low <= high", [low, high]);
  noGrad(() => t.uniform_(low, high));
  return t;
}

/** Fills t in place with draws from N(mean, std²); returns t. */
export function normalInit_(t: Tensor, mean = 0, std = 1): Tensor {
  if (!(std >= 0)) argError("normalInit_", "std", "a non-negative number", std);
  noGrad(() => t.normal_(mean, std));
  return t;
}

/**
 * fan_in of a weight: shape[1] · (product of the kernel dims), as torch.nn.init's
 * _calculate_fan_in_and_fan_out (Linear (out, in) → in; Conv2d (out, in/groups, kH, kW) → in/groups·kH·kW).
 */
export function fanIn(shape: readonly number[]): number {
  if (shape.length < 2) argError("fanIn", "shape", "a shape with at least 2 dims", shape);
  return shape.slice(1).reduce((a, b) => a * b, 1);
}

/**
 * Bound of kaiming_uniform_(w, a) with mode fan_in and leaky_relu gain: gain·√(3/fan_in) with
 * gain = √(2/(1+a²)). PyTorch's Linear/Conv default a = √5 gives 1/√fan_in (up to rounding).
 */
export function kaimingUniformBound(fanInValue: number, a = Math.sqrt(5)): number {
  if (!(fanInValue > 0)) argError("kaimingUniformBound", "fanIn", "a positive number", fanInValue);
  // Evaluated in PyTorch's order (std = gain/√fan, bound = √3·std) so the bound is bit-identical.
  const gain = Math.sqrt(2 / (1 + a * a));
  const std = gain / Math.sqrt(fanInValue);
  return Math.sqrt(3) * std;
}

/** kaiming_uniform_ (fan_in, leaky_relu with slope a) in place; returns w. */
export function kaimingUniformInit_(w: Tensor, a = Math.sqrt(5)): Tensor {
  const bound = kaimingUniformBound(fanIn(w.shape), a);
  return uniformInit_(w, -bound, bound);
}
