// Functions over several tensors: joining, selection, products, normalisation, losses, and the
// convolution/pooling/resampling ops used by feature networks and image augmentation.
import { Tensor, op, opT, type TensorOrScalar } from "./tensor.ts";
import { argError } from "./errors.ts";
import { linearKernel, DEFAULT_COMPUTE, type ComputeOptions } from "./kernels.ts";

function nonEmpty(opName: string, tensors: Tensor[]): void {
  if (!Array.isArray(tensors) || tensors.length === 0 || !tensors.every((t) => t instanceof Tensor)) {
    argError(opName, "tensors", "a non-empty array of tensors", tensors);
  }
}

// ---- joining and selection ----------------------------------------------------------------------

export function cat(tensors: Tensor[], dim = 0): Tensor {
  nonEmpty("cat", tensors);
  return opT("aten::cat", tensors, tensors[0]!.normDim(dim, "cat"));
}

export function stack(tensors: Tensor[], dim = 0): Tensor {
  nonEmpty("stack", tensors);
  return opT("aten::stack", tensors, tensors[0]!.normDim(dim, "stack", 1));
}

/** cond ? a : b, elementwise with broadcasting; a and b may be numbers. */
export function where(cond: Tensor, a: TensorOrScalar, b: TensorOrScalar): Tensor {
  if (typeof a === "number" && typeof b === "number") return opT("aten::where.Scalar", cond, a, b);
  if (typeof a === "number") return opT("aten::where.ScalarSelf", cond, a, b);
  if (typeof b === "number") return opT("aten::where.ScalarOther", cond, a, b);
  return opT("aten::where.self", cond, a, b);
}

/** Pads the last dims: pads = [left, right, top, bottom, ...]; mode "constant" (with value) or "reflect". */
export function pad(x: Tensor, pads: number[], mode: "constant" | "reflect" | "replicate" = "constant", value = 0): Tensor {
  if (!Array.isArray(pads) || pads.length % 2 !== 0 || pads.length / 2 > x.ndim || !pads.every(Number.isInteger)) {
    argError("pad", "pads", `an even-length integer array covering at most ${x.ndim} dims`, pads);
  }
  if (mode === "constant") return opT("aten::constant_pad_nd", x, pads, value);
  if (mode !== "reflect" && mode !== "replicate") argError("pad", "mode", `"constant", "reflect" or "replicate"`, mode);
  return opT("aten::pad", x, pads, mode, null);
}

// ---- products -----------------------------------------------------------------------------------

/**
 * x · weightᵀ + bias, with weight (out, in) as in nn.Linear; `compute` picks the kernel (gcrl::linear
 * or aten::linear) and the matmul precision (see kernels.ts). Default: fp32 on the fast kernels.
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null, compute: ComputeOptions = DEFAULT_COMPUTE): Tensor {
  return linearKernel(x, weight, bias ?? null, compute);
}

/** Einstein summation, e.g. einsum("bij,bjk->bik", a, b). */
export function einsum(equation: string, ...tensors: Tensor[]): Tensor {
  if (typeof equation !== "string" || !equation.includes("->") && tensors.length === 0) argError("einsum", "equation", "an einsum equation", equation);
  nonEmpty("einsum", tensors);
  return opT("aten::einsum", equation, tensors, null);
}

// ---- normalisation and similarity ---------------------------------------------------------------

/** Layer normalisation over the trailing dims given by normalizedShape. */
export function layerNorm(x: Tensor, normalizedShape: number[], weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  const shape = x.shape;
  const tail = shape.slice(shape.length - normalizedShape.length);
  if (normalizedShape.length > shape.length || tail.some((s, i) => s !== normalizedShape[i])) {
    argError("layerNorm", "normalizedShape", `the trailing dims of the input [${shape.join(", ")}]`, normalizedShape);
  }
  return opT("aten::layer_norm", x, normalizedShape, weight ?? null, bias ?? null, eps, true);
}

/** Rows of weight (num, dim) picked by integer indices of any shape -> (...indices.shape, dim). */
export function embedding(weight: Tensor, indices: Tensor): Tensor {
  return opT("aten::embedding", weight, indices, -1, false, false);
}

