// Creating tensors: from JS data, constant fills, ranges and random draws.
import { native } from "./native.ts";
import { Tensor, opT, checkShape } from "./tensor.ts";
import { argError, describeValue, TorchError } from "./errors.ts";
import { checkDevice } from "./runtime.ts";
import { dtypeCode, dtypeOfTypedArray, isFloating, type DType, type Device, type AnyTypedArray } from "./dtype.ts";

export interface CreateOptions {
  dtype?: DType;
  device?: Device | string;
  requiresGrad?: boolean;
}

/** Nested arrays of numbers/booleans (e.g. [[1, 2], [3, 4]]). */
export type NestedArray = number | boolean | NestedArray[];

const LAYOUT_STRIDED = 0;

function finish(t: Tensor, options: CreateOptions): Tensor {
  if (options.requiresGrad) t.requiresGrad = true;
  return t;
}

function factoryArgs(options: CreateOptions, fallback: DType = "float32"): [number, number, string, null] {
  return [dtypeCode(options.dtype ?? fallback), LAYOUT_STRIDED, checkDevice("create", options.device ?? "cpu"), null];
}

function inferShape(data: NestedArray): number[] {
  const shape: number[] = [];
  let v: NestedArray = data;
  while (Array.isArray(v)) {
    shape.push(v.length);
    if (v.length === 0) break;
    v = v[0]!;
  }
  return shape;
}

function flatten(data: NestedArray, shape: number[], depth: number, out: (number | boolean)[]): void {
  if (depth === shape.length) {
    if (Array.isArray(data)) throw new TypeError(`tensor(): ragged nested array (too deep at depth ${depth})`);
    if (typeof data !== "number" && typeof data !== "boolean") {
      throw new TypeError(`tensor(): data must be numbers or booleans (nested arrays of them) or a TypedArray, got ${describeValue(data)}`);
    }
    out.push(data);
    return;
  }
  if (!Array.isArray(data) || data.length !== shape[depth]) {
    throw new TypeError(`tensor(): ragged nested array: expected ${shape[depth]} elements at depth ${depth}, got ${Array.isArray(data) ? data.length : "a scalar"}`);
  }
  for (const d of data) flatten(d, shape, depth + 1, out);
}

function encode(values: readonly (number | boolean)[], dtype: DType): Uint8Array {
  const n = values.length;
  switch (dtype) {
    case "float32": return new Uint8Array(Float32Array.from(values, Number).buffer);
    case "float64": return new Uint8Array(Float64Array.from(values, Number).buffer);
    case "int32": return new Uint8Array(Int32Array.from(values, Number).buffer);
    case "int16": return new Uint8Array(Int16Array.from(values, Number).buffer);
    case "int8": return new Uint8Array(Int8Array.from(values, Number).buffer);
    case "uint8": return Uint8Array.from(values, Number);
    case "bool": return Uint8Array.from(values, (v) => (v ? 1 : 0));
    case "int64": {
      const a = new BigInt64Array(n);
      for (let i = 0; i < n; i++) {
        const v = Number(values[i]);
        if (!Number.isInteger(v)) throw new TypeError(`tensor(): int64 data must be integers, got ${v} at index ${i}`);
        a[i] = BigInt(v);
      }
      return new Uint8Array(a.buffer);
    }
    default:
      return new Uint8Array(0); // bfloat16/float16: handled by the caller (converted from float32)
  }
}

/**
 * A tensor from JS data. Copies the data (JS memory can move or be detached, so libtorch gets its
 * own). TypedArrays keep their dtype unless one is given (Uint16Array needs dtype "bfloat16" or
 * "float16": the raw bit patterns); nested number arrays default to float32, booleans to bool.
 */
