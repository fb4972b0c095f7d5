// The Tensor class: a safe, typed face over one libtorch tensor.
//
// Methods return new tensors (owned by the innermost tidy() scope); methods ending in `_` modify
// the tensor in place and return `this`, as in PyTorch. Dims may be negative (counted from the
// end). Arguments are checked here with messages naming the argument; whatever libtorch still
// rejects comes back as a TorchError naming the operation and the shapes of its inputs.
import { native, type Handle, type NativeValue } from "./native.ts";
import { callOp } from "./dispatch.ts";
import { argError, TorchError } from "./errors.ts";
import { checkDevice } from "./runtime.ts";
import { track, untrack, type Scope, type Tracked } from "./scope.ts";
import { dtypeCode, dtypeFromCode, typedArrayOf, isFloating, type DType, type Device, type TypedArrayFor } from "./dtype.ts";

export type Scalar = number | boolean;
export type TensorOrScalar = Tensor | number;
/** Results of ops that return values and indices (max/min over a dim, topk, sort). */
export interface ValuesIndices {
  values: Tensor;
  indices: Tensor;
}

// Memory format code of at::MemoryFormat::Contiguous.
const CONTIGUOUS_FORMAT = 0;

/** Converts Tensor arguments (also inside arrays) to native handles. */
function toNative(args: unknown[]): unknown[] {
  return args.map((a) => {
    if (a instanceof Tensor) return a.handle;
    if (Array.isArray(a)) return a.map((x) => (x instanceof Tensor ? x.handle : x));
    return a;
  });
}

/** A JS value made from a native result: tensors, numbers, strings, arrays, and objects for dicts. */
export type NativeResult = Tensor | number | boolean | string | null | undefined | NativeResult[] | { [key: string]: NativeResult };

/**
 * Wraps native results: handles become Tensors (registered in the current scope); arrays and
 * dicts (plain objects, from TorchScript) are converted element by element. Handles are the only
 * native objects with a null prototype.
 */
export function fromNative(v: NativeValue | undefined): NativeResult {
  if (Array.isArray(v)) return v.map(fromNative);
  if (typeof v === "object" && v !== null) {
    if (Object.getPrototypeOf(v) === null) return Tensor.fromHandle(v as Handle);
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fromNative(x)]));
  }
  return v;
}

/** Calls an ATen op with Tensor/number/array arguments and wraps the results. */
export function op(qualified: string, ...args: unknown[]): unknown {
  return fromNative(callOp(qualified, toNative(args)));
}

/**
 * The public escape hatch (exported as `op`): calls any public ATen operator by name, e.g.
 * `op("aten::logaddexp", a, b)`. Private operators (`aten::_…`) skip libtorch's input checks and can
 * crash the process on bad input, so they are refused here.
 */
export function atenOp(qualified: string, ...args: unknown[]): unknown {
  if (typeof qualified !== "string" || !/^aten::[a-z]/.test(qualified)) {
    throw new TorchError("op", `expected a public ATen operator name such as "aten::add.Tensor", got ${JSON.stringify(qualified)} (private "aten::_…" operators are not callable: they skip input checks)`, "");
  }
  return op(qualified, ...args);
}

/** Like op() for ops that return exactly one tensor. */
export function opT(qualified: string, ...args: unknown[]): Tensor {
  return op(qualified, ...args) as Tensor;
}

function opVI(qualified: string, ...args: unknown[]): ValuesIndices {
  const [values, indices] = op(qualified, ...args) as [Tensor, Tensor];
  return { values, indices };
}

function isInt(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v);
}

export function checkShape(opName: string, shape: readonly number[], arg = "shape"): number[] {
  if (!Array.isArray(shape) || !shape.every((s) => isInt(s) && s >= 0)) {
    argError(opName, arg, "an array of non-negative integers", shape);
  }
  return shape as number[];
}

/** Runs a direct native call, turning its failure into a TorchError naming the operation. */
function nativeGuard<T>(opName: string, self: Tensor, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof TorchError) throw err;
    throw new TorchError(opName, (err as Error).message.trim(), self.toString());
  }
}