/** x / max(‖x‖_p, eps) along dim. */
export function normalize(x: Tensor, p = 2, dim = -1, eps = 1e-12): Tensor {
  const d = x.normDim(dim, "normalize");
  const n = x.norm(p, d, true);
  const denom = n.clamp(eps, null);
  const out = x.div(denom);
  n.dispose();
  denom.dispose();
  return out;
}

/** Cosine similarity along dim: x1·x2 / max(‖x1‖‖x2‖, eps). */
export function cosineSimilarity(x1: Tensor, x2: Tensor, dim = 1, eps = 1e-8): Tensor {
  return opT("aten::cosine_similarity", x1, x2, dim, eps);
}

// ---- losses -------------------------------------------------------------------------------------

export type Reduction = "mean" | "sum" | "none";
const REDUCTION: Record<Reduction, number> = { none: 0, mean: 1, sum: 2 };

function reductionCode(opName: string, r: Reduction): number {
  const code = REDUCTION[r];
  if (code === undefined) argError(opName, "reduction", `"mean", "sum" or "none"`, r);
  return code;
}

export interface CrossEntropyOptions {
  /** Per-class weights (C,). */
  weight?: Tensor | null;
  /** Targets equal to this are skipped (and excluded from the mean). */
  ignoreIndex?: number;
  reduction?: Reduction;
  labelSmoothing?: number;
}

/**
 * Cross-entropy of logits (N, C, ...) against class indices (N, ...) (int64) or class probabilities
 * of the logits' shape. With weights, "mean" divides by the sum of the targets' weights (PyTorch).
 */
export function crossEntropy(logits: Tensor, target: Tensor, options: CrossEntropyOptions = {}): Tensor {
  const ls = options.labelSmoothing ?? 0;
  if (!(ls >= 0 && ls <= 1)) argError("crossEntropy", "labelSmoothing", "a number in [0, 1]", ls);
  return opT(
    "aten::cross_entropy_loss",
    logits,
    target,
    options.weight ?? null,
    reductionCode("crossEntropy", options.reduction ?? "mean"),
    options.ignoreIndex ?? -100,
    ls,
  );
}

/** Negative log-likelihood of log-probabilities (N, C, ...) at class indices (N, ...). */
export function nllLoss(logProbs: Tensor, target: Tensor, options: Omit<CrossEntropyOptions, "labelSmoothing"> = {}): Tensor {
  return opT("aten::nll_loss_nd", logProbs, target, options.weight ?? null, reductionCode("nllLoss", options.reduction ?? "mean"), options.ignoreIndex ?? -100);
}

export function mseLoss(input: Tensor, target: Tensor, reduction: Reduction = "mean"): Tensor {
  return opT("aten::mse_loss", input, target, reductionCode("mseLoss", reduction));
}

export function binaryCrossEntropyWithLogits(logits: Tensor, target: Tensor, reduction: Reduction = "mean"): Tensor {
  return opT("aten::binary_cross_entropy_with_logits", logits, target, null, null, reductionCode("binaryCrossEntropyWithLogits", reduction));
}

// ---- convolution, pooling, resampling (NCHW) ----------------------------------------------------

type Pair = number | [number, number];

function pair(opName: string, arg: string, v: Pair, min: number): [number, number] {
  const p: [number, number] = typeof v === "number" ? [v, v] : v;
  if (!Array.isArray(p) || p.length !== 2 || !p.every((x) => Number.isInteger(x) && x >= min)) {
    argError(opName, arg, `an integer >= ${min} or a pair of them`, v);
  }
  return p;
}

function needs4d(opName: string, x: Tensor): void {
  if (x.ndim !== 4) argError(opName, "input", "a 4-d tensor (N, C, H, W)", x);
}

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
}

/** 2-d convolution: x (N, C_in, H, W), weight (C_out, C_in/groups, kH, kW), bias (C_out). */
export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor | null, options: Conv2dOptions = {}): Tensor {
  needs4d("conv2d", x);
  const groups = options.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1) argError("conv2d", "groups", "a positive integer", groups);
  return opT(
    "aten::conv2d",
    x,
    weight,
    bias ?? null,
    pair("conv2d", "stride", options.stride ?? 1, 1),
    pair("conv2d", "padding", options.padding ?? 0, 0),
    pair("conv2d", "dilation", options.dilation ?? 1, 1),
    groups,
  );
}