export function tensor(data: NestedArray | AnyTypedArray, options: CreateOptions & { shape?: number[] } = {}): Tensor {
  let t: Tensor;
  if (ArrayBuffer.isView(data)) {
    const view = data as AnyTypedArray;
    const dtype = options.dtype ?? dtypeOfTypedArray(view);
    const natural = view instanceof Uint16Array ? dtype : dtypeOfTypedArray(view);
    const shape = checkShape("tensor", options.shape ?? [view.length]);
    const count = shape.reduce((a, b) => a * b, 1);
    if (count !== view.length) argError("tensor", "shape", `a shape with ${view.length} elements`, shape);
    if (view instanceof Uint16Array && dtype !== "bfloat16" && dtype !== "float16") {
      argError("tensor", "dtype", `"bfloat16" or "float16" for a Uint16Array`, dtype);
    }
    const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    const base = Tensor.fromHandle(native.fromBytes(bytes, shape, dtypeCode(natural)));
    t = natural === dtype ? base : base.to(dtype);
    if (t !== base) base.dispose();
  } else {
    const shape = inferShape(data);
    const flat: (number | boolean)[] = [];
    flatten(data, shape, 0, flat);
    const allBool = flat.length > 0 && flat.every((v) => typeof v === "boolean");
    const dtype = options.dtype ?? (allBool ? "bool" : "float32");
    const target = options.shape ? checkShape("tensor", options.shape) : shape;
    if (target.reduce((a, b) => a * b, 1) !== flat.length) argError("tensor", "shape", `a shape with ${flat.length} elements`, target);
    if (dtype === "bfloat16" || dtype === "float16") {
      const f = Tensor.fromHandle(native.fromBytes(encode(flat, "float32"), target, dtypeCode("float32")));
      t = f.to(dtype);
      f.dispose();
    } else {
      t = Tensor.fromHandle(native.fromBytes(encode(flat, dtype), target, dtypeCode(dtype)));
    }
  }
  if (options.device && options.device !== "cpu") {
    const moved = t.toDevice(options.device);
    t.dispose();
    t = moved;
  }
  return finish(t, options);
}

/** A 0-dim tensor holding one number. */
export function scalar(value: number, options: CreateOptions = {}): Tensor {
  return full([], value, options);
}

export function zeros(shape: number[], options: CreateOptions = {}): Tensor {
  return finish(opT("aten::zeros", checkShape("zeros", shape), ...factoryArgs(options)), options);
}

export function ones(shape: number[], options: CreateOptions = {}): Tensor {
  return finish(opT("aten::ones", checkShape("ones", shape), ...factoryArgs(options)), options);
}

export function full(shape: number[], value: number | boolean, options: CreateOptions = {}): Tensor {
  return finish(opT("aten::full", checkShape("full", shape), value, ...factoryArgs(options)), options);
}

/** Uninitialised memory: every element must be written before it is read. */
export function empty(shape: number[], options: CreateOptions = {}): Tensor {
  return finish(opT("aten::empty.memory_format", checkShape("empty", shape), ...factoryArgs(options), null), options);
}

export function zerosLike(t: Tensor, options: CreateOptions = {}): Tensor {
  return zeros(t.shape, { dtype: t.dtype, device: t.device, ...options });
}

export function onesLike(t: Tensor, options: CreateOptions = {}): Tensor {
  return ones(t.shape, { dtype: t.dtype, device: t.device, ...options });
}

export function fullLike(t: Tensor, value: number, options: CreateOptions = {}): Tensor {
  return full(t.shape, value, { dtype: t.dtype, device: t.device, ...options });
}

/** start, start+step, ... < end. Integer arguments give int64 unless a dtype is given. */
export function arange(start: number, end?: number, step = 1, options: CreateOptions = {}): Tensor {
  const [s, e] = end === undefined ? [0, start] : [start, end];
  if (step === 0 || !Number.isFinite(step)) argError("arange", "step", "a finite non-zero number", step);
  const allInt = Number.isInteger(s) && Number.isInteger(e) && Number.isInteger(step);
  const dtype = options.dtype ?? (allInt ? "int64" : "float32");
  return finish(opT("aten::arange.start_step", s, e, step, ...factoryArgs({ ...options, dtype })), options);
}