// libtorch's masked_fill silently ignores a floating-point mask (and accepts uint8 with a
// deprecation warning): only bool masks are accepted here.
function checkMask(opName: string, mask: Tensor): void {
  if (!(mask instanceof Tensor) || mask.dtype !== "bool") argError(opName, "mask", "a bool tensor", mask);
}

export class Tensor implements Tracked {
  kept = false;
  scope: Scope | null = null;
  #handle: Handle | null;

  private constructor(handle: Handle) {
    this.#handle = handle;
    track(this);
  }

  /** Wraps a native handle (internal; used by factories and ops). */
  static fromHandle(handle: Handle): Tensor {
    return new Tensor(handle);
  }

  /** The native handle; throws if the tensor was disposed. */
  get handle(): Handle {
    if (this.#handle === null) throw new TorchError("tensor", "this tensor was disposed and can no longer be used", "");
    return this.#handle;
  }

  /** Frees the native memory now (idempotent). Views of it and autograd graphs keep their own references. */
  dispose(): void {
    if (this.#handle !== null) {
      native.dispose(this.#handle);
      this.#handle = null;
      untrack(this);
    }
  }

  get isDisposed(): boolean {
    return this.#handle === null;
  }

  // ---- metadata -------------------------------------------------------------------------------

  get shape(): number[] {
    return native.shape(this.handle);
  }
  get dtype(): DType {
    return dtypeFromCode(native.dtype(this.handle));
  }
  get device(): string {
    return native.meta(this.handle)[2];
  }
  get ndim(): number {
    return this.shape.length;
  }
  get numel(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
  /** Size of one dim (negative dims count from the end). */
  size(dim: number): number {
    const shape = this.shape;
    return shape[this.normDim(dim, "size")]!;
  }

  toString(): string {
    if (this.#handle === null) return "Tensor(<disposed>)";
    const [code, shape, device, rg] = native.meta(this.#handle);
    return `Tensor(${dtypeFromCode(code)}[${shape.join(", ")}]${device === "cpu" ? "" : `, ${device}`}${rg ? ", requiresGrad" : ""})`;
  }

  /** Checks a dim against this tensor's rank and returns it as a non-negative index. */
  normDim(dim: number, opName: string, rankPlus = 0): number {
    const n = this.ndim + rankPlus;
    if (!isInt(dim) || dim < -Math.max(n, 1) || dim >= Math.max(n, 1)) {
      argError(opName, "dim", `an integer in [${-Math.max(n, 1)}, ${Math.max(n, 1) - 1}] for a tensor of shape [${this.shape.join(", ")}]`, dim);
    }
    return dim < 0 ? dim + Math.max(n, 1) : dim;
  }

  private dims(dims: number | number[], opName: string): number[] {
    const list = Array.isArray(dims) ? dims : [dims];
    return list.map((d) => this.normDim(d, opName));
  }

  // ---- data out -------------------------------------------------------------------------------

  /** A copy of the elements, row-major, in the TypedArray of this dtype (bfloat16/float16: raw bits). */
  toTypedArray<D extends DType = DType>(): TypedArrayFor[D] {
    return typedArrayOf(this.dtype as D, native.toBytes(this.handle));
  }

  /**
   * A zero-copy view of a contiguous CPU tensor's memory. It aliases the tensor (in-place ops show
   * through) and keeps the storage alive until the view is garbage-collected.
   */
  sharedTypedArray<D extends DType = DType>(): TypedArrayFor[D] {
    return typedArrayOf(this.dtype as D, nativeGuard("sharedTypedArray", this, () => native.sharedBytes(this.handle)));
  }

  /** The elements as a flat array of JS numbers (int64 converted; bool as 0/1; bf16/f16 decoded). */
  toArray(): number[] {
    const d = this.dtype;
    if (d === "bfloat16" || d === "float16") {
      const f = this.to("float32");
      const out = Array.from(f.toTypedArray<"float32">());
      f.dispose();
      return out;
    }
    const data = this.toTypedArray();
    if (data instanceof BigInt64Array) return Array.from(data, (x) => Number(x));
    return Array.from(data as ArrayLike<number>);
  }

  /** The value of a one-element tensor. */
  item(): number {
    if (this.numel !== 1) throw new TorchError("item", `expected a tensor with one element, got shape [${this.shape.join(", ")}]`, "");
    const v = callOp("aten::item", [this.handle]);
    return typeof v === "boolean" ? Number(v) : (v as number);
  }

  // ---- conversion -----------------------------------------------------------------------------

  to(dtype: DType): Tensor {
    return opT("aten::to.dtype", this, dtypeCode(dtype), false, false);
  }
  toDevice(device: Device | string, dtype?: DType): Tensor {
    return opT("aten::to.device", this, checkDevice("toDevice", device), dtypeCode(dtype ?? this.dtype), false, false);
  }
  cpu(): Tensor {
    return this.toDevice("cpu");
  }
  cuda(index = 0): Tensor {
    return this.toDevice(`cuda:${index}`);
  }
  float(): Tensor {
    return this.to("float32");
  }
  double(): Tensor {
    return this.to("float64");
  }
  long(): Tensor {
    return this.to("int64");
  }
  clone(): Tensor {
    return opT("aten::clone", this);
  }
  /** Same data, cut from the autograd graph. */
  detach(): Tensor {
    return opT("aten::detach", this);
  }
  contiguous(): Tensor {
    return opT("aten::contiguous", this, CONTIGUOUS_FORMAT);
  }

  // ---- autograd -------------------------------------------------------------------------------

  get requiresGrad(): boolean {
    return native.meta(this.handle)[3];
  }
  set requiresGrad(on: boolean) {
    if (on && !isFloating(this.dtype)) throw new TorchError("requiresGrad", `only floating-point tensors can require gradients, this one is ${this.dtype}`, "");
    // (libtorch ignores the flag on a non-leaf, whose requiresGrad follows its inputs)
    if (!this.isLeaf) throw new TorchError("requiresGrad", "only leaf tensors can change requiresGrad; use detach() for a copy outside the graph", this.toString());
    native.setRequiresGrad(this.handle, on);
  }
  /** Sets requiresGrad and returns this (chainable). */
  requiresGrad_(on = true): this {
    this.requiresGrad = on;
    return this;
  }
  get isLeaf(): boolean {
    return native.isLeaf(this.handle);
  }
  /** The accumulated gradient (a new wrapper sharing memory with it), or null. */
  get grad(): Tensor | null {
    const g = native.grad(this.handle);
    return g === null ? null : Tensor.fromHandle(g);
  }
  set grad(g: Tensor | null) {
    // As in PyTorch: a gradient must match its tensor (libtorch would accept anything and fail, or
    // silently change the gradient's dtype, at the next backward).
    if (g !== null && (!(g instanceof Tensor) || g.dtype !== this.dtype || g.device !== this.device || g.shape.join() !== this.shape.join())) {
      argError("grad", "gradient", `null or a ${this.dtype} tensor of shape [${this.shape.join(", ")}] on ${this.device}`, g);
    }
    native.setGrad(this.handle, g === null ? null : g.handle);
  }
  /** Keeps .grad for a non-leaf tensor. */
  retainGrad(): this {
    nativeGuard("retainGrad", this, () => native.retainGrad(this.handle));
    return this;
  }
  /** Backpropagates from this tensor (a scalar unless `gradient` is given). */
  backward(gradient?: Tensor, options: { retainGraph?: boolean; createGraph?: boolean } = {}): void {
    if (gradient === undefined && this.numel !== 1) {
      throw new TorchError("backward", `backward() without a gradient needs a scalar output, got shape [${this.shape.join(", ")}]`, "");
    }
    try {
      native.backward([this.handle], gradient ? [gradient.handle] : null, options.retainGraph ?? false, options.createGraph ?? false);
    } catch (err) {
      throw new TorchError("backward", (err as Error).message.trim(), this.toString());
    }
  }

  // ---- elementwise arithmetic (broadcasting) --------------------------------------------------

  add(other: TensorOrScalar, alpha = 1): Tensor {
    return typeof other === "number" ? opT("aten::add.Scalar", this, other, alpha) : opT("aten::add.Tensor", this, other, alpha);
  }
  sub(other: TensorOrScalar, alpha = 1): Tensor {
    return typeof other === "number" ? opT("aten::sub.Scalar", this, other, alpha) : opT("aten::sub.Tensor", this, other, alpha);
  }
  /** other - this */
  rsub(other: number): Tensor {
    return opT("aten::rsub.Scalar", this, other, 1);
  }
  mul(other: TensorOrScalar): Tensor {
    return typeof other === "number" ? opT("aten::mul.Scalar", this, other) : opT("aten::mul.Tensor", this, other);
  }
  /** True division; roundingMode "trunc" or "floor" for integer-style division. */
  div(other: TensorOrScalar, roundingMode?: "trunc" | "floor"): Tensor {
    if (roundingMode !== undefined) {
      return typeof other === "number" ? opT("aten::div.Scalar_mode", this, other, roundingMode) : opT("aten::div.Tensor_mode", this, other, roundingMode);
    }
    return typeof other === "number" ? opT("aten::div.Scalar", this, other) : opT("aten::div.Tensor", this, other);
  }
  remainder(other: TensorOrScalar): Tensor {
    return typeof other === "number" ? opT("aten::remainder.Scalar", this, other) : opT("aten::remainder.Tensor", this, other);
  }
  pow(exponent: TensorOrScalar): Tensor {
    return typeof exponent === "number" ? opT("aten::pow.Tensor_Scalar", this, exponent) : opT("aten::pow.Tensor_Tensor", this, exponent);
  }
  maximum(other: Tensor): Tensor {
    return opT("aten::maximum", this, other);
  }
  minimum(other: Tensor): Tensor {
    return opT("aten::minimum", this, other);
  }
  neg(): Tensor {
    return opT("aten::neg", this);
  }
  abs(): Tensor {
    return opT("aten::abs", this);
  }
  sign(): Tensor {
    return opT("aten::sign", this);
  }
  exp(): Tensor {
    return opT("aten::exp", this);
  }
  log(): Tensor {
    return opT("aten::log", this);
  }
  log1p(): Tensor {
    return opT("aten::log1p", this);
  }
  log2(): Tensor {
    return opT("aten::log2", this);
  }
  sqrt(): Tensor {
    return opT("aten::sqrt", this);
  }
  rsqrt(): Tensor {
    return opT("aten::rsqrt", this);
  }
  square(): Tensor {
    return opT("aten::square", this);
  }
  reciprocal(): Tensor {
    return opT("aten::reciprocal", this);
  }
  sin(): Tensor {
    return opT("aten::sin", this);
  }
  cos(): Tensor {
    return opT("aten::cos", this);
  }
  floor(): Tensor {
    return opT("aten::floor", this);
  }
  ceil(): Tensor {
    return opT("aten::ceil", this);
  }
  round(): Tensor {
    return opT("aten::round", this);
  }
  tanh(): Tensor {
    return opT("aten::tanh", this);
  }
  sigmoid(): Tensor {
    return opT("aten::sigmoid", this);
  }
  relu(): Tensor {
    return opT("aten::relu", this);
  }
  /** GELU: "none" is the exact erf form, "tanh" the tanh approximation. */
  gelu(approximate: "none" | "tanh" = "none"): Tensor {
    if (approximate !== "none" && approximate !== "tanh") argError("gelu", "approximate", `"none" or "tanh"`, approximate);
    return opT("aten::gelu", this, approximate);
  }
  /** Zeroes elements with probability p and scales the rest by 1/(1-p) when training. */
  dropout(p: number, training = true): Tensor {
    if (!(p >= 0 && p <= 1)) argError("dropout", "p", "a probability in [0, 1]", p);
    return opT("aten::dropout", this, p, training);
  }
  clamp(min?: number | null, max?: number | null): Tensor {
    if (min == null && max == null) argError("clamp", "min/max", "at least one bound", null);
    return opT("aten::clamp", this, min ?? null, max ?? null);
  }
  isnan(): Tensor {
    return opT("aten::isnan", this);
  }
  isfinite(): Tensor {
    return opT("aten::isfinite", this);
  }

  // ---- comparison and selection ---------------------------------------------------------------

  eq(other: TensorOrScalar): Tensor {
    return typeof other === "number" ? opT("aten::eq.Scalar", this, other) : opT("aten::eq.Tensor", this, other);
  }
  ne(other: TensorOrScalar): Tensor {
    return typeof other === "number" ? opT("aten::ne.Scalar", this, other) : opT("aten::ne.Tensor", this, other);
  }
  lt(other: TensorOrScalar): Tensor {
    return typeof other === "number" ? opT("aten::lt.Scalar", this, other) : opT("aten::lt.Tensor", this, other);
  }
  le(other: TensorOrScalar): Tensor {
    return typeof other === "number" ? opT("aten::le.Scalar", this, other) : opT("aten::le.Tensor", this, other);
  }
  gt(other: TensorOrScalar): Tensor {
    return typeof other === "number" ? opT("aten::gt.Scalar", this, other) : opT("aten::gt.Tensor", this, other);
  }
  ge(other: TensorOrScalar): Tensor {
    return typeof other === "number" ? opT("aten::ge.Scalar", this, other) : opT("aten::ge.Tensor", this, other);
  }
  logicalNot(): Tensor {
    return opT("aten::logical_not", this);
  }
  logicalAnd(other: Tensor): Tensor {
    return opT("aten::logical_and", this, other);
  }
  logicalOr(other: Tensor): Tensor {
    return opT("aten::logical_or", this, other);
  }
  /** Elements where mask (bool, broadcast) is true are replaced by value. */
  maskedFill(mask: Tensor, value: number): Tensor {
    checkMask("maskedFill", mask);
    return opT("aten::masked_fill.Scalar", this, mask, value);
  }

  // ---- reductions -----------------------------------------------------------------------------

  sum(dims?: number | number[], keepdim = false): Tensor {
    return dims === undefined ? opT("aten::sum", this) : opT("aten::sum.dim_IntList", this, this.dims(dims, "sum"), keepdim);
  }
  mean(dims?: number | number[], keepdim = false): Tensor {
    return dims === undefined ? opT("aten::mean", this) : opT("aten::mean.dim", this, this.dims(dims, "mean"), keepdim);
  }
  prod(): Tensor {
    return opT("aten::prod", this);
  }
  /** Maximum over all elements. */
  max(): Tensor {
    return opT("aten::max", this);
  }
  min(): Tensor {
    return opT("aten::min", this);
  }
  /** Maximum along a dim: values and their indices. */
  maxDim(dim: number, keepdim = false): ValuesIndices {
    return opVI("aten::max.dim", this, this.normDim(dim, "maxDim"), keepdim);
  }
  minDim(dim: number, keepdim = false): ValuesIndices {
    return opVI("aten::min.dim", this, this.normDim(dim, "minDim"), keepdim);
  }
  argmax(dim?: number, keepdim = false): Tensor {
    return opT("aten::argmax", this, dim === undefined ? null : this.normDim(dim, "argmax"), keepdim);
  }
  argmin(dim?: number, keepdim = false): Tensor {
    return opT("aten::argmin", this, dim === undefined ? null : this.normDim(dim, "argmin"), keepdim);
  }
  logsumexp(dims: number | number[], keepdim = false): Tensor {
    return opT("aten::logsumexp", this, this.dims(dims, "logsumexp"), keepdim);
  }
  /** Variance; correction 1 (default) is the unbiased estimator, 0 the population variance. */
  var(dims?: number | number[], options: { correction?: number; keepdim?: boolean } = {}): Tensor {
    return opT("aten::var.correction", this, dims === undefined ? null : this.dims(dims, "var"), options.correction ?? 1, options.keepdim ?? false);
  }
  std(dims?: number | number[], options: { correction?: number; keepdim?: boolean } = {}): Tensor {
    return opT("aten::std.correction", this, dims === undefined ? null : this.dims(dims, "std"), options.correction ?? 1, options.keepdim ?? false);
  }
  /** Vector p-norm over dims (all elements when omitted). */
  norm(p = 2, dims?: number | number[], keepdim = false): Tensor {
    return opT("aten::linalg_vector_norm", this, p, dims === undefined ? null : this.dims(dims, "norm"), keepdim);
  }
  all(): Tensor {
    return opT("aten::all", this);
  }
  any(): Tensor {
    return opT("aten::any", this);
  }
  softmax(dim: number): Tensor {
    return opT("aten::softmax.int", this, this.normDim(dim, "softmax"));
  }
  logSoftmax(dim: number): Tensor {
    return opT("aten::log_softmax.int", this, this.normDim(dim, "logSoftmax"));
  }
  cumsum(dim: number): Tensor {
    return opT("aten::cumsum", this, this.normDim(dim, "cumsum"));
  }

  // ---- products -------------------------------------------------------------------------------

  matmul(other: Tensor): Tensor {
    return opT("aten::matmul", this, other);
  }
  mm(other: Tensor): Tensor {
    return opT("aten::mm", this, other);
  }
  bmm(other: Tensor): Tensor {
    return opT("aten::bmm", this, other);
  }
  /** Inner product of two 1-d tensors. */
  dot(other: Tensor): Tensor {
    return opT("aten::dot", this, other);
  }

  // ---- shape ----------------------------------------------------------------------------------

  /** New shape with the same number of elements; one entry may be -1 (inferred). */
  reshape(shape: number[]): Tensor {
    this.checkNewShape(shape, "reshape");
    return opT("aten::reshape", this, shape);
  }
  /** Like reshape but never copies (fails on non-contiguous layouts). */
  view(shape: number[]): Tensor {
    this.checkNewShape(shape, "view");
    return opT("aten::view", this, shape);
  }
  private checkNewShape(shape: number[], opName: string): void {
    if (!Array.isArray(shape) || !shape.every((s) => isInt(s) && s >= -1) || shape.filter((s) => s === -1).length > 1) {
      argError(opName, "shape", "an array of non-negative integers with at most one -1", shape);
    }
    const known = shape.filter((s) => s !== -1).reduce((a, b) => a * b, 1);
    const n = this.numel;
    const ok = shape.includes(-1) ? (known === 0 ? n === 0 : n % known === 0) : known === n;
    if (!ok) throw new TorchError(opName, `cannot reshape a tensor of shape [${this.shape.join(", ")}] (${n} elements) to [${shape.join(", ")}]`, "");
  }
  permute(dims: number[]): Tensor {
    if (!Array.isArray(dims) || dims.length !== this.ndim) argError("permute", "dims", `a permutation of ${this.ndim} dims`, dims);
    return opT("aten::permute", this, this.dims(dims, "permute"));
  }
  transpose(dim0: number, dim1: number): Tensor {
    return opT("aten::transpose.int", this, this.normDim(dim0, "transpose"), this.normDim(dim1, "transpose"));
  }
  /** Matrix transpose of the last two dims. */
  get mT(): Tensor {
    return this.transpose(-2, -1);
  }
  expand(shape: number[]): Tensor {
    return opT("aten::expand", this, shape);
  }
  expandAs(other: Tensor): Tensor {
    return this.expand(other.shape);
  }
  repeat(repeats: number[]): Tensor {
    return opT("aten::repeat", this, repeats);
  }
  /** Removes size-1 dims (all of them, or the given one). */
  squeeze(dim?: number): Tensor {
    return dim === undefined ? opT("aten::squeeze", this) : opT("aten::squeeze.dim", this, this.normDim(dim, "squeeze"));
  }
  unsqueeze(dim: number): Tensor {
    return opT("aten::unsqueeze", this, this.normDim(dim, "unsqueeze", 1));
  }
  flatten(startDim = 0, endDim = -1): Tensor {
    if (this.ndim === 0) return this.reshape([1]);
    return opT("aten::flatten.using_ints", this, this.normDim(startDim, "flatten"), this.normDim(endDim, "flatten"));
  }
  /** Splits into pieces of `size` along dim (the last may be smaller), or into the given sizes. */
  split(sizeOrSizes: number | number[], dim = 0): Tensor[] {
    const d = this.normDim(dim, "split");
    if (Array.isArray(sizeOrSizes)) {
      const total = sizeOrSizes.reduce((a, b) => a + b, 0);
      if (total !== this.size(d)) argError("split", "sizes", `sizes summing to ${this.size(d)} (dim ${d})`, sizeOrSizes);
      return op("aten::split_with_sizes", this, sizeOrSizes, d) as Tensor[];
    }
    if (!isInt(sizeOrSizes) || sizeOrSizes <= 0) argError("split", "size", "a positive integer", sizeOrSizes);
    return op("aten::split.Tensor", this, sizeOrSizes, d) as Tensor[];
  }
  chunk(chunks: number, dim = 0): Tensor[] {
    if (!isInt(chunks) || chunks <= 0) argError("chunk", "chunks", "a positive integer", chunks);
    return op("aten::chunk", this, chunks, this.normDim(dim, "chunk")) as Tensor[];
  }
  /** length elements from start along dim (a view). */
  narrow(dim: number, start: number, length: number): Tensor {
    const d = this.normDim(dim, "narrow");
    const n = this.size(d);
    const s = start < 0 ? start + n : start;
    if (!isInt(s) || s < 0 || s > n) argError("narrow", "start", `an integer in [${-n}, ${n}]`, start);
    if (!isInt(length) || length < 0 || s + length > n) argError("narrow", "length", `an integer in [0, ${n - s}]`, length);
    return opT("aten::narrow", this, d, s, length);
  }
  /** Python-style slice [start:end:step] along dim (a view). */
  slice(dim: number, start = 0, end?: number, step = 1): Tensor {
    if (!isInt(step) || step <= 0) argError("slice", "step", "a positive integer", step);
    return opT("aten::slice.Tensor", this, this.normDim(dim, "slice"), start, end ?? null, step);
  }
  /** The sub-tensor at index along dim (that dim removed). */
  select(dim: number, index: number): Tensor {
    const d = this.normDim(dim, "select");
    const n = this.size(d);
    if (!isInt(index) || index < -n || index >= n) argError("select", "index", `an integer in [${-n}, ${n - 1}]`, index);
    return opT("aten::select.int", this, d, index);
  }
  indexSelect(dim: number, index: Tensor): Tensor {
    return opT("aten::index_select", this, this.normDim(dim, "indexSelect"), index);
  }
  /**
   * Out-of-place: a copy of this whose slices index[i] along dim are source's slices i (index int64
   * (n,), source shaped like this but n along dim); the inverse of indexSelect.
   */
  indexCopy(dim: number, index: Tensor, source: Tensor): Tensor {
    return opT("aten::index_copy", this, this.normDim(dim, "indexCopy"), index, source);
  }
  /** Advanced indexing with one index tensor per leading dim (null keeps a dim whole). */
  index(indices: (Tensor | null)[]): Tensor {
    return opT("aten::index.Tensor", this, indices);
  }
  gather(dim: number, index: Tensor): Tensor {
    return opT("aten::gather", this, this.normDim(dim, "gather"), index, false);
  }
  /** Out-of-place scatter: out[index[i][j]][j] = src[i][j] (dim 0), src a tensor or a number. */
  scatter(dim: number, index: Tensor, src: TensorOrScalar): Tensor {
    const d = this.normDim(dim, "scatter");
    return typeof src === "number" ? opT("aten::scatter.value", this, d, index, src) : opT("aten::scatter.src", this, d, index, src);
  }
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor {
    return opT("aten::scatter_add", this, this.normDim(dim, "scatterAdd"), index, src);
  }
  triu(diagonal = 0): Tensor {
    return opT("aten::triu", this, diagonal);
  }
  tril(diagonal = 0): Tensor {
    return opT("aten::tril", this, diagonal);
  }
  flip(dims: number | number[]): Tensor {
    return opT("aten::flip", this, this.dims(dims, "flip"));
  }
  roll(shifts: number | number[], dims: number | number[]): Tensor {
    const s = Array.isArray(shifts) ? shifts : [shifts];
    const d = this.dims(dims, "roll");
    if (s.length !== d.length) argError("roll", "shifts", `${d.length} shift(s), one per dim`, shifts);
    return opT("aten::roll", this, s, d);
  }
  topk(k: number, dim = -1, largest = true, sorted = true): ValuesIndices {
    const d = this.normDim(dim, "topk");
    if (!isInt(k) || k < 0 || k > this.size(d)) argError("topk", "k", `an integer in [0, ${this.size(d)}]`, k);
    return opVI("aten::topk", this, k, d, largest, sorted);
  }
  sort(dim = -1, descending = false): ValuesIndices {
    return opVI("aten::sort", this, this.normDim(dim, "sort"), descending);
  }
  argsort(dim = -1, descending = false): Tensor {
    return opT("aten::argsort", this, this.normDim(dim, "argsort"), descending);
  }

  // ---- in place (return this) -----------------------------------------------------------------

  private inPlace(qualified: string, ...args: unknown[]): this {
    callOp(qualified, toNative([this, ...args]), true);
    return this;
  }
  add_(other: TensorOrScalar, alpha = 1): this {
    return typeof other === "number" ? this.inPlace("aten::add_.Scalar", other, alpha) : this.inPlace("aten::add_.Tensor", other, alpha);
  }
  sub_(other: TensorOrScalar, alpha = 1): this {
    return typeof other === "number" ? this.inPlace("aten::sub_.Scalar", other, alpha) : this.inPlace("aten::sub_.Tensor", other, alpha);
  }
  mul_(other: TensorOrScalar): this {
    return typeof other === "number" ? this.inPlace("aten::mul_.Scalar", other) : this.inPlace("aten::mul_.Tensor", other);
  }
  div_(other: TensorOrScalar): this {
    return typeof other === "number" ? this.inPlace("aten::div_.Scalar", other) : this.inPlace("aten::div_.Tensor", other);
  }
  /** this += value * t1 * t2 */
  addcmul_(t1: Tensor, t2: Tensor, value = 1): this {
    return this.inPlace("aten::addcmul_", t1, t2, value);
  }
  /** this += value * t1 / t2 */
  addcdiv_(t1: Tensor, t2: Tensor, value = 1): this {
    return this.inPlace("aten::addcdiv_", t1, t2, value);
  }
  /** this += weight * (end - this) */
  lerp_(end: Tensor, weight: number): this {
    return this.inPlace("aten::lerp_.Scalar", end, weight);
  }
  sqrt_(): this {
    return this.inPlace("aten::sqrt_");
  }
  clamp_(min?: number | null, max?: number | null): this {
    return this.inPlace("aten::clamp_", min ?? null, max ?? null);
  }
  /** this = max(this, min), min a number or a tensor that broadcasts to this. */
  clampMin_(min: TensorOrScalar): this {
    return typeof min === "number" ? this.inPlace("aten::clamp_min_", min) : this.inPlace("aten::clamp_min_.Tensor", min);
  }
  /** this = min(this, max), max a number or a tensor that broadcasts to this. */
  clampMax_(max: TensorOrScalar): this {
    return typeof max === "number" ? this.inPlace("aten::clamp_max_", max) : this.inPlace("aten::clamp_max_.Tensor", max);
  }
  /** Rounds half to even, like round(). */
  round_(): this {
    return this.inPlace("aten::round_");
  }
  abs_(): this {
    return this.inPlace("aten::abs_");
  }
  /** Fills with uniform draws in [low, high) from the global generator. */
  uniform_(low = 0, high = 1): this {
    if (!(low <= high)) argError("uniform_", "low/high", "low <= high", [low, high]);
    return this.inPlace("aten::uniform_", low, high, null);
  }
  /** Fills with normal draws N(mean, std²) from the global generator. */
  normal_(mean = 0, std = 1): this {
    if (!(std >= 0)) argError("normal_", "std", "a non-negative number", std);
    return this.inPlace("aten::normal_", mean, std, null);
  }
  copy_(src: Tensor): this {
    return this.inPlace("aten::copy_", src, false);
  }
  zero_(): this {
    return this.inPlace("aten::zero_");
  }
  fill_(value: number): this {
    return this.inPlace("aten::fill_.Scalar", value);
  }
  maskedFill_(mask: Tensor, value: number): this {
    checkMask("maskedFill_", mask);
    return this.inPlace("aten::masked_fill_.Scalar", mask, value);
  }
}