export function maxPool2d(x: Tensor, kernelSize: Pair, stride?: Pair, padding: Pair = 0): Tensor {
  needs4d("maxPool2d", x);
  const k = pair("maxPool2d", "kernelSize", kernelSize, 1);
  return opT("aten::max_pool2d", x, k, pair("maxPool2d", "stride", stride ?? k, 1), pair("maxPool2d", "padding", padding, 0), [1, 1], false);
}

export function avgPool2d(x: Tensor, kernelSize: Pair, stride?: Pair, padding: Pair = 0): Tensor {
  needs4d("avgPool2d", x);
  const k = pair("avgPool2d", "kernelSize", kernelSize, 1);
  return opT("aten::avg_pool2d", x, k, pair("avgPool2d", "stride", stride ?? k, 1), pair("avgPool2d", "padding", padding, 0), false, true, null);
}

export function adaptiveAvgPool2d(x: Tensor, outputSize: Pair): Tensor {
  if (x.ndim !== 3 && x.ndim !== 4) argError("adaptiveAvgPool2d", "input", "a 3-d or 4-d tensor", x);
  return opT("aten::adaptive_avg_pool2d", x, pair("adaptiveAvgPool2d", "outputSize", outputSize, 1));
}

export interface InterpolateOptions {
  /** Output (H, W); give this or scaleFactor. */
  size?: [number, number];
  scaleFactor?: number | [number, number];
  mode?: "nearest" | "bilinear";
  /** bilinear only (PyTorch's default false). */
  alignCorners?: boolean;
}

/** Resizes (N, C, H, W) images. */
export function interpolate(x: Tensor, options: InterpolateOptions): Tensor {
  needs4d("interpolate", x);
  const mode = options.mode ?? "nearest";
  if ((options.size === undefined) === (options.scaleFactor === undefined)) {
    argError("interpolate", "size/scaleFactor", "exactly one of size and scaleFactor", options);
  }
  const size = options.size === undefined ? null : pair("interpolate", "size", options.size, 1);
  const sf = options.scaleFactor;
  const scales = sf === undefined ? null : typeof sf === "number" ? [sf, sf] : sf;
  if (scales !== null && !scales.every((s) => s > 0)) argError("interpolate", "scaleFactor", "positive numbers", sf);
  if (mode === "nearest") return opT("aten::upsample_nearest2d.vec", x, size, scales);
  if (mode === "bilinear") return opT("aten::upsample_bilinear2d.vec", x, size, options.alignCorners ?? false, scales);
  return argError("interpolate", "mode", `"nearest" or "bilinear"`, mode);
}

/**
 * Antialiased bicubic resize of float (N, C, H, W) images to (N, C, height, width): PyTorch's
 * interpolate(mode="bicubic", antialias=True, align_corners=False), which reproduces PIL's bicubic
 * filter (Keys a = −0.5, the kernel stretched when shrinking, cut and renormalised at the borders).
 * The ATen operator is a private one (`_upsample_bicubic2d_aa`, which may skip input checks), so
 * every input is checked here first. Values are not clamped.
 */
export function resizeBicubicAntialias(x: Tensor, size: [number, number]): Tensor {
  needs4d("resizeBicubicAntialias", x);
  if (x.dtype !== "float32" && x.dtype !== "float64") argError("resizeBicubicAntialias", "input", "a float32 or float64 tensor", x);
  if (x.shape.some((s) => s < 1)) argError("resizeBicubicAntialias", "input", "a non-empty tensor", x);
  const [height, width] = pair("resizeBicubicAntialias", "size", size, 1);
  return opT("aten::_upsample_bicubic2d_aa", x.contiguous(), [height, width], false, null, null);
}

/** One-hot encoding of int64 indices: (...) -> (..., numClasses) int64. */
export function oneHot(indices: Tensor, numClasses: number): Tensor {
  if (!Number.isInteger(numClasses) || numClasses <= 0) argError("oneHot", "numClasses", "a positive integer", numClasses);
  return opT("aten::one_hot", indices, numClasses);
}

export { op };