/** steps evenly spaced values from start to end inclusive. */
export function linspace(start: number, end: number, steps: number, options: CreateOptions = {}): Tensor {
  if (!Number.isInteger(steps) || steps < 0) argError("linspace", "steps", "a non-negative integer", steps);
  return finish(opT("aten::linspace", start, end, steps, ...factoryArgs(options)), options);
}

export function eye(n: number, options: CreateOptions = {}): Tensor {
  if (!Number.isInteger(n) || n < 0) argError("eye", "n", "a non-negative integer", n);
  return finish(opT("aten::eye", n, ...factoryArgs(options)), options);
}

/** Standard normal draws from the global generator (seed it with manualSeed). */
export function randn(shape: number[], options: CreateOptions = {}): Tensor {
  return finish(opT("aten::randn", checkShape("randn", shape), ...factoryArgs(options)), options);
}

/** Uniform draws in [0, 1). */
export function rand(shape: number[], options: CreateOptions = {}): Tensor {
  return finish(opT("aten::rand", checkShape("rand", shape), ...factoryArgs(options)), options);
}

/** Uniform integers in [low, high). */
export function randint(low: number, high: number, shape: number[], options: CreateOptions = {}): Tensor {
  if (!Number.isInteger(low) || !Number.isInteger(high) || high <= low) argError("randint", "low/high", "integers with low < high", [low, high]);
  return finish(opT("aten::randint.low", low, high, checkShape("randint", shape), ...factoryArgs(options, "int64")), options);
}

/** A random permutation of 0..n-1 (int64). */
export function randperm(n: number, options: CreateOptions = {}): Tensor {
  if (!Number.isInteger(n) || n < 0) argError("randperm", "n", "a non-negative integer", n);
  return finish(opT("aten::randperm", n, ...factoryArgs(options, "int64")), options);
}

export function randnLike(t: Tensor): Tensor {
  return randn(t.shape, { dtype: t.dtype, device: t.device });
}

/** n draws per row from the categorical distributions in probs (rows need not sum to 1). */
export function multinomial(probs: Tensor, numSamples: number, replacement = false): Tensor {
  if (!Number.isInteger(numSamples) || numSamples <= 0) argError("multinomial", "numSamples", "a positive integer", numSamples);
  return opT("aten::multinomial", probs, numSamples, replacement);
}

/** Elementwise Bernoulli draws: 1 with probability p (a tensor of probabilities, or one number with a shape). */
export function bernoulli(p: Tensor | number, shape?: number[], options: CreateOptions = {}): Tensor {
  if (typeof p === "number") {
    if (!(p >= 0 && p <= 1)) argError("bernoulli", "p", "a probability in [0, 1]", p);
    const base = empty(shape ?? [], options);
    const out = opT("aten::bernoulli.p", base, p);
    base.dispose();
    return out;
  }
  if (!isFloating(p.dtype)) argError("bernoulli", "p", "a floating-point tensor of probabilities", p);
  return opT("aten::bernoulli", p);
}

/** Seeds the global random generator (randn, rand, dropout, multinomial, ...). */
export function manualSeed(seed: number): void {
  if (!Number.isInteger(seed) || seed < 0) argError("manualSeed", "seed", "a non-negative integer", seed);
  native.manualSeed(seed);
}

/** The global CPU generator's state (a uint8 tensor) for exact resume. */
export function getRngState(): Tensor {
  return Tensor.fromHandle(native.getRngState());
}

export function setRngState(state: Tensor): void {
  if (!(state instanceof Tensor) || state.dtype !== "uint8") argError("setRngState", "state", "a uint8 tensor from getRngState()", state);
  try {
    native.setRngState(state.handle);
  } catch (err) {
    throw new TorchError("setRngState", (err as Error).message.trim(), state.toString());
  }
}
